//! The attacks of the trust issue, each tried as an attacker would.

use crate::helpers::*;
use partneros_domain::identity::auth::AuthLimits;
use serde_json::json;

async fn accept(app: &TestApp, session: Option<&str>, body: serde_json::Value) -> Res {
    app.post("/api/auth/invitations/accept", session, body)
        .await
}

#[tokio::test]
async fn an_invitation_token_never_signs_its_holder_into_an_existing_account() {
    let app = spawn_app().await;
    // The attacker invites the victim's address before the victim has an account.
    let attacker = app.owner("attacker").await;
    let res = app
        .post(
            "/api/organizations/members",
            Some(&attacker.token),
            json!({"email": "ceo@victim.example", "role": "member"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert!(
        res.body["token"].is_null(),
        "the inviter never sees the token"
    );
    // Suppose the token leaked anyway; the victim registers afterwards.
    let token = app.invitation_token("ceo@victim.example").await;
    let victim = app.sign_up("ceo@victim.example").await;

    for body in [
        json!({"token": token}),
        json!({"token": token, "password": "attacker-chosen-password"}),
    ] {
        let res = accept(&app, None, body).await;
        assert_eq!((res.status.as_u16(), res.code()), (401, "unauthorized"));
        assert!(res.body["token"].is_null() && res.headers.get("set-cookie").is_none());
    }
    let res = accept(&app, Some(&attacker.token), json!({"token": token})).await;
    assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    assert_eq!(
        app.sign_in("ceo@victim.example", "attacker-chosen-password")
            .await
            .status,
        401,
        "the victim's password is untouched"
    );
    assert_eq!(app.count("sessions").await, 2, "no session was created");

    // The victim accepts, signed in: their own session joins, no new token.
    let res = accept(&app, Some(&victim), json!({"token": token})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert!(res.body["token"].is_null());
    assert_eq!(
        res.body["session"]["activeOrganizationId"],
        attacker.organization_id.as_str()
    );
    assert_eq!(app.get("/api/partners", &victim).await.status, 200);
}

#[tokio::test]
async fn adding_an_address_answers_alike_and_joins_nobody_without_consent() {
    let app = spawn_app().await;
    let owner = app.owner("consent").await;
    app.sign_up("known@example.com").await;
    let known = app
        .post(
            "/api/organizations/members",
            Some(&owner.token),
            json!({"email": "known@example.com", "role": "member"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/organizations/members",
            Some(&owner.token),
            json!({"email": "unknown@example.com", "role": "member"}),
        )
        .await;
    assert_eq!((known.status.as_u16(), unknown.status.as_u16()), (201, 201));
    let keys = |r: &Res| {
        let mut k: Vec<_> = r.body["invitation"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.extend(r.body.as_object().unwrap().keys().cloned());
        k.sort();
        k
    };
    assert_eq!(
        keys(&known),
        keys(&unknown),
        "no tell whether an account exists"
    );
    let members = app.get("/api/organizations/members", &owner.token).await;
    assert_eq!(members.body["members"].as_array().unwrap().len(), 1);
    for address in ["known@example.com", "unknown@example.com"] {
        let invitations = app
            .mail_to(address)
            .await
            .into_iter()
            .filter(|m| m.text.contains("/accept-invitation?token="))
            .count();
        assert_eq!(invitations, 1, "{address}");
    }
}

#[tokio::test]
async fn invitations_are_hashed_at_rest_listed_revoked_and_resent() {
    let app = spawn_app().await;
    let owner = app.owner("inv-admin").await;
    let viewer = app.member(&owner, "viewer", "inv").await;
    let res = app
        .post(
            "/api/organizations/members",
            Some(&owner.token),
            json!({"email": "ann@example.com", "role": "admin"}),
        )
        .await;
    let id = res.body["invitation"]["id"].as_str().unwrap().to_owned();
    let first = app.invitation_token("ann@example.com").await;
    let stored = app
        .count(&format!(
            "(SELECT payload::text AS t FROM events UNION ALL \
              SELECT row_to_json(i)::text FROM invitations i) AS everything \
             WHERE t LIKE '%{}%'",
            &first[3..]
        ))
        .await;
    assert_eq!(stored, 0, "the token is stored nowhere");

    let list = app
        .get("/api/organizations/invitations", &owner.token)
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let listed: Vec<_> = list.body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert!(listed.contains(&json!(id)));
    assert_eq!(
        app.get("/api/organizations/invitations", &viewer)
            .await
            .status,
        403
    );

    // Re-sent: a new mail, a new token; the old link is dead.
    let path = format!("/api/organizations/invitations/{id}/resend");
    let res = app.post(&path, Some(&owner.token), json!({})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let second = app.invitation_token("ann@example.com").await;
    assert_ne!(first, second);
    let res = accept(&app, None, json!({"token": first, "password": PASSWORD})).await;
    assert_eq!(res.status, 404);

    // Another organization cannot touch it; revoked, the new link is dead too.
    let other = app.owner("inv-other").await;
    let gone = format!("/api/organizations/invitations/{id}");
    assert_eq!(app.delete(&gone, &other.token).await.status, 404);
    assert_eq!(app.delete(&gone, &owner.token).await.status, 200);
    assert_eq!(app.delete(&gone, &owner.token).await.status, 404);
    let res = accept(&app, None, json!({"token": second, "password": PASSWORD})).await;
    assert_eq!(res.status, 404);
    assert_eq!(
        app.post(&path, Some(&owner.token), json!({})).await.status,
        404
    );
}

#[tokio::test]
async fn a_partner_contact_sets_a_password_only_through_its_own_bound_link() {
    let app = spawn_app().await;
    let a = app.owner("contact-a").await;
    let b = app.owner("contact-b").await;
    let contact = |name: &str| {
        json!({"name": name, "type": "reseller",
               "primaryContact": {"firstName": "Pia", "lastName": "Portal", "email": "pia@globex.example"}})
    };
    assert_eq!(
        app.post("/api/partners", Some(&a.token), contact("Globex"))
            .await
            .status,
        201
    );
    let link = app.invitation_token("pia@globex.example").await;
    // B lists the same contact: the account still has no password, so B's link is bound too.
    assert_eq!(
        app.post("/api/partners", Some(&b.token), contact("Globex B"))
            .await
            .status,
        201
    );
    let b_link = app.invitation_token("pia@globex.example").await;

    let res = accept(&app, None, json!({"token": link, "password": PASSWORD})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert!(res.body["token"].is_string());
    // Now the account has a password: B's link (or anyone holding it) cannot reset it.
    let res = accept(
        &app,
        None,
        json!({"token": b_link, "password": "someone-elses-pass"}),
    )
    .await;
    assert_eq!((res.status.as_u16(), res.code()), (401, "unauthorized"));
    assert_eq!(
        app.sign_in("pia@globex.example", PASSWORD).await.status,
        200
    );

    // A third organization lists her: she is invited, not attached.
    let c = app.owner("contact-c").await;
    assert_eq!(
        app.post("/api/partners", Some(&c.token), contact("Globex C"))
            .await
            .status,
        201
    );
    let signed_in = app.sign_in("pia@globex.example", PASSWORD).await;
    let session = signed_in.body["token"].as_str().unwrap().to_owned();
    let orgs = app.get("/api/organizations", &session).await;
    let ids: Vec<_> = orgs.body["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["organization"]["id"].clone())
        .collect();
    assert!(!ids.contains(&json!(c.organization_id)), "{ids:?}");
    let c_link = app.invitation_token("pia@globex.example").await;
    assert_eq!(
        accept(&app, Some(&session), json!({"token": c_link}))
            .await
            .status,
        200
    );
    let orgs = app.get("/api/organizations", &session).await;
    assert_eq!(orgs.body["organizations"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_gets_at_most_five_guesses() {
    let app = spawn_app().await;
    app.sign_up("burst@example.com").await;
    let guesses = (0..30).map(|i| {
        let app = &app;
        async move {
            app.sign_in("burst@example.com", &format!("guess-{i}"))
                .await
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let wrong = answers.iter().filter(|r| r.status == 401).count();
    let limited = answers.iter().filter(|r| r.status == 429).count();
    assert!(wrong <= 5, "{wrong} guesses were checked");
    assert_eq!(wrong + limited, 30);
    assert!(
        answers
            .iter()
            .filter(|r| r.status == 429)
            .all(|r| r.headers.contains_key("retry-after"))
    );
}

#[tokio::test]
async fn password_endpoints_are_limited_per_address_and_ipv6_by_its_64() {
    let app = spawn_app_with(Options {
        forwarded_hops: 1,
        config: Box::new(|c| {
            c.auth.limits = AuthLimits {
                sign_ins_per_address: 3,
                sign_ups_per_address: 2,
                password_resets_per_address: 2,
            }
        }),
        ..Default::default()
    })
    .await;
    let sign_up =
        |i: u32| json!({"name": "N", "email": format!("u{i}@example.com"), "password": PASSWORD});
    // Two sign-ups from one /64, with different addresses in it: the third is refused.
    assert_eq!(
        app.post_from("/api/auth/sign-up/email", "2001:db8:1:2::1", sign_up(1))
            .await
            .status,
        200
    );
    assert_eq!(
        app.post_from(
            "/api/auth/sign-up/email",
            "2001:db8:1:2:ffff::9",
            sign_up(2)
        )
        .await
        .status,
        200
    );
    let res = app
        .post_from(
            "/api/auth/sign-up/email",
            "2001:db8:1:2:abcd::1",
            sign_up(3),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (429, "rate_limited"));
    assert!(res.headers.contains_key("retry-after"));
    // Another /64 is another client.
    assert_eq!(
        app.post_from("/api/auth/sign-up/email", "2001:db8:1:3::1", sign_up(4))
            .await
            .status,
        200
    );

    // Sign-in attempts per address, whatever the emails.
    let sign_in =
        |i: u32| json!({"email": format!("nobody{i}@example.com"), "password": "wrong-password"});
    for i in 0..3 {
        assert_eq!(
            app.post_from("/api/auth/sign-in/email", "203.0.113.5", sign_in(i))
                .await
                .status,
            401
        );
    }
    let res = app
        .post_from("/api/auth/sign-in/email", "203.0.113.5", sign_in(9))
        .await;
    assert_eq!(res.status, 429);
    assert_eq!(
        app.post_from("/api/auth/sign-in/email", "203.0.113.6", sign_in(9))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn an_upload_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    let owner = app.owner("stall").await;
    let viewer = app.member(&owner, "viewer", "stall").await;
    // A body that sends a few bytes and then never ends: only an answer given before reading
    // it can arrive.
    let endless = || {
        let head = futures::stream::once(async {
            Ok::<_, std::io::Error>(bytes_of(
                "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n%PDF-",
            ))
        });
        reqwest::Body::wrap_stream(futures::StreamExt::chain(head, futures::stream::pending()))
    };
    for (token, status) in [(viewer.as_str(), 403), ("ps_not-a-session", 401)] {
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            app.http
                .post(format!("{}/api/partners/legal-templates", app.address))
                .bearer_auth(token)
                .header("content-type", "multipart/form-data; boundary=b")
                .body(endless())
                .send(),
        )
        .await
        .expect("answered without waiting for the body")
        .unwrap();
        assert_eq!(res.status(), status);
    }
}

fn bytes_of(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[tokio::test]
async fn legal_template_uploads_are_rate_limited_per_user() {
    let app = spawn_app().await;
    let owner = app.owner("tpl-limit").await;
    let upload = || async {
        read(
            app.http
                .post(format!("{}/api/partners/legal-templates", app.address))
                .bearer_auth(&owner.token)
                .multipart(template_form(
                    "not-a-uuid",
                    "NDA",
                    r#"["Partner"]"#,
                    "[]".into(),
                ))
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    for _ in 0..10 {
        assert_eq!(
            upload().await.status,
            400,
            "admitted, then refused for its content"
        );
    }
    let res = upload().await;
    assert_eq!((res.status.as_u16(), res.code()), (429, "rate_limited"));
    assert!(res.headers.contains_key("retry-after"));
}
