//! Partner records through the API: invalid input. The JSON shapes the HTTP layer refuses, and
//! one case per field of each domain rule (the rules' other values are unit-tested with the
//! value objects in the domain).

use super::cases::*;
use super::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

/// An owner, a partner that must not change, and its path.
async fn stable_partner() -> (TestApp, Owner, serde_json::Value, String) {
    let app = spawn_app().await;
    let owner = app.owner("bad").await;
    let partner = app
        .create_partner(&owner.token, "Stable", Some("stable.example"))
        .await;
    let path = format!("/api/partners/{}", partner["id"].as_str().unwrap());
    app.clock.advance(chrono::Duration::minutes(5));
    (app, owner, partner, path)
}

#[tokio::test]
async fn creating_a_partner_with_invalid_fields_names_the_field_and_changes_nothing() {
    let (app, owner, _, _) = stable_partner().await;
    let vp = valid_partner;
    let cc =
        |first: Value, email: Value| json!({"firstName": first, "lastName": "B", "email": email});
    let mut cases = Vec::new();
    for (label, body, field) in [
        ("name is a number", with(vp(), "name", json!(5)), "name"),
        ("name blank", with(vp(), "name", json!("   ")), "name"),
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
            "contact unknown key",
            with(
                vp(),
                "primaryContact",
                with(cc(json!("A"), json!("a@example.com")), "phone", json!("1")),
            ),
            "primaryContact.phone",
        ),
        ("type partner", with(vp(), "type", json!("partner")), "type"),
        ("type a number", with(vp(), "type", json!(1)), "type"),
        ("stage won", with(vp(), "stage", json!("won")), "stage"),
        (
            "category nope",
            with(vp(), "category", json!("nope")),
            "category",
        ),
        (
            "domain localhost",
            with(vp(), "domain", json!("localhost")),
            "domain",
        ),
        ("domain a number", with(vp(), "domain", json!(42)), "domain"),
        (
            "logoUrl http",
            with(vp(), "logoUrl", json!("http://acme.com/logo.png")),
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
        let label = format!("create: {label}");
        cases.push(invalid(label, &Method::POST, "/api/partners", body, field));
    }
    assert_cases(&app, &owner, &cases).await;
}

#[tokio::test]
async fn server_set_and_enriched_fields_cannot_be_patched_alone_or_with_a_valid_change() {
    let (app, owner, partner, path) = stable_partner().await;
    let stamp = json!("2020-01-01T00:00:00.000Z");
    let mut cases = Vec::new();
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
            &Method::PATCH,
            &path,
            alone,
            key,
        ));
        let mixed = with(json!({"name": "Sneaky"}), key, value);
        let label = format!("patch: {key} with a name");
        cases.push(invalid(label, &Method::PATCH, &path, mixed, key));
    }
    assert_cases(&app, &owner, &cases).await;
    let res = app.get(&path, &owner.token).await;
    assert_eq!(res.body["partner"], partner, "the partner changed");
}

#[tokio::test]
async fn patching_a_partner_with_invalid_fields_names_the_field_and_changes_nothing() {
    let (app, owner, partner, path) = stable_partner().await;
    let mut cases = Vec::new();
    for (label, body, field) in [
        ("name is a number", json!({"name": 5}), "name"),
        ("name empty", json!({"name": ""}), "name"),
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
        let label = format!("patch: {label}");
        cases.push(invalid(label, &Method::PATCH, &path, body, field));
    }
    assert_cases(&app, &owner, &cases).await;
    let res = app.get(&path, &owner.token).await;
    assert_eq!(res.body["partner"], partner, "the partner changed");
}

#[tokio::test]
async fn a_malformed_partner_id_is_a_validation_failure_on_every_verb() {
    let (app, owner, _, _) = stable_partner().await;
    let validation = (400, "validation_failed");
    let mut cases = Vec::new();
    // Never 404 or 500.
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
            &Method::GET,
            &path,
            Body::None,
            validation,
            f,
        ));
        let body = Body::Json(json!({"name": "X"}));
        cases.push(case(
            format!("PATCH {path}"),
            &Method::PATCH,
            &path,
            body,
            validation,
            f,
        ));
        let label = format!("DELETE {path}");
        cases.push(case(
            label,
            &Method::DELETE,
            &path,
            Body::None,
            validation,
            f,
        ));
    }
    assert_cases(&app, &owner, &cases).await;
}

#[tokio::test]
async fn invalid_list_parameters_name_the_parameter() {
    let (app, owner, _, _) = stable_partner().await;
    let mut cases = Vec::new();
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("cursor=garbage", "cursor"),
        ("type=nope", "type"),
        ("stage=won", "stage"),
        ("limit=1&limit=2", "query"),
        // A NUL byte in a filter is bad input, not a 500 from PostgreSQL.
        ("q=%00", "q"),
        ("q=a%00b", "q"),
        ("tier=%00", "tier"),
    ] {
        let path = format!("/api/partners?{query}");
        let validation = (400, "validation_failed");
        let label = format!("GET {path}");
        cases.push(case(
            label,
            &Method::GET,
            &path,
            Body::None,
            validation,
            Some(field),
        ));
    }
    assert_cases(&app, &owner, &cases).await;
}

/// The boundary values that must be accepted, so the refusals are not blanket refusals.
#[tokio::test]
async fn boundary_list_parameters_are_accepted() {
    let app = spawn_app().await;
    let owner = app.owner("edge").await;
    for query in [
        "limit=1",
        "limit=100",
        "type=technology",
        "stage=prospect",
        "q=",
        "tier=Gold",
    ] {
        let res = app
            .get(&format!("/api/partners?{query}"), &owner.token)
            .await;
        assert_eq!(res.status, 200, "{query}: {:?}", res.body);
    }
}

#[tokio::test]
async fn boundary_partner_fields_are_accepted() {
    let app = spawn_app().await;
    let owner = app.owner("edge").await;
    let t = owner.token.as_str();
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
}
