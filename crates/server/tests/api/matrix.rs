//! Table-driven matrices: tenancy isolation, roles, bad input, request ids and concurrent
//! duplicates. One application per test function.

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
fn error_problem(res: &Res, status: u16, code: &str, what: &str) -> Option<String> {
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
fn assert_error(res: &Res, status: u16, code: &str, what: &str) {
    if let Some(problem) = error_problem(res, status, code, what) {
        panic!("{problem}");
    }
}

/// The field named by the first detail of a validation error.
fn first_field(res: &Res) -> Option<&str> {
    res.body["details"][0]["field"].as_str()
}

/// Row counts of [`TABLES`], in one query.
async fn snapshot(app: &TestApp) -> Vec<(&'static str, i64)> {
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
async fn user_id(app: &TestApp, token: &str) -> String {
    let res = app.get("/api/auth/get-session", token).await;
    assert_eq!(res.status, 200, "get-session: {:?}", res.body);
    res.body["user"]["id"].as_str().unwrap().to_owned()
}

/// The ids of the partners the token's organization lists (first page of 100).
async fn listed_ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
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

fn contact(tag: &str) -> Value {
    json!({"firstName": "Cy", "lastName": "Contact", "email": format!("c-{tag}@example.com")})
}

// ---------------------------------------------------------------------------------------------
// 1. Cross-organization isolation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_organization_sees_not_found_and_changes_nothing() {
    let app = spawn_app().await;
    let a = app.owner("xa").await;
    let b = app.owner("xb").await;
    let b_member = app.member(&b, "member", "xb").await;
    let b_admin = app.member(&b, "admin", "xb").await;
    let partner = app.create_partner(&a.token, "Acme", Some("acme.com")).await;
    let id = partner["id"].as_str().unwrap().to_owned();
    let path = format!("/api/partners/{id}");
    // Any write that got through would stamp a later updatedAt.
    app.clock.advance(chrono::Duration::minutes(5));
    let before = snapshot(&app).await;

    for (who, token) in [
        ("owner B", b.token.as_str()),
        ("admin B", b_admin.as_str()),
        ("member B", b_member.as_str()),
    ] {
        let res = app.get(&path, token).await;
        assert_error(&res, 404, "not_found", &format!("{who} GET"));
        let res = app
            .patch(
                &path,
                token,
                json!({"name": "Hijacked", "stage": "churned"}),
            )
            .await;
        assert_error(&res, 404, "not_found", &format!("{who} PATCH"));
        let res = app.patch(&path, token, json!({})).await;
        assert_error(&res, 404, "not_found", &format!("{who} empty PATCH"));
        let res = app.delete(&path, token).await;
        assert_error(&res, 404, "not_found", &format!("{who} DELETE"));
        // Not listed, not even when searched for.
        for query in ["", "&q=acme", "&type=technology", "&stage=prospect"] {
            let ids = listed_ids(&app, token, query).await;
            assert!(!ids.contains(&id), "{who} lists A's partner with {query:?}");
        }
        // The session cannot be pointed at A's organization either.
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

    // A's manager is not an internal member of B.
    let a_user = user_id(&app, &a.token).await;
    let res = app
        .post(
            "/api/partners",
            Some(&b.token),
            json!({"name": "Sneaky", "type": "technology", "managerId": a_user,
                   "primaryContact": contact("sneaky")}),
        )
        .await;
    assert_error(
        &res,
        400,
        "validation_failed",
        "B names A's owner as manager",
    );
    assert_eq!(first_field(&res), Some("managerId"));

    // Unknown but well-formed ids are 404 for everyone, the owner included.
    for (who, token) in [
        ("owner A", a.token.as_str()),
        ("member B", b_member.as_str()),
    ] {
        for unknown in [
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::nil().to_string(),
            "ffffffff-ffff-ffff-ffff-ffffffffffff".to_owned(),
        ] {
            let p = format!("/api/partners/{unknown}");
            assert_error(
                &app.get(&p, token).await,
                404,
                "not_found",
                &format!("{who} GET {unknown}"),
            );
            let res = app.patch(&p, token, json!({"name": "Ghost"})).await;
            assert_error(&res, 404, "not_found", &format!("{who} PATCH {unknown}"));
            let res = app.delete(&p, token).await;
            assert_error(&res, 404, "not_found", &format!("{who} DELETE {unknown}"));
        }
    }

    // P is exactly as it was.
    let res = app.get(&path, &a.token).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"], partner, "A's partner changed");
    assert_eq!(res.body["partner"]["name"], "Acme");
    assert_eq!(res.body["partner"]["updatedAt"], partner["updatedAt"]);
    assert!(listed_ids(&app, &a.token, "").await.contains(&id));

    // Domains are unique per organization only: B may have its own acme.com, and the two stay apart.
    let theirs = app
        .create_partner(&b.token, "Acme (B)", Some("acme.com"))
        .await;
    assert_ne!(theirs["id"], partner["id"]);
    let b_ids = listed_ids(&app, &b_member, "&q=acme").await;
    assert_eq!(b_ids, vec![theirs["id"].as_str().unwrap().to_owned()]);
    let a_ids = listed_ids(&app, &a.token, "&q=acme").await;
    assert_eq!(a_ids, vec![id.clone()]);
    // B deleting its own acme.com leaves A's alone.
    let res = app
        .delete(
            &format!("/api/partners/{}", theirs["id"].as_str().unwrap()),
            &b.token,
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.get(&path, &a.token).await;
    assert_eq!(res.body["partner"], partner);
}

// ---------------------------------------------------------------------------------------------
// 2. Roles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn roles_are_enforced_on_partners_members_and_api_keys() {
    let app = spawn_app().await;
    let owner = app.owner("roles").await;
    let admin = app.member(&owner, "admin", "roles").await;
    let member = app.member(&owner, "member", "roles").await;
    let viewer = app.member(&owner, "viewer", "roles").await;
    let (portal, own_partner_id) = app.partner_user(&owner, "roles").await;
    let target = app.member(&owner, "member", "target").await;
    let target_id = user_id(&app, &target).await;
    let owner_id = user_id(&app, &owner.token).await;

    let partner = app
        .create_partner(&owner.token, "Target Co", Some("target.example"))
        .await;
    let pid = partner["id"].as_str().unwrap().to_owned();
    let ppath = format!("/api/partners/{pid}");
    let key = app
        .post(
            "/api/api-keys",
            Some(&owner.token),
            json!({"name": "ci", "role": "viewer"}),
        )
        .await;
    assert_eq!(key.status, 201, "{:?}", key.body);
    let key_id = key.body["apiKey"]["id"].as_str().unwrap().to_owned();
    let members_before = app
        .get("/api/organizations/members", &owner.token)
        .await
        .body;
    app.clock.advance(chrono::Duration::minutes(5));
    let before = snapshot(&app).await;

    // Refused writes on partners, for viewer and partner.
    for (who, token) in [("viewer", viewer.as_str()), ("partner", portal.as_str())] {
        let res = app
            .post(
                "/api/partners",
                Some(token),
                json!({"name": "Nope", "type": "technology", "primaryContact": contact(who)}),
            )
            .await;
        assert_error(&res, 403, "forbidden", &format!("{who} POST /api/partners"));
        let res = app.patch(&ppath, token, json!({"name": "Renamed"})).await;
        assert_error(&res, 403, "forbidden", &format!("{who} PATCH partner"));
        let res = app.delete(&ppath, token).await;
        assert_error(&res, 403, "forbidden", &format!("{who} DELETE partner"));
    }
    // Reads: the viewer may, the portal user may not (not even its own record).
    assert_eq!(app.get("/api/partners", &viewer).await.status, 200);
    let res = app.get(&ppath, &viewer).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"], partner);
    for path in [
        "/api/partners".to_owned(),
        "/api/partners?limit=5".to_owned(),
        ppath.clone(),
        format!("/api/partners/{own_partner_id}"),
    ] {
        let res = app.get(&path, &portal).await;
        assert_error(&res, 403, "forbidden", &format!("partner GET {path}"));
    }

    // Member and key management: owner/admin only.
    let mpath = format!("/api/organizations/members/{target_id}");
    for (who, token) in [
        ("member", member.as_str()),
        ("viewer", viewer.as_str()),
        ("partner", portal.as_str()),
    ] {
        let cases: [(Method, &str, Option<Value>); 7] = [
            (Method::GET, "/api/organizations/members", None),
            (
                Method::POST,
                "/api/organizations/members",
                Some(json!({"email": format!("new-{who}@example.com"), "role": "viewer"})),
            ),
            (Method::PATCH, &mpath, Some(json!({"role": "admin"}))),
            (Method::DELETE, &mpath, None),
            (
                Method::POST,
                "/api/api-keys",
                Some(json!({"name": "mine", "role": "viewer"})),
            ),
            (Method::GET, "/api/api-keys", None),
            (Method::DELETE, &format!("/api/api-keys/{key_id}"), None),
        ];
        for (method, path, body) in cases {
            let what = format!("{who} {method} {path}");
            let res = app.call(method, path, Some(token), body).await;
            assert_error(&res, 403, "forbidden", &what);
        }
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "a refused request changed rows"
    );
    let res = app.get(&ppath, &owner.token).await;
    assert_eq!(res.body["partner"], partner, "the partner changed");
    assert_eq!(
        app.get("/api/organizations/members", &owner.token)
            .await
            .body,
        members_before,
        "membership changed"
    );
    let keys = app.get("/api/api-keys", &owner.token).await;
    assert_eq!(keys.body["apiKeys"].as_array().unwrap().len(), 1);

    // The admin manages members and keys.
    let res = app.get("/api/organizations/members", &admin).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert!(res.body["members"].as_array().unwrap().len() >= 6);
    app.sign_up("existing-roles@example.com").await;
    let res = app
        .post(
            "/api/organizations/members",
            Some(&admin),
            json!({"email": "existing-roles@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert_eq!(res.body["invitation"]["role"], "member");
    let res = app
        .post(
            "/api/organizations/members",
            Some(&admin),
            json!({"email": "invitee-roles@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert!(res.body["invitation"].is_object() && res.body["token"].is_null());
    let res = app.patch(&mpath, &admin, json!({"role": "viewer"})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["member"]["role"], "viewer");
    let res = app.delete(&mpath, &admin).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["success"], true);
    // ...but not owners: granting, demoting or removing one is the owners' business.
    let res = app
        .post(
            "/api/organizations/members",
            Some(&admin),
            json!({"email": "other-owner@example.com", "role": "owner"}),
        )
        .await;
    assert_error(&res, 403, "forbidden", "admin grants owner");
    let opath = format!("/api/organizations/members/{owner_id}");
    let res = app.patch(&opath, &admin, json!({"role": "viewer"})).await;
    assert_error(&res, 403, "forbidden", "admin demotes the owner");
    let res = app.delete(&opath, &admin).await;
    assert_error(&res, 403, "forbidden", "admin removes the owner");
    let res = app
        .post(
            "/api/api-keys",
            Some(&admin),
            json!({"name": "admin-key", "role": "member"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert!(res.body["key"].as_str().is_some_and(|k| !k.is_empty()));
    let res = app.get("/api/api-keys", &admin).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["apiKeys"].as_array().unwrap().len(), 2);
    let res = app.delete(&format!("/api/api-keys/{key_id}"), &admin).await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    // The member writes partners.
    let res = app
        .post(
            "/api/partners",
            Some(&member),
            json!({"name": "By Member", "domain": "by-member.example", "type": "consulting",
                   "primaryContact": contact("by-member")}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let mine = format!(
        "/api/partners/{}",
        res.body["partner"]["id"].as_str().unwrap()
    );
    let res = app
        .patch(
            &mine,
            &member,
            json!({"name": "By Member 2", "stage": "active"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"]["name"], "By Member 2");
    assert_eq!(res.body["partner"]["stage"], "active");
    let res = app.patch(&ppath, &member, json!({"tier": "Gold"})).await;
    assert_eq!(
        res.status, 200,
        "member edits the owner's partner: {:?}",
        res.body
    );
    let res = app.delete(&mine, &member).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["success"], true);
    assert_error(
        &app.get(&mine, &member).await,
        404,
        "not_found",
        "deleted partner",
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Bad input
// ---------------------------------------------------------------------------------------------

enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

struct Case {
    label: String,
    method: Method,
    path: String,
    body: Body,
    status: u16,
    code: &'static str,
    /// The expected `details[0].field`, when the case names one.
    field: Option<&'static str>,
}

const SIGN_IN: &str = "/api/auth/sign-in/email";
const JSON: &str = "application/json";

fn case(
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

fn invalid(label: String, method: &Method, path: &str, body: Value, field: &'static str) -> Case {
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

fn valid_partner() -> Value {
    json!({"name": "Valid", "type": "technology", "primaryContact": contact("valid")})
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

/// Sends a case, with the token unless it is a sign-in.
async fn send(app: &TestApp, token: &str, c: &Case) -> Res {
    let token = (c.path != SIGN_IN).then_some(token);
    let m = c.method.clone();
    match &c.body {
        Body::None => app.call(m, &c.path, token, None).await,
        Body::Json(v) => app.call(m, &c.path, token, Some(v.clone())).await,
        Body::Raw(ct, bytes) => app.raw(m, &c.path, token, ct, bytes.clone()).await,
    }
}

/// What is wrong with the answer to a case, if anything.
fn check(c: &Case, res: &Res) -> Option<String> {
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
async fn run_cases(app: &TestApp, owner: &Owner, cases: &[Case]) -> Vec<String> {
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

#[tokio::test]
async fn bad_input_is_refused_precisely_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.owner("bad").await;
    app.sign_up("signin-bad@example.com").await;
    let partner = app
        .create_partner(&owner.token, "Stable", Some("stable.example"))
        .await;
    let id = partner["id"].as_str().unwrap().to_owned();
    let p = format!("/api/partners/{id}");
    let p = p.as_str();
    app.clock.advance(chrono::Duration::minutes(5));

    let (post, patch, get, delete) = (Method::POST, Method::PATCH, Method::GET, Method::DELETE);
    let create = "/api/partners";
    let orgs = "/api/organizations";
    let members = "/api/organizations/members";
    let big = json!("x".repeat(70_000));
    let validation = (400, "validation_failed");

    let mut cases = Vec::new();
    // Transport-level failures, the same on every JSON endpoint. `key` is a field the endpoint
    // knows, so the syntax error is the first problem the parser meets.
    for (method, path, key, good) in [
        (&post, create, "name", valid_partner()),
        (&patch, p, "name", json!({"name": "Fine"})),
        (
            &post,
            SIGN_IN,
            "email",
            json!({"email": "signin-bad@example.com", "password": PASSWORD}),
        ),
        (&post, orgs, "name", json!({"name": "Fine Org"})),
        (
            &post,
            members,
            "email",
            json!({"email": "fine@example.com", "role": "member"}),
        ),
    ] {
        let text = good.to_string().into_bytes();
        for (label, ct, bytes, expected) in [
            (
                "truncated JSON",
                JSON,
                format!("{{\"{key}\":").into_bytes(),
                (400, "invalid_json"),
            ),
            (
                "not UTF-8",
                JSON,
                format!("{{\"{key}\": \"\u{1}").into_bytes(),
                (400, "invalid_json"),
            ),
            (
                "bad escape",
                JSON,
                format!("{{\"{key}\": \"\\q\"}}").into_bytes(),
                (400, "invalid_json"),
            ),
            ("empty body", JSON, vec![], (400, "invalid_json")),
            (
                "whitespace body",
                JSON,
                b"  \n".to_vec(),
                (400, "invalid_json"),
            ),
            (
                "text/plain",
                "text/plain",
                text.clone(),
                (415, "unsupported_media_type"),
            ),
            (
                "form",
                "application/x-www-form-urlencoded",
                b"a=b".to_vec(),
                (415, "unsupported_media_type"),
            ),
            (
                "no content type",
                "",
                text.clone(),
                (415, "unsupported_media_type"),
            ),
            (
                "70 000 chars",
                JSON,
                with(good.clone(), key, big.clone())
                    .to_string()
                    .into_bytes(),
                (413, "payload_too_large"),
            ),
        ] {
            let label = format!("{method} {path} {label}");
            cases.push(case(
                label,
                method,
                path,
                Body::Raw(ct, bytes),
                expected,
                None,
            ));
        }
        // Raw invalid UTF-8 inside a string.
        let mut bytes = format!("{{\"{key}\": \"").into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\"}");
        let label = format!("{method} {path} invalid UTF-8");
        cases.push(case(
            label,
            method,
            path,
            Body::Raw(JSON, bytes),
            (400, "invalid_json"),
            None,
        ));
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
                method,
                path,
                Body::Json(body),
                validation,
                field,
            ));
        }
    }

    // POST /api/partners
    let vp = valid_partner;
    let cc =
        |first: Value, email: Value| json!({"firstName": first, "lastName": "B", "email": email});
    for (label, body, field) in [
        ("name is a number", with(vp(), "name", json!(5)), "name"),
        ("name empty", with(vp(), "name", json!("")), "name"),
        ("name blank", with(vp(), "name", json!("   ")), "name"),
        (
            "name 201 chars",
            with(vp(), "name", json!("n".repeat(201))),
            "name",
        ),
        (
            "name with a NUL",
            with(vp(), "name", json!("a\u{0}b")),
            "name",
        ),
        ("name null", with(vp(), "name", Value::Null), "name"),
        ("no name", without(vp(), "name"), "name"),
        ("no type", without(vp(), "type"), "type"),
        (
            "primaryContact a string",
            with(vp(), "primaryContact", json!("x")),
            "primaryContact",
        ),
        (
            "primaryContact null",
            with(vp(), "primaryContact", Value::Null),
            "primaryContact",
        ),
        (
            "primaryContact an array",
            with(vp(), "primaryContact", json!([])),
            "primaryContact",
        ),
        (
            "no primaryContact",
            without(vp(), "primaryContact"),
            "primaryContact",
        ),
        (
            "contact email invalid",
            with(vp(), "primaryContact", cc(json!("A"), json!("nope"))),
            "primaryContact.email",
        ),
        (
            "contact email a number",
            with(vp(), "primaryContact", cc(json!("A"), json!(1))),
            "primaryContact.email",
        ),
        (
            "contact firstName a number",
            with(vp(), "primaryContact", cc(json!(1), json!("a@example.com"))),
            "primaryContact.firstName",
        ),
        (
            "contact firstName blank",
            with(
                vp(),
                "primaryContact",
                cc(json!(" "), json!("a@example.com")),
            ),
            "primaryContact.firstName",
        ),
        (
            "contact unknown key",
            with(
                vp(),
                "primaryContact",
                with(cc(json!("A"), json!("a@example.com")), "phone", json!("1")),
            ),
            "primaryContact.phone",
        ),
        ("type partner", with(vp(), "type", json!("partner")), "type"),
        (
            "type upper case",
            with(vp(), "type", json!("TECHNOLOGY")),
            "type",
        ),
        ("type a number", with(vp(), "type", json!(1)), "type"),
        ("stage won", with(vp(), "stage", json!("won")), "stage"),
        (
            "category nope",
            with(vp(), "category", json!("nope")),
            "category",
        ),
        (
            "domain with spaces",
            with(vp(), "domain", json!("not a domain")),
            "domain",
        ),
        (
            "domain localhost",
            with(vp(), "domain", json!("localhost")),
            "domain",
        ),
        (
            "domain an IP",
            with(vp(), "domain", json!("127.0.0.1")),
            "domain",
        ),
        ("domain a number", with(vp(), "domain", json!(42)), "domain"),
        (
            "logoUrl http",
            with(vp(), "logoUrl", json!("http://acme.com/logo.png")),
            "logoUrl",
        ),
        (
            "logoUrl javascript",
            with(vp(), "logoUrl", json!("javascript:alert(1)")),
            "logoUrl",
        ),
        (
            "managerId malformed",
            with(vp(), "managerId", json!("not-a-uuid")),
            "managerId",
        ),
        (
            "managerId unknown",
            with(vp(), "managerId", json!(uuid::Uuid::new_v4())),
            "managerId",
        ),
        (
            "products a string",
            with(vp(), "products", json!("crm")),
            "products",
        ),
        (
            "products of numbers",
            with(vp(), "products", json!([1])),
            "products[0]",
        ),
        (
            "fitScore is server-set",
            with(vp(), "fitScore", json!(90)),
            "fitScore",
        ),
        (
            "id is server-set",
            with(vp(), "id", json!(uuid::Uuid::new_v4())),
            "id",
        ),
        (
            "organizationId is server-set",
            with(vp(), "organizationId", json!(uuid::Uuid::new_v4())),
            "organizationId",
        ),
        (
            "employees is enriched",
            with(vp(), "employees", json!(5)),
            "employees",
        ),
    ] {
        cases.push(invalid(
            format!("create: {label}"),
            &post,
            create,
            body,
            field,
        ));
    }

    // PATCH /api/partners/{id}: server-set keys, alone and next to a valid change.
    let stamp = json!("2020-01-01T00:00:00.000Z");
    for (key, value) in [
        ("id", json!(uuid::Uuid::new_v4())),
        ("organizationId", json!(uuid::Uuid::new_v4())),
        ("fitScore", json!(99)),
        ("aiInsights", json!({"summary": "forged"})),
        ("analyzedAt", stamp.clone()),
        ("createdAt", stamp.clone()),
        ("updatedAt", stamp.clone()),
        (
            "primaryContact",
            json!({"firstName": "A", "lastName": "B", "email": "a@example.com"}),
        ),
        ("employees", json!(10)),
        ("industry", json!("Software")),
    ] {
        let alone = json!({key: value});
        cases.push(invalid(
            format!("patch: {key} alone"),
            &patch,
            p,
            alone,
            key,
        ));
        let mixed = with(json!({"name": "Sneaky"}), key, value);
        cases.push(invalid(
            format!("patch: {key} with a name"),
            &patch,
            p,
            mixed,
            key,
        ));
    }
    for (label, body, field) in [
        ("name is a number", json!({"name": 5}), "name"),
        ("name empty", json!({"name": ""}), "name"),
        ("name with a NUL", json!({"name": "a\u{0}b"}), "name"),
        ("type partner", json!({"type": "partner"}), "type"),
        ("stage won", json!({"stage": "won"}), "stage"),
        ("category nope", json!({"category": "nope"}), "category"),
        (
            "tierSource robot",
            json!({"tierSource": "robot"}),
            "tierSource",
        ),
        (
            "domain with spaces",
            json!({"domain": "not a domain"}),
            "domain",
        ),
        (
            "logoUrl http",
            json!({"logoUrl": "http://acme.com/logo.png"}),
            "logoUrl",
        ),
        (
            "managerId malformed",
            json!({"managerId": "nope"}),
            "managerId",
        ),
        (
            "managerId unknown",
            json!({"managerId": uuid::Uuid::new_v4()}),
            "managerId",
        ),
        (
            "products of numbers",
            json!({"products": [1, 2]}),
            "products[0]",
        ),
        (
            "valid name, bad stage",
            json!({"name": "Half", "stage": "won"}),
            "stage",
        ),
    ] {
        cases.push(invalid(format!("patch: {label}"), &patch, p, body, field));
    }

    // A malformed id in the path is a validation failure on every verb, never 404 or 500.
    for raw_id in [
        "not-a-uuid",
        "123",
        "{id}",
        "00000000-0000-0000-0000-00000000000g",
        "%00",
    ] {
        let path = format!("/api/partners/{raw_id}");
        let f = Some("partnerId");
        cases.push(case(
            format!("GET {path}"),
            &get,
            &path,
            Body::None,
            validation,
            f,
        ));
        let body = Body::Json(json!({"name": "X"}));
        cases.push(case(
            format!("PATCH {path}"),
            &patch,
            &path,
            body,
            validation,
            f,
        ));
        cases.push(case(
            format!("DELETE {path}"),
            &delete,
            &path,
            Body::None,
            validation,
            f,
        ));
    }
    for (path, field) in [
        ("/api/organizations/members/not-a-uuid", "userId"),
        ("/api/api-keys/123", "keyId"),
    ] {
        let label = format!("DELETE {path}");
        cases.push(case(
            label,
            &delete,
            path,
            Body::None,
            validation,
            Some(field),
        ));
    }

    // POST /api/auth/sign-in/email
    let si = || json!({"email": "signin-bad@example.com", "password": PASSWORD});
    for (label, body, field) in [
        ("email is a number", with(si(), "email", json!(5)), "email"),
        ("email null", with(si(), "email", Value::Null), "email"),
        (
            "password is an array",
            with(si(), "password", json!(["x"])),
            "password",
        ),
        ("no password", without(si(), "password"), "password"),
        ("no email", without(si(), "email"), "email"),
    ] {
        cases.push(invalid(
            format!("sign-in: {label}"),
            &post,
            SIGN_IN,
            body,
            field,
        ));
    }

    // POST /api/organizations
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
        cases.push(invalid(format!("org: {label}"), &post, orgs, body, field));
    }

    // POST /api/organizations/members
    for (label, body, field) in [
        (
            "role superuser",
            json!({"email": "x@example.com", "role": "superuser"}),
            "role",
        ),
        (
            "role partner",
            json!({"email": "x@example.com", "role": "partner"}),
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
        cases.push(invalid(
            format!("add member: {label}"),
            &post,
            members,
            body,
            field,
        ));
    }

    // GET /api/partners query parameters.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
        ("type=nope", "type"),
        ("stage=won", "stage"),
        ("limit=1&limit=2", "query"),
    ] {
        let path = format!("/api/partners?{query}");
        cases.push(case(
            format!("GET {path}"),
            &get,
            &path,
            Body::None,
            validation,
            Some(field),
        ));
    }

    let mut failures = run_cases(&app, &owner, &cases).await;
    // The partner is untouched and the user can still sign in (no failure was counted).
    let res = app.get(p, &owner.token).await;
    if res.body["partner"] != partner {
        failures.push(format!("the partner changed: {:?}", res.body));
    }
    let res = app.sign_in("signin-bad@example.com", PASSWORD).await;
    if res.status != 200 {
        failures.push(format!("sign-in after bad input: {:?}", res.body));
    }
    let n = cases.len();
    assert!(
        failures.is_empty(),
        "{} problems in {n} cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Product gaps found by the matrices above, kept apart so the matrices stay green. Each case
/// states the contract (SPEC §1 and §3); see the report for the analysis.
#[tokio::test]
async fn json_syntax_and_nul_bytes_are_refused_as_bad_input() {
    let app = spawn_app().await;
    let owner = app.owner("gaps").await;
    let partner = app
        .create_partner(&owner.token, "Stable", Some("stable.example"))
        .await;
    let p = format!("/api/partners/{}", partner["id"].as_str().unwrap());
    let p = p.as_str();
    app.clock.advance(chrono::Duration::minutes(5));
    let (post, patch, get) = (Method::POST, Method::PATCH, Method::GET);
    let invalid_json = (400, "invalid_json");
    let raw = |s: &str| Body::Raw(JSON, s.as_bytes().to_vec());

    let mut cases = Vec::new();
    // A body that is not JSON is `invalid_json`, whatever key it starts with: the brief's
    // `{"name":` sent to endpoints that do not know `name`.
    for path in [SIGN_IN, "/api/organizations/members"] {
        let label = format!("POST {path} truncated JSON with an unknown key");
        cases.push(case(
            label,
            &post,
            path,
            raw("{\"name\":"),
            invalid_json,
            None,
        ));
    }
    // Trailing characters after the JSON value make the body invalid JSON; they must not be
    // ignored (today the PATCH is applied and the organization created).
    for (method, path, body) in [
        (&post, "/api/partners", valid_partner().to_string()),
        (&patch, p, "{\"name\": \"Trailing\"}".to_owned()),
        (
            &post,
            "/api/organizations",
            "{\"name\": \"Trailing Org\"}".to_owned(),
        ),
        (
            &post,
            SIGN_IN,
            json!({"email": "x@example.com", "password": "y"}).to_string(),
        ),
    ] {
        for tail in [" x", "}", " {}", ","] {
            let label = format!("{method} {path} followed by {tail:?}");
            let body = raw(&format!("{body}{tail}"));
            cases.push(case(label, method, path, body, invalid_json, None));
        }
    }
    // A NUL byte in a list filter is bad input, not a 500 from PostgreSQL.
    for (query, field) in [("q=%00", "q"), ("q=a%00b", "q"), ("tier=%00", "tier")] {
        let path = format!("/api/partners?{query}");
        let validation = (400, "validation_failed");
        cases.push(case(
            format!("GET {path}"),
            &get,
            &path,
            Body::None,
            validation,
            Some(field),
        ));
    }

    let mut failures = run_cases(&app, &owner, &cases).await;
    let res = app.get(p, &owner.token).await;
    if res.body["partner"] != partner {
        failures.push(format!("the partner changed: {}", res.body));
    }
    let n = cases.len();
    assert!(
        failures.is_empty(),
        "{} problems in {n} cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The boundary values that must be accepted, so the refusals above are not blanket refusals.
#[tokio::test]
async fn boundary_input_is_accepted() {
    let app = spawn_app().await;
    let owner = app.owner("edge").await;
    let t = owner.token.as_str();
    for query in [
        "limit=1",
        "limit=100",
        "type=technology",
        "stage=prospect",
        "q=",
        "tier=Gold",
    ] {
        let res = app.get(&format!("/api/partners?{query}"), t).await;
        assert_eq!(res.status, 200, "{query}: {:?}", res.body);
    }
    let res = app
        .raw(
            Method::POST,
            "/api/partners",
            Some(t),
            "application/json; charset=utf-8",
            valid_partner().to_string().into_bytes(),
        )
        .await;
    assert_eq!(res.status, 201, "charset parameter: {:?}", res.body);
    let id = res.body["partner"]["id"].as_str().unwrap().to_owned();
    let upper = uuid::Uuid::parse_str(&id)
        .unwrap()
        .to_string()
        .to_uppercase();
    let res = app.get(&format!("/api/partners/{upper}"), t).await;
    assert_eq!(res.status, 200, "upper-case id: {:?}", res.body);
    let res = app
        .post(
            "/api/partners",
            Some(t),
            json!({"name": "n".repeat(200), "domain": "https://www.Edge.Example/about", "type": "referral",
                   "logoUrl": "https://edge.example/logo.png", "stage": "churned", "category": "sales",
                   "primaryContact": contact("edge")}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert_eq!(res.body["partner"]["domain"], "edge.example");
    // An empty PATCH is a no-op, a null clears a nullable field.
    let path = format!(
        "/api/partners/{}",
        res.body["partner"]["id"].as_str().unwrap()
    );
    let res = app.patch(&path, t, json!({})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app
        .patch(&path, t, json!({"logoUrl": null, "category": null}))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"]["logoUrl"], Value::Null);
    // A body just under the limit is read (and refused for its content, not its size).
    let res = app
        .post(
            "/api/partners",
            Some(t),
            with(valid_partner(), "name", json!("y".repeat(60_000))),
        )
        .await;
    assert_error(&res, 400, "validation_failed", "60 000-char name");
    assert_eq!(first_field(&res), Some("name"));
}

// ---------------------------------------------------------------------------------------------
// 4. Request ids
// ---------------------------------------------------------------------------------------------

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
    // Large, malformed and wrong-type bodies too.
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
    // An id that could poison logs is replaced, not echoed.
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

// ---------------------------------------------------------------------------------------------
// 5. Concurrent duplicates
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn concurrent_duplicate_domains_create_exactly_one_partner() {
    let app = spawn_app().await;
    let owner = app.owner("race").await;
    let before = snapshot(&app).await;
    // The same domain, spelled in the ways normalization folds together.
    let spellings = [
        "dup.example",
        "DUP.example",
        "https://dup.example",
        "https://www.dup.example/about",
        "http://Dup.Example/",
        "www.dup.example",
        "dup.example",
        "dup.example/x?y=1",
        "HTTPS://WWW.DUP.EXAMPLE",
        "dup.example",
    ];
    let requests = spellings.iter().enumerate().map(|(i, domain)| {
        app.post(
            "/api/partners",
            Some(&owner.token),
            json!({"name": format!("Dup {i}"), "domain": domain, "type": "technology",
                   "primaryContact": contact(&format!("race-{i}"))}),
        )
    });
    let results = futures::future::join_all(requests).await;
    let created: Vec<&Res> = results.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        created.len(),
        1,
        "statuses {:?}",
        results
            .iter()
            .map(|r| (r.status.as_u16(), r.body.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(created[0].body["partner"]["domain"], "dup.example");
    for r in results.iter().filter(|r| r.status != 201) {
        assert_error(r, 409, "conflict", "duplicate domain");
    }
    let client = app.db.client().await;
    let rows: i64 = client
        .query_one(
            "SELECT count(*) FROM partners WHERE domain = 'dup.example'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
    // The losers left nothing behind: one partner, one contact, one portal user, one invitation.
    let after = snapshot(&app).await;
    for ((table, b), (_, a)) in before.iter().zip(after.iter()) {
        match *table {
            "partners" | "partner_contacts" | "users" | "members" | "invitations" => {
                assert_eq!(a - b, 1, "{table}: {b} -> {a}");
            }
            "organizations" | "sessions" | "api_keys" => assert_eq!(a, b, "{table}"),
            _ => {}
        }
    }
    let ids = listed_ids(&app, &owner.token, "&q=dup").await;
    assert_eq!(ids.len(), 1);
    // A later duplicate through PATCH is a conflict as well.
    let other = app
        .create_partner(&owner.token, "Other", Some("other.example"))
        .await;
    let res = app
        .patch(
            &format!("/api/partners/{}", other["id"].as_str().unwrap()),
            &owner.token,
            json!({"domain": "https://www.dup.example"}),
        )
        .await;
    assert_error(&res, 409, "conflict", "PATCH to a taken domain");
}
