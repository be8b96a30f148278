//! Partner records through the API: create, list and patch (tenant isolation and roles are in
//! `partner_access`, invalid input in `partner_validation`).

use super::helpers::*;
use serde_json::json;

#[tokio::test]
async fn create_normalizes_and_records_contact_account_invitation_and_event_together() {
    let app = spawn_app().await;
    let owner = app.owner("c").await;
    let res = app
        .post(
            "/api/partners",
            Some(&owner.token),
            json!({
                "name": "  Bücher GmbH ",
                "domain": "https://www.Bücher.de/about",
                "type": "reseller",
                "category": "sales",
                "tier": "Gold",
                "stage": "onboarding",
                "products": ["CRM", "crm", "ERP"],
                "primaryContact": {"firstName": "Jana", "lastName": "Berg", "email": "Jana@Buecher.de"}
            }),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let p = &res.body["partner"];
    assert_eq!(p["name"], "Bücher GmbH");
    assert_eq!(p["domain"], "xn--bcher-kva.de");
    assert_eq!(p["tierSource"], "manual");
    assert_eq!(p["stage"], "onboarding");
    assert_eq!(p["products"], json!(["CRM", "ERP"]));
    assert_eq!(p["organizationId"], owner.organization_id.as_str());
    assert_eq!(p["primaryContact"]["email"], "Jana@buecher.de");
    assert!(p["fitScore"].is_null() && p["aiInsights"].is_null());

    let client = app.db.client().await;
    let kinds: Vec<String> = client
        .query("SELECT kind FROM events ORDER BY created_at, kind", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(kinds.contains(&"partner_created".to_owned()), "{kinds:?}");
    assert!(
        kinds.contains(&"invitation_created".to_owned()),
        "{kinds:?}"
    );
    let role: String = client
        .query_one(
            "SELECT m.role FROM members m JOIN users u ON u.id = m.user_id WHERE lower(u.email) = 'jana@buecher.de'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, "partner");

    // Same domain again in this organization: 409 and nothing new.
    let before = (
        app.count("partners").await,
        app.count("users").await,
        app.count("events").await,
    );
    let res = app
        .post(
            "/api/partners",
            Some(&owner.token),
            json!({"name": "Dup", "domain": "bücher.de", "type": "technology",
                   "primaryContact": {"firstName": "A", "lastName": "B", "email": "dup@example.com"}}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (409, "conflict"));
    let after = (
        app.count("partners").await,
        app.count("users").await,
        app.count("events").await,
    );
    assert_eq!(before, after);

    // Another organization may have the same domain.
    let other = app.owner("d").await;
    app.create_partner(&other.token, "Bücher again", Some("buecher-x.de"))
        .await;
    app.create_partner(&other.token, "Same domain", Some("xn--bcher-kva.de"))
        .await;
}

#[tokio::test]
async fn list_filters_and_pages_newest_first_without_gaps() {
    let app = spawn_app().await;
    let owner = app.owner("l").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let p = app
            .create_partner(
                &owner.token,
                &format!("Partner {i}"),
                Some(&format!("p{i}.example.com")),
            )
            .await;
        ids.push(p["id"].as_str().unwrap().to_owned());
        app.clock.advance(chrono::Duration::seconds(1));
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/partners?limit=3&cursor={c}"),
            None => "/api/partners?limit=3".to_owned(),
        };
        let res = app.get(&path, &owner.token).await;
        assert_eq!(res.status, 200);
        for p in res.body["partners"].as_array().unwrap() {
            seen.push(p["id"].as_str().unwrap().to_owned());
        }
        match res.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every partner once, newest first");

    let res = app.get("/api/partners?q=P3.EXAMPLE", &owner.token).await;
    assert_eq!(res.body["partners"].as_array().unwrap().len(), 1);
    let res = app.get("/api/partners?q=%25", &owner.token).await;
    assert_eq!(
        res.body["partners"].as_array().unwrap().len(),
        0,
        "% matches itself only"
    );
    let id = &ids[0];
    app.patch(
        &format!("/api/partners/{id}"),
        &owner.token,
        json!({"stage": "active", "tier": "Gold"}),
    )
    .await;
    let res = app
        .get(
            "/api/partners?stage=active&tier=Gold&type=technology",
            &owner.token,
        )
        .await;
    let found = res.body["partners"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id.as_str());
    let res = app.get("/api/partners?type=reseller", &owner.token).await;
    assert!(res.body["partners"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn patch_changes_only_what_is_sent_and_null_clears() {
    let app = spawn_app().await;
    let owner = app.owner("p").await;
    let manager = app.member(&owner, "member", "mgr").await;
    let manager_id = app.get("/api/auth/get-session", &manager).await.body["user"]["id"].clone();
    let p = app
        .create_partner(&owner.token, "Acme", Some("acme.com"))
        .await;
    let id = p["id"].as_str().unwrap();
    app.clock.advance(chrono::Duration::seconds(5));
    let res = app
        .patch(
            &format!("/api/partners/{id}"),
            &owner.token,
            json!({"subtype": "MSP", "managerId": manager_id, "logoUrl": "https://cdn.acme.com/logo.png"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let q = &res.body["partner"];
    assert_eq!(q["subtype"], "MSP");
    assert_eq!(q["managerId"], manager_id);
    assert_eq!(q["name"], "Acme");
    assert_eq!(q["domain"], "acme.com");
    assert_ne!(q["updatedAt"], p["updatedAt"]);
    assert_eq!(q["createdAt"], p["createdAt"]);

    let res = app
        .patch(
            &format!("/api/partners/{id}"),
            &owner.token,
            json!({"subtype": null, "domain": null}),
        )
        .await;
    assert!(res.body["partner"]["subtype"].is_null());
    assert!(res.body["partner"]["domain"].is_null());
    assert_eq!(
        res.body["partner"]["logoUrl"],
        "https://cdn.acme.com/logo.png"
    );

    // A manager must be internal staff of this organization.
    let (portal, _) = app.partner_user(&owner, "x").await;
    let portal_id = app.get("/api/auth/get-session", &portal).await.body["user"]["id"].clone();
    let res = app
        .patch(
            &format!("/api/partners/{id}"),
            &owner.token,
            json!({"managerId": portal_id}),
        )
        .await;
    assert_eq!(res.body["details"][0]["field"], "managerId");

    // Delete, then it is gone.
    assert_eq!(
        app.delete(&format!("/api/partners/{id}"), &owner.token)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/partners/{id}"), &owner.token)
            .await
            .status,
        404
    );
    assert_eq!(
        app.delete(&format!("/api/partners/{id}"), &owner.token)
            .await
            .status,
        404
    );
}
