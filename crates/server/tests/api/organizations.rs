//! Organizations, members, invitations.

use super::cases::*;
use super::helpers::*;
use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn creating_an_organization_makes_the_caller_its_active_owner() {
    let app = spawn_app().await;
    let token = app.sign_up("olga@example.com").await;
    let res = app
        .post(
            "/api/organizations",
            Some(&token),
            json!({"name": "Acme, Inc.", "slug": "acme"}),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.body["organization"]["slug"], "acme");
    let id = res.body["organization"]["id"].as_str().unwrap().to_owned();
    let session = app.get("/api/auth/get-session", &token).await;
    assert_eq!(session.body["session"]["activeOrganizationId"], id.as_str());
    let list = app.get("/api/organizations", &token).await;
    assert_eq!(list.body["organizations"][0]["role"], "owner");
    assert_eq!(list.body["organizations"][0]["id"], id.as_str());

    // A chosen slug that is taken is a conflict; a derived one gets a suffix.
    let other = app.sign_up("pete@example.com").await;
    let res = app
        .post(
            "/api/organizations",
            Some(&other),
            json!({"name": "Other", "slug": "acme"}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (409, "conflict"));
    let res = app
        .post("/api/organizations", Some(&other), json!({"name": "Acme"}))
        .await;
    assert_eq!(res.status, 201);
    assert!(
        res.body["organization"]["slug"]
            .as_str()
            .unwrap()
            .starts_with("acme-")
    );
    let res = app
        .post(
            "/api/organizations",
            Some(&other),
            json!({"name": "X", "slug": "Bad Slug"}),
        )
        .await;
    assert_eq!(res.body["details"][0]["field"], "slug");
}

#[tokio::test]
async fn inviting_a_new_email_then_accepting_joins_with_a_password() {
    let app = spawn_app().await;
    let owner = app.owner("inv").await;
    let res = app
        .post(
            "/api/organizations/members",
            Some(&owner.token),
            json!({"email": "Newbie@Example.com", "role": "member"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert!(res.body["member"].is_null() && res.body["token"].is_null());
    // The token travels only in the mail to the invited address.
    let token = app.invitation_token("newbie@example.com").await;

    // A new account needs a password.
    let res = app
        .post(
            "/api/auth/invitations/accept",
            None,
            json!({"token": token}),
        )
        .await;
    assert_eq!(res.body["details"][0]["field"], "password");
    let res = app
        .post(
            "/api/auth/invitations/accept",
            None,
            json!({"token": token, "name": "Newbie", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(
        res.body["session"]["activeOrganizationId"],
        owner.organization_id.as_str()
    );
    let session = res.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/partners", &session).await.status, 200);
    assert_eq!(
        app.sign_in("newbie@example.com", PASSWORD).await.status,
        200
    );

    // Single use.
    let res = app
        .post(
            "/api/auth/invitations/accept",
            None,
            json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (404, "not_found"));
}

#[tokio::test]
async fn invitations_expire_after_48_hours() {
    let app = spawn_app().await;
    let owner = app.owner("exp").await;
    let res = app
        .post(
            "/api/organizations/members",
            Some(&owner.token),
            json!({"email": "late@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let token = app.invitation_token("late@example.com").await;
    app.clock
        .advance(Duration::hours(48) + Duration::seconds(1));
    let res = app
        .post(
            "/api/auth/invitations/accept",
            None,
            json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(app.count("members").await, 1);
}

#[tokio::test]
async fn existing_users_are_added_and_roles_change_under_the_owner_rules() {
    let app = spawn_app().await;
    let owner = app.owner("roles").await;
    let admin = app.member(&owner, "admin", "r").await;
    let viewer_token = app.member(&owner, "viewer", "r").await;
    let viewer_id = app.get("/api/auth/get-session", &viewer_token).await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner_id = app.get("/api/auth/get-session", &owner.token).await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let res = app.get("/api/organizations/members", &admin).await;
    assert_eq!(res.body["members"].as_array().unwrap().len(), 3);

    // Adding someone twice is a conflict.
    let res = app
        .post(
            "/api/organizations/members",
            Some(&admin),
            json!({"email": "viewer-r@example.com", "role": "member"}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (409, "conflict"));

    // Admins manage non-owners, but neither grant nor touch `owner`.
    let res = app
        .patch(
            &format!("/api/organizations/members/{viewer_id}"),
            &admin,
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(
        (res.status.as_u16(), res.body["member"]["role"].as_str()),
        (200, Some("member"))
    );
    let res = app
        .patch(
            &format!("/api/organizations/members/{viewer_id}"),
            &admin,
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(res.status, 403);
    let res = app
        .patch(
            &format!("/api/organizations/members/{owner_id}"),
            &admin,
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(res.status, 403);
    let res = app
        .delete(&format!("/api/organizations/members/{owner_id}"), &admin)
        .await;
    assert_eq!(res.status, 403);

    // The last owner can be neither demoted nor removed.
    let res = app
        .patch(
            &format!("/api/organizations/members/{owner_id}"),
            &owner.token,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (409, "conflict"));
    let res = app
        .delete(
            &format!("/api/organizations/members/{owner_id}"),
            &owner.token,
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (409, "conflict"));

    // With a second owner, the first may step down.
    let res = app
        .patch(
            &format!("/api/organizations/members/{viewer_id}"),
            &owner.token,
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(res.status, 200);
    let res = app
        .patch(
            &format!("/api/organizations/members/{owner_id}"),
            &owner.token,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(res.status, 200);

    // Unknown members are 404; malformed ids 400.
    let res = app
        .patch(
            &format!("/api/organizations/members/{}", uuid::Uuid::new_v4()),
            &viewer_token,
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(res.status, 404);
    let res = app
        .delete("/api/organizations/members/nope", &viewer_token)
        .await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "validation_failed")
    );
}

#[tokio::test]
async fn a_partner_contact_claims_the_portal_account_and_sees_no_internal_data() {
    let app = spawn_app().await;
    let owner = app.owner("portal").await;
    let (token, partner_id) = app.partner_user(&owner, "p").await;
    let session = app.get("/api/auth/get-session", &token).await;
    assert_eq!(
        session.body["session"]["activeOrganizationId"],
        owner.organization_id.as_str()
    );
    let res = app.get("/api/partners", &token).await;
    assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    let res = app
        .get(&format!("/api/partners/{partner_id}"), &token)
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    let members = app.get("/api/organizations/members", &owner.token).await;
    let portal = members.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "partner")
        .expect("a partner member")
        .clone();
    assert_eq!(portal["partnerId"], partner_id.as_str());
}

// ---------------------------------------------------------------------------------------------
// Roles on members and API keys

/// An owner with a viewer API key, an admin, a member, a viewer, a partner user and a member
/// to manage (`target`).
struct Staff {
    app: TestApp,
    owner: Owner,
    owner_id: String,
    admin: String,
    member: String,
    viewer: String,
    portal: String,
    target_path: String,
    key_id: String,
}

async fn staff() -> Staff {
    let app = spawn_app().await;
    let owner = app.owner("roles").await;
    let admin = app.member(&owner, "admin", "roles").await;
    let member = app.member(&owner, "member", "roles").await;
    let viewer = app.member(&owner, "viewer", "roles").await;
    let (portal, _) = app.partner_user(&owner, "roles").await;
    let target = app.member(&owner, "member", "target").await;
    let target_path = format!(
        "/api/organizations/members/{}",
        user_id(&app, &target).await
    );
    let owner_id = user_id(&app, &owner.token).await;
    let key = app
        .post(
            "/api/api-keys",
            Some(&owner.token),
            json!({"name": "ci", "role": "viewer"}),
        )
        .await;
    assert_eq!(key.status, 201, "{:?}", key.body);
    let key_id = key.body["apiKey"]["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(5));
    Staff {
        app,
        owner,
        owner_id,
        admin,
        member,
        viewer,
        portal,
        target_path,
        key_id,
    }
}

#[tokio::test]
async fn members_viewers_and_partner_users_cannot_manage_members_or_api_keys() {
    let s = staff().await;
    let app = &s.app;
    let members_before = app
        .get("/api/organizations/members", &s.owner.token)
        .await
        .body;
    let before = snapshot(app).await;
    let key_path = format!("/api/api-keys/{}", s.key_id);
    for (who, token) in [
        ("member", s.member.as_str()),
        ("viewer", s.viewer.as_str()),
        ("partner", s.portal.as_str()),
    ] {
        let cases: [(Method, &str, Option<Value>); 7] = [
            (Method::GET, "/api/organizations/members", None),
            (
                Method::POST,
                "/api/organizations/members",
                Some(json!({"email": format!("new-{who}@example.com"), "role": "viewer"})),
            ),
            (
                Method::PATCH,
                &s.target_path,
                Some(json!({"role": "admin"})),
            ),
            (Method::DELETE, &s.target_path, None),
            (
                Method::POST,
                "/api/api-keys",
                Some(json!({"name": "mine", "role": "viewer"})),
            ),
            (Method::GET, "/api/api-keys", None),
            (Method::DELETE, &key_path, None),
        ];
        for (method, path, body) in cases {
            let what = format!("{who} {method} {path}");
            let res = app.call(method, path, Some(token), body).await;
            assert_error(&res, 403, "forbidden", &what);
        }
    }
    assert_eq!(
        snapshot(app).await,
        before,
        "a refused request changed rows"
    );
    let members = app.get("/api/organizations/members", &s.owner.token).await;
    assert_eq!(members.body, members_before, "membership changed");
    let keys = app.get("/api/api-keys", &s.owner.token).await;
    assert_eq!(keys.body["apiKeys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn admins_manage_members_and_api_keys() {
    let s = staff().await;
    let (app, admin) = (&s.app, s.admin.as_str());
    let res = app.get("/api/organizations/members", admin).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert!(res.body["members"].as_array().unwrap().len() >= 6);
    app.sign_up("existing-roles@example.com").await;
    let res = app
        .post(
            "/api/organizations/members",
            Some(admin),
            json!({"email": "existing-roles@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert_eq!(res.body["invitation"]["role"], "member");
    let res = app
        .post(
            "/api/organizations/members",
            Some(admin),
            json!({"email": "invitee-roles@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert!(res.body["invitation"].is_object() && res.body["token"].is_null());
    let res = app
        .patch(&s.target_path, admin, json!({"role": "viewer"}))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["member"]["role"], "viewer");
    let res = app.delete(&s.target_path, admin).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["success"], true);

    let res = app
        .post(
            "/api/api-keys",
            Some(admin),
            json!({"name": "admin-key", "role": "member"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert!(res.body["key"].as_str().is_some_and(|k| !k.is_empty()));
    let res = app.get("/api/api-keys", admin).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["apiKeys"].as_array().unwrap().len(), 2);
    let res = app
        .delete(&format!("/api/api-keys/{}", s.key_id), admin)
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}

#[tokio::test]
async fn admins_cannot_grant_demote_or_remove_owners() {
    let s = staff().await;
    let (app, admin) = (&s.app, s.admin.as_str());
    let res = app
        .post(
            "/api/organizations/members",
            Some(admin),
            json!({"email": "other-owner@example.com", "role": "owner"}),
        )
        .await;
    assert_error(&res, 403, "forbidden", "admin grants owner");
    let owner_path = format!("/api/organizations/members/{}", s.owner_id);
    let res = app
        .patch(&owner_path, admin, json!({"role": "viewer"}))
        .await;
    assert_error(&res, 403, "forbidden", "admin demotes the owner");
    let res = app.delete(&owner_path, admin).await;
    assert_error(&res, 403, "forbidden", "admin removes the owner");
}

#[tokio::test]
async fn a_session_cannot_be_pointed_at_another_organization() {
    let app = spawn_app().await;
    let a = app.owner("xa").await;
    let b = app.owner("xb").await;
    let b_member = app.member(&b, "member", "xb").await;
    let b_admin = app.member(&b, "admin", "xb").await;
    let partner = app.create_partner(&a.token, "Acme", Some("acme.com")).await;
    let path = format!("/api/partners/{}", partner["id"].as_str().unwrap());
    let before = snapshot(&app).await;
    for (who, token) in [
        ("owner B", b.token.as_str()),
        ("admin B", b_admin.as_str()),
        ("member B", b_member.as_str()),
    ] {
        let res = app
            .post(
                "/api/auth/organization/set-active",
                Some(token),
                json!({"organizationId": a.organization_id}),
            )
            .await;
        assert_error(&res, 404, "not_found", &format!("{who} set-active to A"));
        let res = app.get(&path, token).await;
        assert_error(
            &res,
            404,
            "not_found",
            &format!("{who} GET after set-active"),
        );
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "a refused request changed rows"
    );
}

// ---------------------------------------------------------------------------------------------
// Invalid input: the JSON shapes the HTTP layer refuses, and one case per field of each domain
// rule (the rules' other values are unit-tested with the value objects in the domain).

#[tokio::test]
async fn creating_an_organization_with_invalid_fields_names_the_field() {
    let app = spawn_app().await;
    let owner = app.owner("bad").await;
    let mut cases = Vec::new();
    for (label, body, field) in [
        ("name is a number", json!({"name": 5}), "name"),
        ("no name", json!({}), "name"),
        ("name empty", json!({"name": ""}), "name"),
        (
            "slug is a number",
            json!({"name": "Org", "slug": 7}),
            "slug",
        ),
        (
            "slug with spaces",
            json!({"name": "Org", "slug": "Not A Slug"}),
            "slug",
        ),
    ] {
        let label = format!("org: {label}");
        cases.push(invalid(
            label,
            &Method::POST,
            "/api/organizations",
            body,
            field,
        ));
    }
    assert_cases(&app, &owner, &cases).await;
}

#[tokio::test]
async fn adding_a_member_with_invalid_fields_names_the_field() {
    let app = spawn_app().await;
    let owner = app.owner("bad").await;
    let mut cases = Vec::new();
    for (label, body, field) in [
        (
            "role superuser",
            json!({"email": "x@example.com", "role": "superuser"}),
            "role",
        ),
        (
            "email is a number",
            json!({"email": 5, "role": "member"}),
            "email",
        ),
        (
            "email invalid",
            json!({"email": "nobody", "role": "member"}),
            "email",
        ),
        ("no role", json!({"email": "x@example.com"}), "role"),
    ] {
        let label = format!("add member: {label}");
        let path = "/api/organizations/members";
        cases.push(invalid(label, &Method::POST, path, body, field));
    }
    assert_cases(&app, &owner, &cases).await;
}

#[tokio::test]
async fn malformed_member_and_api_key_ids_are_validation_failures() {
    let app = spawn_app().await;
    let owner = app.owner("bad").await;
    let mut cases = Vec::new();
    for (path, field) in [
        ("/api/organizations/members/not-a-uuid", "userId"),
        ("/api/api-keys/123", "keyId"),
    ] {
        let validation = (400, "validation_failed");
        let label = format!("DELETE {path}");
        cases.push(case(
            label,
            &Method::DELETE,
            path,
            Body::None,
            validation,
            Some(field),
        ));
    }
    assert_cases(&app, &owner, &cases).await;
}
