//! Public submission of application forms through the API: every submit rule, the rate limit per
//! address and form, affiliate attribution under concurrency, one application per email, and
//! the Turnstile check.

use super::applications::*;
use super::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn every_submit_rule_answers_its_code_and_stores_nothing() {
    let app = spawn_app_with(Options {
        forwarded_hops: 1,
        ..Options::default()
    })
    .await;
    let owner = app.owner("s").await;
    let form = publish(&app, &owner, "rules-form").await;
    let good = submission(&form, "peter@initech.example");
    let with = |patch: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        patch(&mut b);
        b
    };
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        (
            "unknown slug",
            with(&|b| b["slug"] = json!("no-such-form")),
            404,
            "not_found",
            None,
        ),
        (
            "missing required",
            with(&|b| {
                b["formData"].as_object_mut().unwrap().remove("companyName");
            }),
            400,
            "validation_failed",
            Some("formData.companyName"),
        ),
        (
            "blank required",
            with(&|b| b["formData"]["firstName"] = json!("   ")),
            400,
            "validation_failed",
            Some("formData.firstName"),
        ),
        (
            "bad email",
            with(&|b| b["formData"]["email"] = json!("peter@")),
            400,
            "validation_failed",
            Some("formData.email"),
        ),
        (
            "bad url",
            with(&|b| b["formData"]["website"] = json!("javascript:alert(1)")),
            400,
            "validation_failed",
            Some("formData.website"),
        ),
        (
            "bad number",
            with(&|b| b["formData"]["size"] = json!("lots")),
            400,
            "validation_failed",
            Some("formData.size"),
        ),
        (
            "bad option",
            with(&|b| b["formData"]["focus"] = json!("Hardware")),
            400,
            "validation_failed",
            Some("formData.focus"),
        ),
        (
            "bad country",
            with(&|b| b["formData"]["country"] = json!("XX")),
            400,
            "validation_failed",
            Some("formData.country"),
        ),
        (
            "too long",
            with(&|b| b["formData"]["pitch"] = json!("x".repeat(21))),
            400,
            "validation_failed",
            Some("formData.pitch"),
        ),
        (
            "unknown key",
            with(&|b| b["formData"]["ssn"] = json!("123")),
            400,
            "validation_failed",
            Some("formData.ssn"),
        ),
        (
            "wrong type",
            with(&|b| b["formData"]["companyName"] = json!(42)),
            400,
            "validation_failed",
            Some("formData.companyName"),
        ),
        (
            "required agreement",
            with(&|b| b["acceptedAgreements"] = json!([])),
            400,
            "validation_failed",
            Some("acceptedAgreements"),
        ),
        (
            "unknown agreement",
            with(&|b| b["acceptedAgreements"] = json!([form.terms, uuid::Uuid::new_v4()])),
            400,
            "validation_failed",
            Some("acceptedAgreements[1]"),
        ),
        (
            "unknown body key",
            with(&|b| b["extra"] = json!(1)),
            400,
            "validation_failed",
            Some("extra"),
        ),
        (
            "huge body",
            with(&|b| b["formData"]["pitch"] = json!("x".repeat(70_000))),
            413,
            "payload_too_large",
            None,
        ),
    ];
    for (i, (name, body, status, code, field)) in cases.into_iter().enumerate() {
        let res = submit_from(&app, body, &format!("10.0.0.{i}")).await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (status, code),
            "{name}: {:?}",
            res.body
        );
        if let Some(f) = field {
            let fields: Vec<&str> = res.body["details"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(&f), "{name}: {fields:?}");
        }
    }
    let res = app
        .raw(
            Method::POST,
            "/api/partners/applications/submit",
            None,
            "application/json",
            b"{\"slug\":".to_vec(),
        )
        .await;
    assert_eq!(res.code(), "invalid_json");
    assert_eq!(
        app.count("submissions").await,
        0,
        "nothing stored by a refused submission"
    );

    // The good one is accepted with the configured confirmation, and the country normalized.
    let res = submit_from(&app, good.clone(), "10.1.0.1").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(
        res.body,
        json!({"success": true, "confirmationMessage": "Thanks, we will call you."})
    );
    // Same email in another case while pending: 409 duplicate_submission.
    let res = submit_from(&app, submission(&form, "PETER@initech.example"), "10.1.0.2").await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (409, "duplicate_submission")
    );
    assert_eq!(app.count("submissions").await, 1);
    let client = app.db.client().await;
    let row = client
        .query_one("SELECT form_data->>'country', email FROM submissions", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "DE");
    assert_eq!(row.get::<_, String>(1), "peter@initech.example");
    let events: i64 = client
        .query_one(
            "SELECT count(*) FROM events WHERE kind = 'application_submitted'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 1);
}

#[tokio::test]
async fn ten_submissions_a_minute_per_address_and_form() {
    let app = spawn_app_with(Options {
        forwarded_hops: 1,
        ..Options::default()
    })
    .await;
    let owner = app.owner("r").await;
    let form = publish(&app, &owner, "rate-form").await;
    // Refused submissions (a duplicate here) do not use up the address's allowance.
    assert_eq!(
        submit_from(&app, submission(&form, "p0@x.example"), "192.0.2.9")
            .await
            .status,
        200
    );
    for _ in 0..3 {
        let res = submit_from(&app, submission(&form, "p0@x.example"), "192.0.2.7").await;
        assert_eq!(res.code(), "duplicate_submission");
    }
    for i in 1..11 {
        let res = submit_from(
            &app,
            submission(&form, &format!("p{i}@x.example")),
            "192.0.2.7",
        )
        .await;
        assert_eq!(res.status, 200, "{i}: {:?}", res.body);
    }
    let res = submit_from(&app, submission(&form, "p11@x.example"), "192.0.2.7").await;
    assert_eq!((res.status.as_u16(), res.code()), (429, "rate_limited"));
    assert!(res.headers.contains_key("retry-after"));
    assert_eq!(
        app.count("submissions").await,
        11,
        "the refused one is not stored"
    );
    let res = submit_from(&app, submission(&form, "p11@x.example"), "192.0.2.8").await;
    assert_eq!(res.status, 200, "another address is unaffected");
    app.clock.advance(chrono::Duration::seconds(61));
    let res = submit_from(&app, submission(&form, "p12@x.example"), "192.0.2.7").await;
    assert_eq!(res.status, 200, "the window slides");
}

#[tokio::test]
async fn affiliate_leads_are_counted_exactly_under_concurrency() {
    let app = spawn_app_with(Options {
        forwarded_hops: 1,
        ..Options::default()
    })
    .await;
    let owner = app.owner("a").await;
    let form = publish(&app, &owner, "viral-form").await;
    let res = app
        .post(
            &format!("/api/partners/applications/{}/affiliate-links", form.id),
            Some(&owner.token),
            json!({"slug": "influencer", "label": "Big channel"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);

    let mut tasks = Vec::new();
    for i in 0..200 {
        let mut body = submission(&form, &format!("lead{i}@viral.example"));
        body["affiliateSlug"] = json!("influencer");
        let ip = format!("198.51.{}.{}", i / 250, i % 250);
        let http = app.http.clone();
        let url = format!("{}/api/partners/applications/submit", app.address);
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .header("x-forwarded-for", ip)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(200) => accepted += 1,
            Ok(503) | Err(_) => {}
            Ok(other) => panic!("unexpected status {other}"),
        }
    }
    assert!(accepted > 0);
    let links = app
        .get(
            &format!("/api/partners/applications/{}/affiliate-links", form.id),
            &owner.token,
        )
        .await;
    assert_eq!(
        links.body["affiliateLinks"][0]["leadCount"], accepted,
        "one lead per accepted submission"
    );
    assert_eq!(app.count("submissions").await, accepted);

    // An unknown slug does not block the applicant: stored unattributed, raw slug kept.
    let mut body = submission(&form, "stray@viral.example");
    body["affiliateSlug"] = json!("Not-A-Link");
    assert_eq!(submit_from(&app, body, "203.0.113.9").await.status, 200);
    let client = app.db.client().await;
    let row = client
        .query_one(
            "SELECT affiliate_link_id IS NULL, affiliate_slug FROM submissions WHERE email = 'stray@viral.example'",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "unattributed");
    assert_eq!(row.get::<_, String>(1), "Not-A-Link");
}

#[tokio::test]
async fn the_same_email_twenty_times_at_once_is_accepted_once() {
    let app = spawn_app_with(Options {
        forwarded_hops: 1,
        ..Options::default()
    })
    .await;
    let owner = app.owner("d").await;
    let form = publish(&app, &owner, "dup-form").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let body = submission(&form, "same@dup.example");
        let http = app.http.clone();
        let url = format!("{}/api/partners/applications/submit", app.address);
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .header("x-forwarded-for", format!("203.0.113.{i}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(app.count("submissions").await, 1);
}

async fn turnstile(success_token: &str) -> MockServer {
    let server = MockServer::start().await;
    let ok = success_token.to_owned();
    Mock::given(method("POST"))
        .and(path("/siteverify"))
        .respond_with(move |req: &wiremock::Request| {
            let body = String::from_utf8_lossy(&req.body).to_string();
            if body.contains(&format!("response={ok}")) {
                ResponseTemplate::new(200)
                    .set_body_json(json!({"success": true, "error-codes": []}))
            } else if body.contains("response=boom") {
                ResponseTemplate::new(200)
                    .set_body_json(json!({"success": false, "error-codes": ["internal-error"]}))
            } else {
                ResponseTemplate::new(200).set_body_json(
                    json!({"success": false, "error-codes": ["invalid-input-response"]}),
                )
            }
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn turnstile_is_verified_server_side_and_fails_closed() {
    let fake = turnstile("good-token").await;
    let app = spawn_app_with(Options {
        turnstile: Some(("secret".into(), format!("{}/siteverify", fake.uri()))),
        forwarded_hops: 1,
        ..Options::default()
    })
    .await;
    let owner = app.owner("t").await;
    let form = publish(&app, &owner, "captcha-form").await;
    let public = app
        .call(
            Method::GET,
            "/api/partners/applications/public/captcha-form",
            None,
            None,
        )
        .await;
    assert_eq!(
        public.body["application"]["turnstileSiteKey"],
        "1x00000000000000000000AA"
    );

    let mut body = submission(&form, "a@captcha.example");
    let res = submit_from(&app, body.clone(), "10.3.0.1").await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "captcha_failed"),
        "missing token"
    );
    body["turnstileToken"] = json!("forged");
    let res = submit_from(&app, body.clone(), "10.3.0.2").await;
    assert_eq!((res.status.as_u16(), res.code()), (400, "captcha_failed"));
    body["turnstileToken"] = json!("boom");
    let res = submit_from(&app, body.clone(), "10.3.0.3").await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (502, "upstream_failed"),
        "fail closed"
    );
    assert_eq!(app.count("submissions").await, 0);
    // The client IP travels to siteverify.
    let seen = fake.received_requests().await.unwrap();
    assert!(String::from_utf8_lossy(&seen[0].body).contains("remoteip=10.3.0.2"));
    body["turnstileToken"] = json!("good-token");
    let res = submit_from(&app, body, "10.3.0.4").await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    // Turnstile down: 502 and nothing stored.
    let down = spawn_app_with(Options {
        turnstile: Some(("secret".into(), "http://127.0.0.1:9/siteverify".into())),
        ..Options::default()
    })
    .await;
    let owner = down.owner("t2").await;
    let form = publish(&down, &owner, "captcha-down").await;
    let mut body = submission(&form, "b@captcha.example");
    body["turnstileToken"] = json!("good-token");
    let res = down
        .post("/api/partners/applications/submit", None, body)
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (502, "upstream_failed"));
    assert_eq!(down.count("submissions").await, 0);
}
