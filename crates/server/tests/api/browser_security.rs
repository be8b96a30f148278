//! What browsers may do across origins (CORS, refusal of cross-origin cookie-authenticated
//! writes) and who may read `/metrics`.

use super::helpers::*;
use partneros_domain::banners::model::samples;
use partneros_domain::shared::secret::Secret;
use partneros_server::config::Mode;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const CUSTOMER: &str = "https://customer.example";
const EVIL: &str = "https://evil.example";
/// A front end of the service on another origin, listed in `CORS_ALLOWED_ORIGINS`.
const FRONT_END: &str = "https://app.partners.example";
const METRICS_TOKEN: &str = "metrics-token-for-tests-0123";

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
        config: Box::new(|c| c.http.cors_allowed_origins = vec![FRONT_END.to_owned()]),
        ..Default::default()
    })
    .await
}

fn new_partner(name: &str) -> Value {
    let contact = format!("contact-{}@example.com", uuid::Uuid::new_v4().simple());
    json!({"name": name, "type": "technology",
           "primaryContact": {"firstName": "Pat", "lastName": "Contact", "email": contact}})
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

#[tokio::test]
async fn cookie_authenticated_writes_from_foreign_pages_are_refused() {
    let app = app_with_front_end().await;
    let owner = app.owner("csrf").await;
    let cookie = format!("session_token={}", owner.token);
    let partners = app.count("partners").await;

    for foreign in [
        vec![("origin", EVIL)],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
    ] {
        let mut headers = foreign.clone();
        headers.push(("cookie", &cookie));
        let res = send(
            &app,
            Method::POST,
            "/api/partners",
            &headers,
            Some(new_partner("Forged")),
        )
        .await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (403, "forbidden"),
            "{foreign:?}: {:?}",
            res.body
        );
    }
    assert_eq!(app.count("partners").await, partners, "nothing created");

    // The same foreign page with a bearer token, this service's own pages, a listed front end,
    // and clients that say nothing about their origin all get through.
    let own = app.address.clone();
    let bearer = format!("Bearer {}", owner.token);
    for allowed in [
        vec![("origin", EVIL), ("authorization", bearer.as_str())],
        vec![("origin", own.as_str()), ("cookie", cookie.as_str())],
        vec![("origin", FRONT_END), ("cookie", cookie.as_str())],
        vec![
            ("sec-fetch-site", "same-origin"),
            ("cookie", cookie.as_str()),
        ],
        vec![("cookie", cookie.as_str())],
    ] {
        let res = send(
            &app,
            Method::POST,
            "/api/partners",
            &allowed,
            Some(new_partner(&format!("Partner {}", uuid::Uuid::new_v4()))),
        )
        .await;
        assert_eq!(res.status, 201, "{allowed:?}: {:?}", res.body);
    }

    // Every unsafe method is covered, the analysis endpoint included.
    let id = app.create_partner(&owner.token, "Target", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let forged = [("origin", EVIL), ("cookie", cookie.as_str())];
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/partners/{id}"),
            Some(json!({"name": "Renamed"})),
        ),
        (Method::DELETE, format!("/api/partners/{id}"), None),
        (Method::POST, format!("/api/partners/{id}/analyze"), None),
        (Method::POST, "/api/auth/sign-out".to_owned(), None),
    ] {
        let res = send(&app, method.clone(), &path, &forged, body).await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (403, "forbidden"),
            "{method} {path}: {:?}",
            res.body
        );
    }
    // Neither renamed, deleted nor analyzed, and the session was not signed out.
    let res = app.get(&format!("/api/partners/{id}"), &owner.token).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"]["name"], "Target");
    assert!(res.body["partner"]["analyzedAt"].is_null());
}

#[tokio::test]
async fn cookie_authenticated_uploads_from_foreign_pages_are_refused() {
    let app = spawn_app().await;
    let owner = app.owner("upload").await;
    let upload = |auth: (&'static str, String)| {
        let app = &app;
        async move {
            let form = Form::new().part(
                "file",
                Part::bytes(samples::PNG.to_vec())
                    .file_name("banner.png")
                    .mime_str("image/png")
                    .unwrap(),
            );
            read(
                app.http
                    .post(format!("{}/api/partners/applications/banner", app.address))
                    .header("origin", EVIL)
                    .header(auth.0, auth.1)
                    .multipart(form)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let res = upload(("cookie", format!("session_token={}", owner.token))).await;
    assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    assert_eq!(std::fs::read_dir(app.files.path()).unwrap().count(), 0);

    let res = upload(("authorization", format!("Bearer {}", owner.token))).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}

#[tokio::test]
async fn signing_in_from_a_foreign_page_is_refused() {
    let app = spawn_app().await;
    app.sign_up("ann@example.com").await;
    let sign_in = json!({"email": "ann@example.com", "password": PASSWORD});
    let res = send(
        &app,
        Method::POST,
        "/api/auth/sign-in/email",
        &[("origin", EVIL)],
        Some(sign_in.clone()),
    )
    .await;
    assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    assert!(res.headers.get("set-cookie").is_none());

    let users = app.count("users").await;
    let res = send(
        &app,
        Method::POST,
        "/api/auth/sign-up/email",
        &[("origin", EVIL)],
        Some(json!({"name": "Eve", "email": "eve@example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    assert_eq!(app.count("users").await, users);

    let own = app.address.clone();
    for headers in [vec![("origin", own.as_str())], vec![]] {
        let res = send(
            &app,
            Method::POST,
            "/api/auth/sign-in/email",
            &headers,
            Some(sign_in.clone()),
        )
        .await;
        assert_eq!(res.status, 200, "{headers:?}: {:?}", res.body);
    }
}

#[tokio::test]
async fn a_metrics_token_guards_metrics() {
    let app = spawn_app_with(Options {
        config: Box::new(|c| c.metrics.token = Some(Secret::new(METRICS_TOKEN))),
        ..Default::default()
    })
    .await;
    let res = send(&app, Method::GET, "/metrics", &[], None).await;
    assert_eq!((res.status.as_u16(), res.code()), (401, "unauthorized"));
    let wrong = [("authorization", "Bearer metrics-token-for-tests-0124")];
    let res = send(&app, Method::GET, "/metrics", &wrong, None).await;
    assert_eq!(res.status, 401);
    let right = format!("Bearer {METRICS_TOKEN}");
    let res = send(
        &app,
        Method::GET,
        "/metrics",
        &[("authorization", &right)],
        None,
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(res.body.as_str().unwrap().contains("http_requests_total"));
}

#[tokio::test]
async fn production_without_metrics_settings_does_not_serve_metrics() {
    let app = spawn_app_with(Options {
        config: Box::new(|c| c.mode = Mode::Production),
        ..Default::default()
    })
    .await;
    let res = send(&app, Method::GET, "/metrics", &[], None).await;
    assert_eq!((res.status.as_u16(), res.code()), (404, "not_found"));
    let res = send(&app, Method::GET, "/healthz", &[], None).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn metrics_can_have_a_listener_of_their_own() {
    for token in [None, Some(METRICS_TOKEN)] {
        let app = spawn_app_with(Options {
            config: Box::new(move |c| {
                c.metrics.addr = Some("127.0.0.1:0".parse().unwrap());
                c.metrics.token = token.map(Secret::new);
            }),
            ..Default::default()
        })
        .await;
        let res = send(&app, Method::GET, "/metrics", &[], None).await;
        assert_eq!((res.status.as_u16(), res.code()), (404, "not_found"));

        let metrics = app.metrics_address.clone().expect("a metrics listener");
        let get = |path: &str, bearer: Option<&str>| {
            let mut req = app.http.get(format!("{metrics}{path}"));
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            async move { read(req.send().await.unwrap()).await }
        };
        let res = get("/metrics", token).await;
        assert_eq!(res.status, 200, "{token:?}");
        assert!(
            res.body
                .as_str()
                .unwrap()
                .contains("db_pool_max_connections")
        );
        assert_eq!(get("/api/partners", token).await.status, 404);
        if token.is_some() {
            assert_eq!(get("/metrics", None).await.status, 401);
        }
    }
}
