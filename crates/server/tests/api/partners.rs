//! Partner records through the API.

use super::cases::*;
use super::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

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

// ---------------------------------------------------------------------------------------------
// Tenant isolation

/// Two organizations, a partner of the first, and the second's owner, admin and member.
struct TwoOrganizations {
    app: TestApp,
    a: Owner,
    b: Owner,
    b_staff: [(&'static str, String); 3],
    partner: serde_json::Value,
    path: String,
}

async fn two_organizations() -> TwoOrganizations {
    let app = spawn_app().await;
    let a = app.owner("xa").await;
    let b = app.owner("xb").await;
    let b_member = app.member(&b, "member", "xb").await;
    let b_admin = app.member(&b, "admin", "xb").await;
    let partner = app.create_partner(&a.token, "Acme", Some("acme.com")).await;
    let path = format!("/api/partners/{}", partner["id"].as_str().unwrap());
    // Any write that got through would stamp a later updatedAt.
    app.clock.advance(chrono::Duration::minutes(5));
    let b_staff = [
        ("owner B", b.token.clone()),
        ("admin B", b_admin),
        ("member B", b_member),
    ];
    TwoOrganizations {
        app,
        a,
        b,
        b_staff,
        partner,
        path,
    }
}

#[tokio::test]
async fn another_organizations_partner_is_not_found_for_every_verb_and_changes_nothing() {
    let t = two_organizations().await;
    let (app, path) = (&t.app, t.path.as_str());
    let before = snapshot(app).await;
    for (who, token) in &t.b_staff {
        let res = app.get(path, token).await;
        assert_error(&res, 404, "not_found", &format!("{who} GET"));
        let body = json!({"name": "Hijacked", "stage": "churned"});
        let res = app.patch(path, token, body).await;
        assert_error(&res, 404, "not_found", &format!("{who} PATCH"));
        let res = app.patch(path, token, json!({})).await;
        assert_error(&res, 404, "not_found", &format!("{who} empty PATCH"));
        let res = app.delete(path, token).await;
        assert_error(&res, 404, "not_found", &format!("{who} DELETE"));
    }
    assert_eq!(
        snapshot(app).await,
        before,
        "a refused request changed rows"
    );
    // The partner is exactly as it was, and still listed for its own organization.
    let res = app.get(path, &t.a.token).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"], t.partner, "A's partner changed");
    assert_eq!(res.body["partner"]["updatedAt"], t.partner["updatedAt"]);
    let id = t.partner["id"].as_str().unwrap().to_owned();
    assert!(listed_ids(app, &t.a.token, "").await.contains(&id));
}

#[tokio::test]
async fn another_organizations_partner_is_never_listed_even_when_searched_for() {
    let t = two_organizations().await;
    let id = t.partner["id"].as_str().unwrap().to_owned();
    for (who, token) in &t.b_staff {
        for query in ["", "&q=acme", "&type=technology", "&stage=prospect"] {
            let ids = listed_ids(&t.app, token, query).await;
            assert!(!ids.contains(&id), "{who} lists A's partner with {query:?}");
        }
    }
}

#[tokio::test]
async fn a_manager_from_another_organization_is_refused() {
    let t = two_organizations().await;
    let a_user = user_id(&t.app, &t.a.token).await;
    let res = t
        .app
        .post(
            "/api/partners",
            Some(&t.b.token),
            json!({"name": "Sneaky", "type": "technology", "managerId": a_user,
                   "primaryContact": contact("sneaky")}),
        )
        .await;
    assert_error(
        &res,
        400,
        "validation_failed",
        "B names A's owner as manager",
    );
    assert_eq!(first_field(&res), Some("managerId"));
}

#[tokio::test]
async fn unknown_partner_ids_are_not_found_for_everyone() {
    let t = two_organizations().await;
    let app = &t.app;
    let member_b = &t.b_staff[2].1;
    for (who, token) in [("owner A", t.a.token.as_str()), ("member B", member_b)] {
        for unknown in [
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::nil().to_string(),
            "ffffffff-ffff-ffff-ffff-ffffffffffff".to_owned(),
        ] {
            let p = format!("/api/partners/{unknown}");
            let res = app.get(&p, token).await;
            assert_error(&res, 404, "not_found", &format!("{who} GET {unknown}"));
            let res = app.patch(&p, token, json!({"name": "Ghost"})).await;
            assert_error(&res, 404, "not_found", &format!("{who} PATCH {unknown}"));
            let res = app.delete(&p, token).await;
            assert_error(&res, 404, "not_found", &format!("{who} DELETE {unknown}"));
        }
    }
}

#[tokio::test]
async fn domains_are_unique_per_organization_only() {
    let t = two_organizations().await;
    let (app, id) = (&t.app, t.partner["id"].as_str().unwrap().to_owned());
    // B may have its own acme.com, and the two stay apart.
    let theirs = app
        .create_partner(&t.b.token, "Acme (B)", Some("acme.com"))
        .await;
    assert_ne!(theirs["id"], t.partner["id"]);
    let b_ids = listed_ids(app, &t.b_staff[2].1, "&q=acme").await;
    assert_eq!(b_ids, vec![theirs["id"].as_str().unwrap().to_owned()]);
    assert_eq!(listed_ids(app, &t.a.token, "&q=acme").await, vec![id]);
    // B deleting its own acme.com leaves A's alone.
    let theirs_path = format!("/api/partners/{}", theirs["id"].as_str().unwrap());
    let res = app.delete(&theirs_path, &t.b.token).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.get(&t.path, &t.a.token).await;
    assert_eq!(res.body["partner"], t.partner);
}

#[tokio::test]
async fn concurrent_duplicate_domains_create_exactly_one_partner() {
    let app = spawn_app().await;
    let owner = app.owner("race").await;
    let before = snapshot(&app).await;
    // The same domain, spelled in the ways normalization folds together.
    let spellings = [
        "dup.example",
        "DUP.example",
        "https://dup.example",
        "https://www.dup.example/about",
        "http://Dup.Example/",
        "www.dup.example",
        "dup.example",
        "dup.example/x?y=1",
        "HTTPS://WWW.DUP.EXAMPLE",
        "dup.example",
    ];
    let requests = spellings.iter().enumerate().map(|(i, domain)| {
        app.post(
            "/api/partners",
            Some(&owner.token),
            json!({"name": format!("Dup {i}"), "domain": domain, "type": "technology",
                   "primaryContact": contact(&format!("race-{i}"))}),
        )
    });
    let results = futures::future::join_all(requests).await;
    let created: Vec<&Res> = results.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        created.len(),
        1,
        "statuses {:?}",
        results
            .iter()
            .map(|r| (r.status.as_u16(), r.body.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(created[0].body["partner"]["domain"], "dup.example");
    for r in results.iter().filter(|r| r.status != 201) {
        assert_error(r, 409, "conflict", "duplicate domain");
    }
    assert_eq!(app.count("partners WHERE domain = 'dup.example'").await, 1);
    // The losers left nothing behind: one partner, one contact, one portal user, one invitation.
    let after = snapshot(&app).await;
    for ((table, b), (_, a)) in before.iter().zip(after.iter()) {
        match *table {
            "partners" | "partner_contacts" | "users" | "members" | "invitations" => {
                assert_eq!(a - b, 1, "{table}: {b} -> {a}");
            }
            "organizations" | "sessions" | "api_keys" => assert_eq!(a, b, "{table}"),
            _ => {}
        }
    }
    assert_eq!(listed_ids(&app, &owner.token, "&q=dup").await.len(), 1);
}

#[tokio::test]
async fn changing_the_domain_to_a_taken_one_is_a_conflict() {
    let app = spawn_app().await;
    let owner = app.owner("taken").await;
    app.create_partner(&owner.token, "Dup", Some("dup.example"))
        .await;
    let other = app
        .create_partner(&owner.token, "Other", Some("other.example"))
        .await;
    let res = app
        .patch(
            &format!("/api/partners/{}", other["id"].as_str().unwrap()),
            &owner.token,
            json!({"domain": "https://www.dup.example"}),
        )
        .await;
    assert_error(&res, 409, "conflict", "PATCH to a taken domain");
}

// ---------------------------------------------------------------------------------------------
// Roles

/// An organization with a partner and a member of every role.
struct Staff {
    app: TestApp,
    owner: Owner,
    member: String,
    viewer: String,
    portal: String,
    own_partner_id: String,
    partner: serde_json::Value,
    path: String,
}

async fn staff() -> Staff {
    let app = spawn_app().await;
    let owner = app.owner("roles").await;
    let member = app.member(&owner, "member", "roles").await;
    let viewer = app.member(&owner, "viewer", "roles").await;
    let (portal, own_partner_id) = app.partner_user(&owner, "roles").await;
    let partner = app
        .create_partner(&owner.token, "Target Co", Some("target.example"))
        .await;
    let path = format!("/api/partners/{}", partner["id"].as_str().unwrap());
    app.clock.advance(chrono::Duration::minutes(5));
    Staff {
        app,
        owner,
        member,
        viewer,
        portal,
        own_partner_id,
        partner,
        path,
    }
}

#[tokio::test]
async fn viewers_and_partner_users_cannot_write_partners() {
    let s = staff().await;
    let (app, path) = (&s.app, s.path.as_str());
    let before = snapshot(app).await;
    for (who, token) in [
        ("viewer", s.viewer.as_str()),
        ("partner", s.portal.as_str()),
    ] {
        let res = app
            .post(
                "/api/partners",
                Some(token),
                json!({"name": "Nope", "type": "technology", "primaryContact": contact(who)}),
            )
            .await;
        assert_error(&res, 403, "forbidden", &format!("{who} POST /api/partners"));
        let res = app.patch(path, token, json!({"name": "Renamed"})).await;
        assert_error(&res, 403, "forbidden", &format!("{who} PATCH partner"));
        let res = app.delete(path, token).await;
        assert_error(&res, 403, "forbidden", &format!("{who} DELETE partner"));
    }
    assert_eq!(
        snapshot(app).await,
        before,
        "a refused request changed rows"
    );
    let res = app.get(path, &s.owner.token).await;
    assert_eq!(res.body["partner"], s.partner, "the partner changed");
}

#[tokio::test]
async fn viewers_read_partners_and_partner_users_read_none_not_even_their_own() {
    let s = staff().await;
    let app = &s.app;
    assert_eq!(app.get("/api/partners", &s.viewer).await.status, 200);
    let res = app.get(&s.path, &s.viewer).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"], s.partner);
    for path in [
        "/api/partners".to_owned(),
        "/api/partners?limit=5".to_owned(),
        s.path.clone(),
        format!("/api/partners/{}", s.own_partner_id),
    ] {
        let res = app.get(&path, &s.portal).await;
        assert_error(&res, 403, "forbidden", &format!("partner GET {path}"));
    }
}

#[tokio::test]
async fn members_create_edit_and_delete_partners() {
    let s = staff().await;
    let (app, member) = (&s.app, s.member.as_str());
    let res = app
        .post(
            "/api/partners",
            Some(member),
            json!({"name": "By Member", "domain": "by-member.example", "type": "consulting",
                   "primaryContact": contact("by-member")}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let mine = format!(
        "/api/partners/{}",
        res.body["partner"]["id"].as_str().unwrap()
    );
    let res = app
        .patch(
            &mine,
            member,
            json!({"name": "By Member 2", "stage": "active"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"]["name"], "By Member 2");
    assert_eq!(res.body["partner"]["stage"], "active");
    let res = app.patch(&s.path, member, json!({"tier": "Gold"})).await;
    assert_eq!(
        res.status, 200,
        "member edits the owner's partner: {:?}",
        res.body
    );
    let res = app.delete(&mine, member).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["success"], true);
    let res = app.get(&mine, member).await;
    assert_error(&res, 404, "not_found", "deleted partner");
}

// ---------------------------------------------------------------------------------------------
// Invalid input: the JSON shapes the HTTP layer refuses, and one case per field of each domain
// rule (the rules' other values are unit-tested with the value objects in the domain).

/// An owner, a partner that must not change, and its path.
async fn stable_partner() -> (TestApp, Owner, serde_json::Value, String) {
    let app = spawn_app().await;
    let owner = app.owner("bad").await;
    let partner = app
        .create_partner(&owner.token, "Stable", Some("stable.example"))
        .await;
    let path = format!("/api/partners/{}", partner["id"].as_str().unwrap());
    app.clock.advance(chrono::Duration::minutes(5));
    (app, owner, partner, path)
}

#[tokio::test]
async fn creating_a_partner_with_invalid_fields_names_the_field_and_changes_nothing() {
    let (app, owner, _, _) = stable_partner().await;
    let vp = valid_partner;
    let cc =
        |first: Value, email: Value| json!({"firstName": first, "lastName": "B", "email": email});
    let mut cases = Vec::new();
    for (label, body, field) in [
        ("name is a number", with(vp(), "name", json!(5)), "name"),
        ("name blank", with(vp(), "name", json!("   ")), "name"),
        ("name null", with(vp(), "name", Value::Null), "name"),
        ("no name", without(vp(), "name"), "name"),
        ("no type", without(vp(), "type"), "type"),
        (
            "primaryContact a string",
            with(vp(), "primaryContact", json!("x")),
            "primaryContact",
        ),
        (
            "primaryContact null",
            with(vp(), "primaryContact", Value::Null),
            "primaryContact",
        ),
        (
            "primaryContact an array",
            with(vp(), "primaryContact", json!([])),
            "primaryContact",
        ),
        (
            "no primaryContact",
            without(vp(), "primaryContact"),
            "primaryContact",
        ),
        (
            "contact email invalid",
            with(vp(), "primaryContact", cc(json!("A"), json!("nope"))),
            "primaryContact.email",
        ),
        (
            "contact email a number",
            with(vp(), "primaryContact", cc(json!("A"), json!(1))),
            "primaryContact.email",
        ),
        (
            "contact firstName a number",
            with(vp(), "primaryContact", cc(json!(1), json!("a@example.com"))),
            "primaryContact.firstName",
        ),
        (
            "contact unknown key",
            with(
                vp(),
                "primaryContact",
                with(cc(json!("A"), json!("a@example.com")), "phone", json!("1")),
            ),
            "primaryContact.phone",
        ),
        ("type partner", with(vp(), "type", json!("partner")), "type"),
        ("type a number", with(vp(), "type", json!(1)), "type"),
        ("stage won", with(vp(), "stage", json!("won")), "stage"),
        (
            "category nope",
            with(vp(), "category", json!("nope")),
            "category",
        ),
        (
            "domain localhost",
            with(vp(), "domain", json!("localhost")),
            "domain",
        ),
        ("domain a number", with(vp(), "domain", json!(42)), "domain"),
        (
            "logoUrl http",
            with(vp(), "logoUrl", json!("http://acme.com/logo.png")),
            "logoUrl",
        ),
        (
            "managerId malformed",
            with(vp(), "managerId", json!("not-a-uuid")),
            "managerId",
        ),
        (
            "managerId unknown",
            with(vp(), "managerId", json!(uuid::Uuid::new_v4())),
            "managerId",
        ),
        (
            "products a string",
            with(vp(), "products", json!("crm")),
            "products",
        ),
        (
            "products of numbers",
            with(vp(), "products", json!([1])),
            "products[0]",
        ),
        (
            "fitScore is server-set",
            with(vp(), "fitScore", json!(90)),
            "fitScore",
        ),
        (
            "id is server-set",
            with(vp(), "id", json!(uuid::Uuid::new_v4())),
            "id",
        ),
        (
            "organizationId is server-set",
            with(vp(), "organizationId", json!(uuid::Uuid::new_v4())),
            "organizationId",
        ),
        (
            "employees is enriched",
            with(vp(), "employees", json!(5)),
            "employees",
        ),
    ] {
        let label = format!("create: {label}");
        cases.push(invalid(label, &Method::POST, "/api/partners", body, field));
    }
    assert_cases(&app, &owner, &cases).await;
}

#[tokio::test]
async fn server_set_and_enriched_fields_cannot_be_patched_alone_or_with_a_valid_change() {
    let (app, owner, partner, path) = stable_partner().await;
    let stamp = json!("2020-01-01T00:00:00.000Z");
    let mut cases = Vec::new();
    for (key, value) in [
        ("id", json!(uuid::Uuid::new_v4())),
        ("organizationId", json!(uuid::Uuid::new_v4())),
        ("fitScore", json!(99)),
        ("aiInsights", json!({"summary": "forged"})),
        ("analyzedAt", stamp.clone()),
        ("createdAt", stamp.clone()),
        ("updatedAt", stamp.clone()),
        (
            "primaryContact",
            json!({"firstName": "A", "lastName": "B", "email": "a@example.com"}),
        ),
        ("employees", json!(10)),
        ("industry", json!("Software")),
    ] {
        let alone = json!({key: value});
        cases.push(invalid(
            format!("patch: {key} alone"),
            &Method::PATCH,
            &path,
            alone,
            key,
        ));
        let mixed = with(json!({"name": "Sneaky"}), key, value);
        let label = format!("patch: {key} with a name");
        cases.push(invalid(label, &Method::PATCH, &path, mixed, key));
    }
    assert_cases(&app, &owner, &cases).await;
    let res = app.get(&path, &owner.token).await;
    assert_eq!(res.body["partner"], partner, "the partner changed");
}

#[tokio::test]
async fn patching_a_partner_with_invalid_fields_names_the_field_and_changes_nothing() {
    let (app, owner, partner, path) = stable_partner().await;
    let mut cases = Vec::new();
    for (label, body, field) in [
        ("name is a number", json!({"name": 5}), "name"),
        ("name empty", json!({"name": ""}), "name"),
        ("type partner", json!({"type": "partner"}), "type"),
        ("stage won", json!({"stage": "won"}), "stage"),
        ("category nope", json!({"category": "nope"}), "category"),
        (
            "tierSource robot",
            json!({"tierSource": "robot"}),
            "tierSource",
        ),
        (
            "domain with spaces",
            json!({"domain": "not a domain"}),
            "domain",
        ),
        (
            "logoUrl http",
            json!({"logoUrl": "http://acme.com/logo.png"}),
            "logoUrl",
        ),
        (
            "managerId malformed",
            json!({"managerId": "nope"}),
            "managerId",
        ),
        (
            "managerId unknown",
            json!({"managerId": uuid::Uuid::new_v4()}),
            "managerId",
        ),
        (
            "products of numbers",
            json!({"products": [1, 2]}),
            "products[0]",
        ),
        (
            "valid name, bad stage",
            json!({"name": "Half", "stage": "won"}),
            "stage",
        ),
    ] {
        let label = format!("patch: {label}");
        cases.push(invalid(label, &Method::PATCH, &path, body, field));
    }
    assert_cases(&app, &owner, &cases).await;
    let res = app.get(&path, &owner.token).await;
    assert_eq!(res.body["partner"], partner, "the partner changed");
}

#[tokio::test]
async fn a_malformed_partner_id_is_a_validation_failure_on_every_verb() {
    let (app, owner, _, _) = stable_partner().await;
    let validation = (400, "validation_failed");
    let mut cases = Vec::new();
    // Never 404 or 500.
    for raw_id in [
        "not-a-uuid",
        "123",
        "{id}",
        "00000000-0000-0000-0000-00000000000g",
        "%00",
    ] {
        let path = format!("/api/partners/{raw_id}");
        let f = Some("partnerId");
        cases.push(case(
            format!("GET {path}"),
            &Method::GET,
            &path,
            Body::None,
            validation,
            f,
        ));
        let body = Body::Json(json!({"name": "X"}));
        cases.push(case(
            format!("PATCH {path}"),
            &Method::PATCH,
            &path,
            body,
            validation,
            f,
        ));
        let label = format!("DELETE {path}");
        cases.push(case(
            label,
            &Method::DELETE,
            &path,
            Body::None,
            validation,
            f,
        ));
    }
    assert_cases(&app, &owner, &cases).await;
}

#[tokio::test]
async fn invalid_list_parameters_name_the_parameter() {
    let (app, owner, _, _) = stable_partner().await;
    let mut cases = Vec::new();
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("cursor=garbage", "cursor"),
        ("type=nope", "type"),
        ("stage=won", "stage"),
        ("limit=1&limit=2", "query"),
        // A NUL byte in a filter is bad input, not a 500 from PostgreSQL.
        ("q=%00", "q"),
        ("q=a%00b", "q"),
        ("tier=%00", "tier"),
    ] {
        let path = format!("/api/partners?{query}");
        let validation = (400, "validation_failed");
        let label = format!("GET {path}");
        cases.push(case(
            label,
            &Method::GET,
            &path,
            Body::None,
            validation,
            Some(field),
        ));
    }
    assert_cases(&app, &owner, &cases).await;
}

/// The boundary values that must be accepted, so the refusals are not blanket refusals.
#[tokio::test]
async fn boundary_list_parameters_are_accepted() {
    let app = spawn_app().await;
    let owner = app.owner("edge").await;
    for query in [
        "limit=1",
        "limit=100",
        "type=technology",
        "stage=prospect",
        "q=",
        "tier=Gold",
    ] {
        let res = app
            .get(&format!("/api/partners?{query}"), &owner.token)
            .await;
        assert_eq!(res.status, 200, "{query}: {:?}", res.body);
    }
}

#[tokio::test]
async fn boundary_partner_fields_are_accepted() {
    let app = spawn_app().await;
    let owner = app.owner("edge").await;
    let t = owner.token.as_str();
    let res = app
        .raw(
            Method::POST,
            "/api/partners",
            Some(t),
            "application/json; charset=utf-8",
            valid_partner().to_string().into_bytes(),
        )
        .await;
    assert_eq!(res.status, 201, "charset parameter: {:?}", res.body);
    let id = res.body["partner"]["id"].as_str().unwrap().to_owned();
    let upper = uuid::Uuid::parse_str(&id)
        .unwrap()
        .to_string()
        .to_uppercase();
    let res = app.get(&format!("/api/partners/{upper}"), t).await;
    assert_eq!(res.status, 200, "upper-case id: {:?}", res.body);
    let res = app
        .post(
            "/api/partners",
            Some(t),
            json!({"name": "n".repeat(200), "domain": "https://www.Edge.Example/about", "type": "referral",
                   "logoUrl": "https://edge.example/logo.png", "stage": "churned", "category": "sales",
                   "primaryContact": contact("edge")}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert_eq!(res.body["partner"]["domain"], "edge.example");
    // An empty PATCH is a no-op, a null clears a nullable field.
    let path = format!(
        "/api/partners/{}",
        res.body["partner"]["id"].as_str().unwrap()
    );
    let res = app.patch(&path, t, json!({})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app
        .patch(&path, t, json!({"logoUrl": null, "category": null}))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"]["logoUrl"], Value::Null);
}
