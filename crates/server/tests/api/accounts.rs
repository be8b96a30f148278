//! Email verification and password reset, end to end: the mail goes out through the outbox
//! relay (the tests wait for it), its link's token works once.

use super::helpers::*;
use chrono::Duration;
use serde_json::json;

const VERIFY: &str = "/api/auth/verify-email";
const RESEND: &str = "/api/auth/verify-email/resend";
const RESET: &str = "/api/auth/password-reset/request";
const CONFIRM: &str = "/api/auth/password-reset/confirm";

#[tokio::test]
async fn a_signed_up_account_verifies_its_address_with_the_mailed_link_once() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/auth/sign-up/email",
            None,
            json!({"name": "Vera", "email": "Vera@Example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["user"]["emailVerified"], false);
    let session = res.body["token"].as_str().unwrap().to_owned();

    // Unverified: signed in, but no organization yet.
    let res = app
        .post(
            "/api/organizations",
            Some(&session),
            json!({"name": "Vera Co"}),
        )
        .await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (403, "email_not_verified")
    );
    assert_eq!(app.count("organizations").await, 0);
    let me = app.get("/api/auth/get-session", &session).await;
    assert_eq!(me.body["user"]["emailVerified"], false);

    // The relay mails the link (text and HTML), to the address only.
    let mail = app.mail_to("vera@example.com").await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].subject, "Confirm your email address");
    // The service's own page.
    let link = format!("{}/verify-email?token=pv_", app.address);
    assert!(mail[0].text.contains(&link), "{}", mail[0].text);
    assert!(mail[0].html.contains(&format!("<a href=\"{link}")));
    let token = app.link_token("vera@example.com", "/verify-email").await;
    assert!(token.starts_with("pv_"));
    let stored = app
        .count(&format!(
            "(SELECT payload::text AS t FROM events UNION ALL \
              SELECT row_to_json(u)::text FROM user_tokens u) AS everything \
             WHERE t LIKE '%{}%'",
            &token[3..]
        ))
        .await;
    assert_eq!(stored, 0, "only the token's hash is stored");

    let res = app.post(VERIFY, None, json!({"token": "pv_nope"})).await;
    assert_eq!((res.status.as_u16(), res.code()), (400, "invalid_token"));
    let res = app.post(VERIFY, None, json!({"token": token})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["user"]["emailVerified"], true);
    assert_eq!(res.body["user"]["email"], "Vera@example.com");
    let res = app.post(VERIFY, None, json!({"token": token})).await;
    assert_eq!((res.status.as_u16(), res.code()), (400, "invalid_token"));

    let me = app.get("/api/auth/get-session", &session).await;
    assert_eq!(me.body["user"]["emailVerified"], true);
    let signed_in = app.sign_in("vera@example.com", PASSWORD).await;
    assert_eq!(signed_in.body["user"]["emailVerified"], true);
    let res = app
        .post(
            "/api/organizations",
            Some(&session),
            json!({"name": "Vera Co"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
}

#[tokio::test]
async fn a_verification_link_expires_after_48_hours_and_a_new_one_can_be_asked_for() {
    let app = spawn_app().await;
    let session = app.sign_up_unverified("late@example.com").await;
    let first = app.link_token("late@example.com", "/verify-email").await;
    app.clock
        .advance(Duration::hours(48) + Duration::seconds(1));
    let res = app.post(VERIFY, None, json!({"token": first})).await;
    assert_eq!((res.status.as_u16(), res.code()), (400, "invalid_token"));

    let res = app.post(RESEND, Some(&session), json!({})).await;
    assert_eq!(res.status, 202, "{:?}", res.body);
    assert_eq!(res.body, json!({"success": true}));
    let second = app.link_token("late@example.com", "/verify-email").await;
    assert_ne!(first, second);
    assert_eq!(app.mail_to("late@example.com").await.len(), 2);
    let res = app.post(VERIFY, None, json!({"token": second})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    // Verified: nothing more to send.
    let res = app.post(RESEND, Some(&session), json!({})).await;
    assert_eq!((res.status.as_u16(), res.code()), (409, "conflict"));
    assert_eq!(app.post(RESEND, None, json!({})).await.status, 401);
}

#[tokio::test]
async fn resending_the_verification_mail_is_rate_limited() {
    let app = spawn_app().await;
    let session = app.sign_up_unverified("eager@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            app.post(RESEND, Some(&session), json!({})).await.status,
            202
        );
    }
    let res = app.post(RESEND, Some(&session), json!({})).await;
    assert_eq!((res.status.as_u16(), res.code()), (429, "rate_limited"));
    assert!(res.headers.contains_key("retry-after"));
    // The sign-up's mail and three more; every one of them works until one is used.
    assert_eq!(app.mail_to("eager@example.com").await.len(), 4);
}

#[tokio::test]
async fn an_unverified_account_cannot_accept_an_invitation_while_signed_in() {
    let app = spawn_app().await;
    let owner = app.owner("unverified").await;
    let session = app.sign_up_unverified("fresh@example.com").await;
    let res = app
        .post(
            "/api/organizations/members",
            Some(&owner.token),
            json!({"email": "fresh@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let invitation = app.invitation_token("fresh@example.com").await;
    let accept = json!({"token": invitation});
    let res = app
        .post(
            "/api/auth/invitations/accept",
            Some(&session),
            accept.clone(),
        )
        .await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (403, "email_not_verified")
    );
    assert_eq!(app.count("members").await, 1);

    let token = app.link_token("fresh@example.com", "/verify-email").await;
    assert_eq!(
        app.post(VERIFY, None, json!({"token": token})).await.status,
        200
    );
    let res = app
        .post("/api/auth/invitations/accept", Some(&session), accept)
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}

#[tokio::test]
async fn an_account_created_through_an_invitation_is_verified() {
    let app = spawn_app().await;
    let owner = app.owner("creates").await;
    app.post(
        "/api/organizations/members",
        Some(&owner.token),
        json!({"email": "invitee@example.com", "role": "admin"}),
    )
    .await;
    let invitation = app.invitation_token("invitee@example.com").await;
    let res = app
        .post(
            "/api/auth/invitations/accept",
            None,
            json!({"token": invitation, "name": "Ivy", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["user"]["emailVerified"], true);
    let session = res.body["token"].as_str().unwrap();
    let res = app
        .post(
            "/api/organizations",
            Some(session),
            json!({"name": "Ivy Co"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    // No verification mail for it: the invitation proved the address.
    let mail = app.mail_to("invitee@example.com").await;
    assert!(mail.iter().all(|m| !m.text.contains("/verify-email")));
}

#[tokio::test]
async fn a_reset_request_answers_alike_whether_or_not_the_account_exists() {
    let app = spawn_app().await;
    app.sign_up("known@example.com").await;
    let known = app
        .post(RESET, None, json!({"email": "Known@Example.com"}))
        .await;
    let unknown = app
        .post(RESET, None, json!({"email": "unknown@example.com"}))
        .await;
    assert_eq!((known.status.as_u16(), unknown.status.as_u16()), (202, 202));
    assert_eq!(known.body, unknown.body);
    assert_eq!(known.body, json!({"success": true}));
    let names = |r: &Res| {
        let mut h: Vec<String> = r.headers.keys().map(|k| k.to_string()).collect();
        h.sort();
        h
    };
    assert_eq!(names(&known), names(&unknown));

    let reset = app.link_token("known@example.com", "/reset-password").await;
    assert!(reset.starts_with("pr_"));
    let mail = app.mail_to("known@example.com").await;
    let last = mail.last().unwrap();
    assert_eq!(last.subject, "Reset your password");
    assert!(last.html.contains("/reset-password?token="));
    assert!(app.mail_to("unknown@example.com").await.is_empty());
    assert_eq!(
        app.count("user_tokens WHERE purpose = 'reset_password'")
            .await,
        1
    );
    // Not an address at all is a validation error, for known and unknown alike.
    let res = app.post(RESET, None, json!({"email": "nope"})).await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "validation_failed")
    );
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_and_signs_out_everywhere() {
    let app = spawn_app().await;
    let first_session = app.sign_up_unverified("rita@example.com").await;
    let second_session = app.sign_in("rita@example.com", PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post(RESET, None, json!({"email": "rita@example.com"}))
            .await
            .status,
        202
    );
    let token = app.link_token("rita@example.com", "/reset-password").await;

    let res = app
        .post(CONFIRM, None, json!({"token": token, "password": "short"}))
        .await;
    assert_eq!(res.body["details"][0]["field"], "password");
    let res = app
        .post(
            CONFIRM,
            None,
            json!({"token": "pr_unknown", "password": "brand-new-password"}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (400, "invalid_token"));
    let res = app
        .post(
            CONFIRM,
            None,
            json!({"token": token, "password": "brand-new-password"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    // The link reached the address: it counts as verified.
    assert_eq!(res.body["user"]["emailVerified"], true);
    for session in [&first_session, &second_session] {
        assert_eq!(
            app.get("/api/auth/get-session", session).await.status,
            401,
            "every earlier session is revoked"
        );
    }
    assert_eq!(app.sign_in("rita@example.com", PASSWORD).await.status, 401);
    let res = app.sign_in("rita@example.com", "brand-new-password").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["user"]["emailVerified"], true);

    // Once only.
    let res = app
        .post(
            CONFIRM,
            None,
            json!({"token": token, "password": "another-password"}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (400, "invalid_token"));
    assert_eq!(
        app.sign_in("rita@example.com", "brand-new-password")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let app = spawn_app().await;
    app.sign_up("slow@example.com").await;
    app.post(RESET, None, json!({"email": "slow@example.com"}))
        .await;
    let token = app.link_token("slow@example.com", "/reset-password").await;
    app.clock.advance(Duration::hours(1));
    let res = app
        .post(
            CONFIRM,
            None,
            json!({"token": token, "password": "brand-new-password"}),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (400, "invalid_token"));
    assert_eq!(app.sign_in("slow@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn reset_requests_are_limited_per_email_and_per_address() {
    let app = spawn_app_with(Options {
        forwarded_hops: 1,
        config: Box::new(|c| c.auth.limits.password_resets_per_address = 5),
        ..Default::default()
    })
    .await;
    app.sign_up("target@example.com").await;
    // Three an hour for one email, whether or not it has an account.
    for email in ["target@example.com", "ghost@example.com"] {
        for i in 0..3 {
            let res = app
                .post_from(RESET, &format!("198.51.100.{i}"), json!({"email": email}))
                .await;
            assert_eq!(res.status, 202, "{email} #{i}: {:?}", res.body);
        }
        let res = app
            .post_from(RESET, "198.51.100.9", json!({"email": email}))
            .await;
        assert_eq!((res.status.as_u16(), res.code()), (429, "rate_limited"));
        assert!(res.headers.contains_key("retry-after"));
    }
    assert_eq!(resets(&app, "target@example.com").await, 3);

    // One address, many emails: five an hour.
    for i in 0..5 {
        let res = app
            .post_from(
                RESET,
                "203.0.113.50",
                json!({"email": format!("spray{i}@example.com")}),
            )
            .await;
        assert_eq!(res.status, 202);
    }
    let res = app
        .post_from(
            RESET,
            "203.0.113.50",
            json!({"email": "spray9@example.com"}),
        )
        .await;
    assert_eq!(res.status, 429);
    // An hour later the email may ask again.
    app.clock.advance(Duration::hours(1) + Duration::seconds(1));
    assert_eq!(
        app.post_from(
            RESET,
            "198.51.100.1",
            json!({"email": "target@example.com"})
        )
        .await
        .status,
        202
    );
    assert_eq!(resets(&app, "target@example.com").await, 4);
}

/// Reset mails sent to `address` so far.
async fn resets(app: &TestApp, address: &str) -> usize {
    app.mail_to(address)
        .await
        .into_iter()
        .filter(|m| m.text.contains("/reset-password?token="))
        .count()
}
