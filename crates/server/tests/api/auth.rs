//! The whole authentication flow: cookie and bearer, expiry, revocation, throttling.

use super::cases::*;
use super::helpers::*;
use chrono::Duration;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn sign_up_sets_a_hardened_cookie_that_authenticates() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/auth/sign-up/email",
            None,
            json!({"name": "Ada", "email": "Ada@Example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["user"]["email"], "Ada@example.com");
    let token = res.body["token"].as_str().unwrap();
    let cookie = res.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("session_token={token}")),
        "{cookie}"
    );
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "no Secure flag in development");
    // Timestamps: ISO 8601 with milliseconds and Z.
    let created = res.body["user"]["createdAt"].as_str().unwrap();
    assert_eq!(created, "2026-05-16T12:00:00.000Z");

    // The cookie alone authenticates.
    let res = app
        .http
        .get(format!("{}/api/auth/get-session", app.address))
        .header("cookie", format!("session_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // So does the bearer header.
    let res = app.get("/api/auth/get-session", token).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["user"]["email"], "Ada@example.com");
    assert!(res.body["session"]["activeOrganizationId"].is_null());
}

#[tokio::test]
async fn duplicate_email_in_any_case_is_a_conflict() {
    let app = spawn_app().await;
    app.sign_up("bob@example.com").await;
    let before = app.count("users").await;
    let res = app
        .post(
            "/api/auth/sign-up/email",
            None,
            json!({"name": "Bob", "email": "BOB@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (409, "conflict"));
    assert_eq!(app.count("users").await, before);
}

#[tokio::test]
async fn sign_up_validates_and_can_be_switched_off() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/auth/sign-up/email",
            None,
            json!({"name": "Bob", "email": "bob@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "validation_failed")
    );
    assert_eq!(res.body["details"][0]["field"], "password");

    let closed = spawn_app_with(Options {
        signup_enabled: false,
        ..Options::default()
    })
    .await;
    let res = closed
        .post(
            "/api/auth/sign-up/email",
            None,
            json!({"name": "Bob", "email": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    assert_eq!(closed.count("users").await, 0);
}

#[tokio::test]
async fn wrong_credentials_get_one_message_and_are_throttled_after_five() {
    let app = spawn_app().await;
    app.sign_up("carol@example.com").await;
    let unknown = app.sign_in("nobody@example.com", PASSWORD).await;
    let wrong = app.sign_in("carol@example.com", "not-the-password").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.body, wrong.body, "one message for both");

    for _ in 0..4 {
        assert_eq!(
            app.sign_in("carol@example.com", "not-the-password")
                .await
                .status,
            401
        );
    }
    // Five failures: even the right password is refused now.
    let res = app.sign_in("Carol@example.com", PASSWORD).await;
    assert_eq!((res.status.as_u16(), res.code()), (429, "rate_limited"));
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Other emails are unaffected.
    assert_eq!(
        app.sign_in("nobody@example.com", PASSWORD).await.status,
        401
    );
    // After the window the account signs in again.
    app.clock.advance(Duration::minutes(16));
    assert_eq!(app.sign_in("carol@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn sign_out_revokes_the_session_and_clears_the_cookie() {
    let app = spawn_app().await;
    let token = app.sign_up("dan@example.com").await;
    let res = app
        .call(Method::POST, "/api/auth/sign-out", Some(&token), None)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["success"], true);
    let cookie = res.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("session_token=;") || cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    let res = app.get("/api/auth/get-session", &token).await;
    assert_eq!((res.status.as_u16(), res.code()), (401, "unauthorized"));
    // Another session of the same user stays valid.
    let other = app.sign_in("dan@example.com", PASSWORD).await;
    assert_eq!(other.status, 200);
}

#[tokio::test]
async fn unknown_and_malformed_credentials_are_unauthorized() {
    let app = spawn_app().await;
    for token in ["ps_unknown", "pk_unknown", "garbage", &"x".repeat(600)] {
        let res = app.get("/api/partners", token).await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (401, "unauthorized"),
            "{token}"
        );
    }
    let res = app.call(Method::GET, "/api/partners", None, None).await;
    assert_eq!(res.status, 401);
    let res = app
        .http
        .get(format!("{}/api/partners", app.address))
        .header("authorization", "Basic dXNlcjpwdw==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn sessions_expire_after_seven_idle_days_and_thirty_in_all() {
    let app = spawn_app().await;
    let token = app.sign_up("erin@example.com").await;
    // Used every six days, the session slides...
    for _ in 0..4 {
        app.clock.advance(Duration::days(6));
        assert_eq!(app.get("/api/auth/get-session", &token).await.status, 200);
    }
    // ...but never past 30 days after sign-in.
    app.clock.advance(Duration::days(6) + Duration::minutes(1));
    let res = app.get("/api/auth/get-session", &token).await;
    assert_eq!(res.status, 401, "30-day absolute limit");

    let idle = app.sign_in("erin@example.com", PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::days(7) + Duration::seconds(1));
    assert_eq!(
        app.get("/api/auth/get-session", &idle).await.status,
        401,
        "7 idle days"
    );
}

#[tokio::test]
async fn without_an_active_organization_org_data_is_a_400() {
    let app = spawn_app().await;
    let token = app.sign_up("fay@example.com").await;
    let res = app.get("/api/partners", &token).await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "no_active_organization")
    );
    let res = app
        .post(
            "/api/partners",
            Some(&token),
            json!({"name": "X", "type": "technology",
                   "primaryContact": {"firstName": "A", "lastName": "B", "email": "a@b.co"}}),
        )
        .await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "no_active_organization")
    );
    assert_eq!(app.count("partners").await, 0);
}

#[tokio::test]
async fn set_active_requires_membership_and_removal_drops_access() {
    let app = spawn_app().await;
    let a = app.owner("a").await;
    let b = app.owner("b").await;
    // Owner A cannot switch into B.
    let res = app
        .post(
            "/api/auth/organization/set-active",
            Some(&a.token),
            json!({"organizationId": b.organization_id}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (404, "not_found"));
    let res = app.get("/api/auth/get-session", &a.token).await;
    assert_eq!(
        res.body["session"]["activeOrganizationId"],
        a.organization_id.as_str()
    );

    // A member removed from the organization is treated as having none.
    let member = app.member(&a, "member", "m").await;
    assert_eq!(app.get("/api/partners", &member).await.status, 200);
    let me = app.get("/api/auth/get-session", &member).await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .delete(&format!("/api/organizations/members/{me}"), &a.token)
        .await;
    assert_eq!(res.status, 200);
    let res = app.get("/api/partners", &member).await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "no_active_organization")
    );
}

#[tokio::test]
async fn api_keys_authenticate_with_their_role_until_revoked() {
    let app = spawn_app().await;
    let owner = app.owner("k").await;
    let res = app
        .post(
            "/api/api-keys",
            Some(&owner.token),
            json!({"name": "ci", "role": "viewer"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let key = res.body["key"].as_str().unwrap().to_owned();
    let id = res.body["apiKey"]["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with(res.body["apiKey"]["prefix"].as_str().unwrap()));
    // The key is stored hashed only.
    let client = app.db.client().await;
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM api_keys WHERE token_hash = sha256(convert_to($1, 'UTF8')) \
             AND position(convert_to($1, 'UTF8') IN token_hash) = 0",
            &[&key],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);

    assert_eq!(app.get("/api/partners", &key).await.status, 200);
    let res = app
        .post(
            "/api/partners",
            Some(&key),
            json!({"name": "X", "type": "technology",
                   "primaryContact": {"firstName": "A", "lastName": "B", "email": "a@b.co"}}),
        )
        .await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (403, "forbidden"),
        "viewer key"
    );
    let list = app.get("/api/api-keys", &owner.token).await;
    assert_eq!(list.body["apiKeys"].as_array().unwrap().len(), 1);
    assert!(
        list.body.to_string().find(&key).is_none(),
        "the secret is never listed"
    );

    assert_eq!(
        app.delete(&format!("/api/api-keys/{id}"), &owner.token)
            .await
            .status,
        200
    );
    assert_eq!(app.get("/api/partners", &key).await.status, 401);
    assert_eq!(
        app.delete(&format!("/api/api-keys/{id}"), &owner.token)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let app = spawn_app().await;
    let res = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(res.status, 200);
    let res = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(res.status, 200);
    let res = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(res.status, 200);
    for path in [
        "/api/partners/{partnerId}",
        "/api/auth/sign-in/email",
        "/api/organizations/members/{userId}",
    ] {
        assert!(res.body["paths"][path].is_object(), "{path} documented");
    }
    let res = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(res.status, 200);
    let text = res.body.as_str().unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("db_pool_max_connections"), "{text}");
    let res = app.call(Method::GET, "/nowhere", None, None).await;
    assert_eq!((res.status.as_u16(), res.code()), (404, "not_found"));

    // Readiness reflects missing migrations.
    let client = app.db.client().await;
    client
        .batch_execute("DELETE FROM __diesel_schema_migrations")
        .await
        .unwrap();
    let res = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((res.status.as_u16(), res.code()), (503, "unavailable"));
}

/// The JSON shapes the sign-in refuses name the field; none counts as a failed sign-in.
#[tokio::test]
async fn a_malformed_sign_in_names_the_field_and_counts_no_failure() {
    let app = spawn_app().await;
    let owner = app.owner("bad").await;
    app.sign_up("signin-bad@example.com").await;
    let si = || json!({"email": "signin-bad@example.com", "password": PASSWORD});
    let mut cases = Vec::new();
    for (label, body, field) in [
        ("email is a number", with(si(), "email", json!(5)), "email"),
        (
            "email null",
            with(si(), "email", serde_json::Value::Null),
            "email",
        ),
        (
            "password is an array",
            with(si(), "password", json!(["x"])),
            "password",
        ),
        ("no password", without(si(), "password"), "password"),
        ("no email", without(si(), "email"), "email"),
    ] {
        let label = format!("sign-in: {label}");
        cases.push(invalid(label, &Method::POST, SIGN_IN, body, field));
    }
    assert_cases(&app, &owner, &cases).await;
    let res = app.sign_in("signin-bad@example.com", PASSWORD).await;
    assert_eq!(res.status, 200, "sign-in after bad input: {:?}", res.body);
}
