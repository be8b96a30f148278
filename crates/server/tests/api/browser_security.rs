//! What browsers may do across origins (CORS).

use super::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

const CUSTOMER: &str = "https://customer.example";
const EVIL: &str = "https://evil.example";
/// A front end of the service on another origin, listed in `CORS_ALLOWED_ORIGINS`.
const FRONT_END: &str = "https://app.partners.example";

/// Sends a request with these headers and an optional JSON body.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Res {
    let mut req = app.http.request(method, format!("{}{path}", app.address));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    read(req.send().await.expect("request")).await
}

fn header<'a>(res: &'a Res, name: &str) -> Option<&'a str> {
    res.headers.get(name).map(|v| v.to_str().unwrap())
}

async fn app_with_front_end() -> TestApp {
    spawn_app_with(Options {
        config: Box::new(|c| c.cors_allowed_origins = vec![FRONT_END.to_owned()]),
        ..Default::default()
    })
    .await
}

async fn published_form(app: &TestApp, owner: &Owner) -> (String, String) {
    let res = app
        .post(
            "/api/partners/applications",
            Some(&owner.token),
            json!({
                "name": "Partner program", "slug": "cors-form", "status": "published",
                "fields": [{"fieldKey": "email", "label": "Work email", "type": "email", "required": true}],
                "agreements": [{"title": "Terms", "body": "You agree.", "required": true}]
            }),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let terms = res.body["application"]["agreements"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ("cors-form".to_owned(), terms)
}

#[tokio::test]
async fn a_form_on_the_customers_site_may_read_and_submit_an_application() {
    let app = spawn_app().await;
    let owner = app.owner("cors").await;
    let (slug, terms) = published_form(&app, &owner).await;

    let preflight = send(
        &app,
        Method::OPTIONS,
        "/api/partners/applications/submit",
        &[
            ("origin", CUSTOMER),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        None,
    )
    .await;
    assert!(preflight.status.is_success(), "{preflight:?}");
    assert_eq!(header(&preflight, "access-control-allow-origin"), Some("*"));
    assert!(header(&preflight, "access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    assert_eq!(header(&preflight, "access-control-allow-credentials"), None);

    let res = send(
        &app,
        Method::GET,
        &format!("/api/partners/applications/public/{slug}"),
        &[("origin", CUSTOMER)],
        None,
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));

    let res = send(
        &app,
        Method::POST,
        "/api/partners/applications/submit",
        &[("origin", CUSTOMER)],
        Some(
            json!({"slug": slug, "formData": {"email": "lead@customer.example"},
                    "acceptedAgreements": [terms]}),
        ),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&res, "access-control-allow-credentials"), None);
    assert!(
        header(&res, "access-control-expose-headers").is_some_and(|h| h.contains("x-request-id"))
    );

    // Both keep their documented paths.
    let res = send(&app, Method::GET, "/openapi.json", &[], None).await;
    assert!(res.body["paths"]["/api/partners/applications/submit"]["post"].is_object());
    assert!(res.body["paths"]["/api/partners/applications/public/{slug}"]["get"].is_object());
}

#[tokio::test]
async fn the_authenticated_api_answers_only_trusted_origins_with_credentials() {
    let app = app_with_front_end().await;
    let preflight = |origin: String| {
        let app = &app;
        async move {
            send(
                app,
                Method::OPTIONS,
                "/api/partners",
                &[
                    ("origin", &origin),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "content-type,authorization",
                    ),
                ],
                None,
            )
            .await
        }
    };
    for trusted in [FRONT_END.to_owned(), app.address.clone()] {
        let res = preflight(trusted.clone()).await;
        assert!(res.status.is_success(), "{trusted}: {res:?}");
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            Some(trusted.as_str())
        );
        assert_eq!(
            header(&res, "access-control-allow-credentials"),
            Some("true")
        );
    }
    let res = preflight(EVIL.to_owned()).await;
    assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    assert_eq!(header(&res, "access-control-allow-origin"), None);

    // A read from an untrusted page is answered (the page cannot read it: no CORS headers);
    // a trusted one gets its origin back.
    let owner = app.owner("trusted").await;
    let cookie = format!("session_token={}", owner.token);
    for (origin, allowed) in [(EVIL, None), (FRONT_END, Some(FRONT_END))] {
        let res = send(
            &app,
            Method::GET,
            "/api/partners",
            &[("origin", origin), ("cookie", &cookie)],
            None,
        )
        .await;
        assert_eq!(res.status, 200, "{origin}: {:?}", res.body);
        assert_eq!(header(&res, "access-control-allow-origin"), allowed);
    }
}
