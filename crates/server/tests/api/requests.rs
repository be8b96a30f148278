//! How every endpoint treats the request itself, whatever it asks for: bodies that are not
//! JSON, not an object, of another media type or too large are refused the same way on every
//! JSON endpoint and change nothing; every response carries a request id. (The variants of a
//! syntax error are unit-tested with the JSON extractor in the HTTP crate.)

use super::cases::*;
use super::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

/// An owner with a partner, an account that signs in, and every JSON endpoint with a field it
/// knows and a valid body.
struct Endpoints {
    app: TestApp,
    owner: Owner,
    partner: Value,
    partner_path: String,
}

impl Endpoints {
    async fn new() -> Self {
        let app = spawn_app().await;
        let owner = app.owner("bad").await;
        app.sign_up("signin-bad@example.com").await;
        let partner = app
            .create_partner(&owner.token, "Stable", Some("stable.example"))
            .await;
        let partner_path = format!("/api/partners/{}", partner["id"].as_str().unwrap());
        app.clock.advance(chrono::Duration::minutes(5));
        Self {
            app,
            owner,
            partner,
            partner_path,
        }
    }

    /// Method, path, a key the endpoint knows (so a syntax error is the first problem the
    /// parser meets), and a valid body.
    fn json_endpoints(&self) -> Vec<(Method, &str, &'static str, Value)> {
        vec![
            (Method::POST, "/api/partners", "name", valid_partner()),
            (
                Method::PATCH,
                self.partner_path.as_str(),
                "name",
                json!({"name": "Fine"}),
            ),
            (
                Method::POST,
                SIGN_IN,
                "email",
                json!({"email": "signin-bad@example.com", "password": PASSWORD}),
            ),
            (
                Method::POST,
                "/api/organizations",
                "name",
                json!({"name": "Fine Org"}),
            ),
            (
                Method::POST,
                "/api/organizations/members",
                "email",
                json!({"email": "fine@example.com", "role": "member"}),
            ),
        ]
    }

    /// Runs the cases; then the partner is as it was, and the account still signs in (no
    /// refused sign-in counted as a failure).
    async fn assert_refused(&self, cases: &[Case]) {
        assert_cases(&self.app, &self.owner, cases).await;
        let res = self.app.get(&self.partner_path, &self.owner.token).await;
        assert_eq!(res.body["partner"], self.partner, "the partner changed");
        let res = self.app.sign_in("signin-bad@example.com", PASSWORD).await;
        assert_eq!(res.status, 200, "sign-in after bad input: {:?}", res.body);
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_invalid_json_on_every_json_endpoint() {
    let e = Endpoints::new().await;
    let invalid_json = (400, "invalid_json");
    let mut cases = Vec::new();
    for (method, path, key, good) in e.json_endpoints() {
        let mut bad_utf8 = format!("{{\"{key}\": \"").into_bytes();
        bad_utf8.extend_from_slice(b"\xff\xfe\"}");
        for (label, bytes) in [
            ("truncated JSON", format!("{{\"{key}\":").into_bytes()),
            // A key the endpoint does not know changes nothing: the syntax comes first.
            ("truncated JSON, unknown key", b"{\"sneaky\":".to_vec()),
            ("empty body", vec![]),
            ("invalid UTF-8", bad_utf8),
            // Trailing characters are not ignored (they once were: the PATCH was applied).
            ("trailing characters", format!("{good} x").into_bytes()),
        ] {
            let label = format!("{method} {path} {label}");
            cases.push(case(
                label,
                &method,
                path,
                Body::Raw(JSON, bytes),
                invalid_json,
                None,
            ));
        }
    }
    e.assert_refused(&cases).await;
}

#[tokio::test]
async fn json_that_is_not_an_object_of_known_keys_is_a_validation_failure() {
    let e = Endpoints::new().await;
    let validation = (400, "validation_failed");
    let mut cases = Vec::new();
    for (method, path, _, good) in e.json_endpoints() {
        for (label, body, field) in [
            ("JSON array", json!([good.clone()]), None),
            ("JSON null", Value::Null, None),
            ("JSON string", json!("hello"), None),
            (
                "unknown key",
                with(good.clone(), "sneaky", json!(1)),
                Some("sneaky"),
            ),
        ] {
            let label = format!("{method} {path} {label}");
            cases.push(case(
                label,
                &method,
                path,
                Body::Json(body),
                validation,
                field,
            ));
        }
    }
    e.assert_refused(&cases).await;
}

#[tokio::test]
async fn a_body_of_another_media_type_is_unsupported() {
    let e = Endpoints::new().await;
    let unsupported = (415, "unsupported_media_type");
    let mut cases = Vec::new();
    for (method, path, _, good) in e.json_endpoints() {
        let text = good.to_string().into_bytes();
        for (label, ct, bytes) in [
            ("text/plain", "text/plain", text.clone()),
            ("form", "application/x-www-form-urlencoded", b"a=b".to_vec()),
            ("no content type", "", text),
        ] {
            let label = format!("{method} {path} {label}");
            cases.push(case(
                label,
                &method,
                path,
                Body::Raw(ct, bytes),
                unsupported,
                None,
            ));
        }
    }
    e.assert_refused(&cases).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_too_large_and_one_under_it_is_read() {
    let e = Endpoints::new().await;
    let too_large = (413, "payload_too_large");
    let big = json!("x".repeat(70_000));
    let mut cases = Vec::new();
    for (method, path, key, good) in e.json_endpoints() {
        let bytes = with(good, key, big.clone()).to_string().into_bytes();
        let label = format!("{method} {path} 70 000 chars");
        cases.push(case(
            label,
            &method,
            path,
            Body::Raw(JSON, bytes),
            too_large,
            None,
        ));
    }
    e.assert_refused(&cases).await;

    // Just under the limit, the body is read, and refused for its content, not its size.
    let res = e
        .app
        .post(
            "/api/partners",
            Some(&e.owner.token),
            with(valid_partner(), "name", json!("y".repeat(60_000))),
        )
        .await;
    assert_error(&res, 400, "validation_failed", "60 000-char name");
    assert_eq!(first_field(&res), Some("name"));
}

/// Method, path, token, body, expected status.
type Request<'a> = (Method, String, Option<&'a str>, Option<Value>, u16);

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let owner = app.owner("rid").await;
    let t = Some(owner.token.as_str());
    let requests: Vec<Request<'_>> = vec![
        (Method::GET, "/healthz".into(), None, None, 200),
        (Method::GET, "/api/partners".into(), t, None, 200),
        (
            Method::POST,
            "/api/partners".into(),
            t,
            Some(valid_partner()),
            201,
        ),
        (
            Method::POST,
            "/api/partners".into(),
            t,
            Some(json!({"name": 5})),
            400,
        ),
        (Method::GET, "/api/partners/not-a-uuid".into(), t, None, 400),
        (Method::GET, "/api/partners".into(), None, None, 401),
        (
            Method::GET,
            "/api/partners".into(),
            Some("bogus-token"),
            None,
            401,
        ),
        (
            Method::GET,
            format!("/api/partners/{}", uuid::Uuid::new_v4()),
            t,
            None,
            404,
        ),
        (Method::GET, "/api/no-such-route".into(), t, None, 404),
        (Method::PUT, "/api/partners".into(), t, Some(json!({})), 404),
    ];
    let mut seen = std::collections::HashSet::new();
    for (method, path, token, body, status) in requests {
        let what = format!("{method} {path}");
        let res = app.call(method.clone(), &path, token, body.clone()).await;
        assert_eq!(res.status.as_u16(), status, "{what}: {:?}", res.body);
        let id = res
            .headers
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{what}: no x-request-id"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!id.is_empty(), "{what}");
        assert!(seen.insert(id.clone()), "{what}: request id {id} reused");

        // A client id is echoed, on successes and failures alike.
        let mut req = app
            .http
            .request(method, format!("{}{path}", app.address))
            .header("x-request-id", "abc-123");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{what} with a client id");
        assert_eq!(
            res.headers()["x-request-id"],
            "abc-123",
            "{what}: not echoed"
        );
    }
}

#[tokio::test]
async fn refused_bodies_carry_the_client_request_id_too() {
    let app = spawn_app().await;
    let owner = app.owner("rid").await;
    for (ct, body, status) in [
        ("application/json", vec![b'{'; 70_000], 413),
        ("text/plain", b"{}".to_vec(), 415),
        ("application/json", b"{\"name\":".to_vec(), 400),
    ] {
        let res = app
            .http
            .post(format!("{}/api/partners", app.address))
            .bearer_auth(&owner.token)
            .header("content-type", ct)
            .header("x-request-id", "abc-123")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status);
        assert_eq!(res.headers()["x-request-id"], "abc-123", "{ct} {status}");
    }
}

#[tokio::test]
async fn a_request_id_that_could_poison_logs_is_replaced_not_echoed() {
    let app = spawn_app().await;
    for bad in ["has space", "x".repeat(200).as_str(), "a\"b", "<script>"] {
        let res = app
            .http
            .get(format!("{}/healthz", app.address))
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap();
        assert!(!id.is_empty() && id != bad, "{bad:?} echoed");
    }
}
