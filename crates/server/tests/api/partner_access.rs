//! Partner records through the API: tenant isolation (another organization's partner does not
//! exist for it) and the role rules.

use super::cases::*;
use super::helpers::*;
use serde_json::json;

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
