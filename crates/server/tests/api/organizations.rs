//! Organizations, members, invitations.

use super::helpers::*;
use chrono::Duration;
use serde_json::json;

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
