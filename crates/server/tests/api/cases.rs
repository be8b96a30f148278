//! Table-driven refusals shared by the area tests: a case is a request and the error it must
//! get (status, code, a sentence, no internals, a request id, the field at fault), and a
//! refused request changes no row.

use super::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Substrings that betray an internal error leaking into a response body.
const LEAKS: [&str; 6] = [
    "diesel",
    "panicked",
    "SELECT",
    "INSERT INTO",
    "tokio_postgres",
    "src/",
];

/// Tables whose row counts must not move when a request is refused.
const TABLES: [&str; 10] = [
    "users",
    "organizations",
    "members",
    "partners",
    "partner_contacts",
    "sessions",
    "api_keys",
    "invitations",
    "events",
    "rate_limit_hits",
];

/// What is wrong with an error response, if anything: status, code, a non-empty sentence, no
/// internals, a request id.
pub(crate) fn error_problem(res: &Res, status: u16, code: &str, what: &str) -> Option<String> {
    let text = res.body.to_string();
    let error = res.body["error"].as_str().unwrap_or_default();
    if res.status.as_u16() != status || res.code() != code {
        let got = res.status.as_u16();
        let short: String = text.chars().take(300).collect();
        Some(format!(
            "{what}: expected {status} {code}, got {got} {short}"
        ))
    } else if error.trim().is_empty() {
        Some(format!("{what}: no error sentence: {text}"))
    } else if let Some(leak) = LEAKS.iter().find(|l| text.contains(*l)) {
        Some(format!("{what}: body leaks {leak:?}: {text}"))
    } else if !res.headers.contains_key("x-request-id") {
        Some(format!("{what}: no x-request-id"))
    } else {
        None
    }
}

/// Asserts a well-formed error (see [`error_problem`]).
#[track_caller]
pub(crate) fn assert_error(res: &Res, status: u16, code: &str, what: &str) {
    if let Some(problem) = error_problem(res, status, code, what) {
        panic!("{problem}");
    }
}

/// The field named by the first detail of a validation error.
pub(crate) fn first_field(res: &Res) -> Option<&str> {
    res.body["details"][0]["field"].as_str()
}

/// Row counts of [`TABLES`], in one query.
pub(crate) async fn snapshot(app: &TestApp) -> Vec<(&'static str, i64)> {
    let sql = TABLES
        .iter()
        .map(|t| format!("(SELECT count(*) FROM {t})"))
        .collect::<Vec<_>>()
        .join(", ");
    let client = app.db.client().await;
    let row = client
        .query_one(&format!("SELECT {sql}"), &[])
        .await
        .expect("counts");
    TABLES
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, row.get::<_, i64>(i)))
        .collect()
}

/// The user id behind a session token.
pub(crate) async fn user_id(app: &TestApp, token: &str) -> String {
    let res = app.get("/api/auth/get-session", token).await;
    assert_eq!(res.status, 200, "get-session: {:?}", res.body);
    res.body["user"]["id"].as_str().unwrap().to_owned()
}

/// The ids of the partners the token's organization lists (first page of 100).
pub(crate) async fn listed_ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let res = app
        .get(&format!("/api/partners?limit=100{query}"), token)
        .await;
    assert_eq!(res.status, 200, "list: {:?}", res.body);
    res.body["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn contact(tag: &str) -> Value {
    json!({"firstName": "Cy", "lastName": "Contact", "email": format!("c-{tag}@example.com")})
}

/// What a case sends.
pub(crate) enum Body {
    None,
    Json(Value),
    /// A content type and the bytes as they are.
    Raw(&'static str, Vec<u8>),
}

pub(crate) struct Case {
    label: String,
    method: Method,
    path: String,
    body: Body,
    status: u16,
    code: &'static str,
    /// The expected `details[0].field`, when the case names one.
    field: Option<&'static str>,
}

pub(crate) const SIGN_IN: &str = "/api/auth/sign-in/email";
pub(crate) const JSON: &str = "application/json";

pub(crate) fn case(
    label: impl Into<String>,
    method: &Method,
    path: &str,
    body: Body,
    (status, code): (u16, &'static str),
    field: Option<&'static str>,
) -> Case {
    Case {
        label: label.into(),
        method: method.clone(),
        path: path.to_owned(),
        body,
        status,
        code,
        field,
    }
}

pub(crate) fn invalid(
    label: String,
    method: &Method,
    path: &str,
    body: Value,
    field: &'static str,
) -> Case {
    let body = Body::Json(body);
    case(
        label,
        method,
        path,
        body,
        (400, "validation_failed"),
        Some(field),
    )
}

pub(crate) fn valid_partner() -> Value {
    json!({"name": "Valid", "type": "technology", "primaryContact": contact("valid")})
}

pub(crate) fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

pub(crate) fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

/// Sends a case, with the token unless it is a sign-in.
pub(crate) async fn send(app: &TestApp, token: &str, c: &Case) -> Res {
    let token = (c.path != SIGN_IN).then_some(token);
    let m = c.method.clone();
    match &c.body {
        Body::None => app.call(m, &c.path, token, None).await,
        Body::Json(v) => app.call(m, &c.path, token, Some(v.clone())).await,
        Body::Raw(ct, bytes) => app.raw(m, &c.path, token, ct, bytes.clone()).await,
    }
}

/// What is wrong with the answer to a case, if anything.
pub(crate) fn check(c: &Case, res: &Res) -> Option<String> {
    if let Some(problem) = error_problem(res, c.status, c.code, &c.label) {
        return Some(problem);
    }
    let details = res.body["details"].as_array();
    if c.code == "validation_failed" && details.is_none_or(|d| d.is_empty()) {
        return Some(format!("{}: no details {}", c.label, res.body));
    }
    match c.field {
        Some(field) if first_field(res) != Some(field) => Some(format!(
            "{}: expected field {field}, got {}",
            c.label, res.body
        )),
        _ => None,
    }
}

/// Runs cases one by one, asserting the answer and that no row count moved; after each, the
/// owner's session is pointed back at its organization in case a case created another one.
pub(crate) async fn run_cases(app: &TestApp, owner: &Owner, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for c in cases {
        let before = snapshot(app).await;
        let res = send(app, &owner.token, c).await;
        failures.extend(check(c, &res));
        let after = snapshot(app).await;
        if after != before {
            failures.push(format!("{}: rows changed {before:?} -> {after:?}", c.label));
            let back = json!({"organizationId": owner.organization_id});
            let set_active = "/api/auth/organization/set-active";
            app.post(set_active, Some(&owner.token), back).await;
        }
    }
    failures
}

/// Runs the cases (see [`run_cases`]) and fails with every problem found.
pub(crate) async fn assert_cases(app: &TestApp, owner: &Owner, cases: &[Case]) {
    let failures = run_cases(app, owner, cases).await;
    assert!(
        failures.is_empty(),
        "{} problems in {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
