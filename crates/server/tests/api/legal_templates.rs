//! Legal templates through a fake Docuseal that reproduces its API contract.

use super::helpers::*;
use base64::Engine;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "docuseal-test-key";

fn fields() -> String {
    json!([{"name": "Partner signature", "type": "signature", "role": "Partner", "page": 1,
            "x": 0.1, "y": 0.8, "width": 0.3, "height": 0.05},
           {"name": "Date", "type": "date", "role": "PartnerOS", "required": false, "page": 1,
            "x": 0.6, "y": 0.8, "width": 0.2, "height": 0.04}])
    .to_string()
}

fn form(partner_id: &str, name: &str) -> Form {
    template_form(partner_id, name, r#"["Partner","PartnerOS"]"#, fields())
}

async fn upload(app: &TestApp, token: &str, form: Form) -> Res {
    read(
        app.http
            .post(format!("{}/api/partners/legal-templates", app.address))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A Docuseal that accepts templates with the right key and counts them.
async fn docuseal() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/templates/pdf"))
        .and(header("x-auth-token", KEY))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let id = 1000 + rand_id(&body);
            ResponseTemplate::new(200).set_body_json(json!({
                "id": id, "slug": format!("tpl{id}"), "name": body["name"], "documents": [], "fields": []
            }))
        })
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex(r"^/templates/\d+$"))
        .and(header("x-auth-token", KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 1, "archived_at": "2026-05-16T12:00:00Z"})),
        )
        .mount(&server)
        .await;
    server
}

fn rand_id(body: &Value) -> i64 {
    body["name"].as_str().map(|n| n.len() as i64).unwrap_or(0) * 7
        + (uuid::Uuid::new_v4().as_u128() % 1000) as i64
}

async fn live_templates(server: &MockServer) -> i64 {
    let reqs = server.received_requests().await.unwrap();
    let created = reqs
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .count() as i64;
    let archived = reqs
        .iter()
        .filter(|r| r.method == wiremock::http::Method::DELETE)
        .count() as i64;
    created - archived
}

async fn app_with(server: &MockServer) -> TestApp {
    spawn_app_with(Options {
        docuseal: Some((server.uri(), KEY.to_owned())),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn creates_in_docuseal_with_the_documented_request_and_records() {
    let server = docuseal().await;
    let app = app_with(&server).await;
    let owner = app.owner("lt").await;
    let partner = app
        .create_partner(&owner.token, "Acme", Some("acme.com"))
        .await;
    let pid = partner["id"].as_str().unwrap();
    let res = upload(&app, &owner.token, form(pid, "Mutual NDA")).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["success"], true);
    let t = &res.body["template"];
    assert_eq!(t["name"], "Mutual NDA");
    assert_eq!(t["scope"], "reusable");
    assert_eq!(t["roles"], json!(["Partner", "PartnerOS"]));
    assert_eq!(t["fields"][1]["required"], false);
    assert!(t["docusealTemplateId"].as_i64().unwrap() >= 1000);

    // What Docuseal received: the PDF in base64 and fields with areas inside the document.
    let reqs = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    let doc = &body["documents"][0];
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(doc["file"].as_str().unwrap())
        .unwrap();
    assert_eq!(pdf, PDF);
    assert_eq!(doc["fields"][0]["role"], "Partner");
    assert_eq!(doc["fields"][0]["areas"][0]["page"], 1);

    // List, get, delete (which archives in Docuseal).
    let id = t["id"].as_str().unwrap();
    let list = app
        .get(
            &format!("/api/partners/legal-templates?partnerId={pid}"),
            &owner.token,
        )
        .await;
    assert_eq!(list.body["templates"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/api/partners/legal-templates/{id}"), &owner.token)
            .await
            .status,
        200
    );
    assert_eq!(
        app.delete(&format!("/api/partners/legal-templates/{id}"), &owner.token)
            .await
            .status,
        200
    );
    assert_eq!(live_templates(&server).await, 0);
    assert_eq!(
        app.get(&format!("/api/partners/legal-templates/{id}"), &owner.token)
            .await
            .status,
        404
    );

    let client = app.db.client().await;
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM events WHERE kind = 'legal_template_created'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn multipart_edge_cases_get_their_documented_status_and_record_nothing() {
    let server = docuseal().await;
    let app = app_with(&server).await;
    let owner = app.owner("mp").await;
    let pid = app.create_partner(&owner.token, "Acme", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let html = Form::new()
        .part(
            "file",
            Part::bytes(b"<html>hi</html>".to_vec())
                .file_name("nda.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        )
        .text("partnerId", pid.clone())
        .text("name", "A")
        .text("scope", "reusable")
        .text("roles", r#"["Partner"]"#)
        .text("fields", "[]");
    let res = upload(&app, &owner.token, html).await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (415, "unsupported_media_type")
    );

    let missing = Form::new().text("partnerId", pid.clone()).text("name", "A");
    let res = upload(&app, &owner.token, missing).await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "validation_failed")
    );

    let dup = form(&pid, "Dup").text("name", "Again");
    let res = upload(&app, &owner.token, dup).await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "validation_failed")
    );
    assert_eq!(res.body["details"][0]["field"], "name");

    let bad_json = Form::new()
        .part("file", Part::bytes(PDF.to_vec()).file_name("a.pdf"))
        .text("partnerId", pid.clone())
        .text("name", "A")
        .text("scope", "reusable")
        .text("roles", "[\"Partner\"")
        .text("fields", "{nope}");
    let res = upload(&app, &owner.token, bad_json).await;
    assert_eq!(res.status, 400);
    let fields: Vec<&str> = res.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"roles"), "{fields:?}");

    let bad_item = Form::new()
        .part("file", Part::bytes(PDF.to_vec()).file_name("a.pdf"))
        .text("partnerId", pid.clone())
        .text("name", "A")
        .text("scope", "reusable")
        .text("roles", r#"["Partner"]"#)
        .text("fields", r#"[{"name":"s","type":"signature","role":"Partner","page":1,"x":0.9,"y":0,"width":0.2,"height":0.1}]"#);
    let res = upload(&app, &owner.token, bad_item).await;
    assert_eq!(res.body["details"][0]["field"], "fields[0].width");

    let mut big = PDF.to_vec();
    big.resize(20 * 1024 * 1024 + 1, b' ');
    let huge = Form::new()
        .text("partnerId", pid.clone())
        .part("file", Part::bytes(big).file_name("big.pdf"));
    let res = upload(&app, &owner.token, huge).await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (413, "payload_too_large")
    );

    let res = app
        .raw(
            reqwest::Method::POST,
            "/api/partners/legal-templates",
            Some(&owner.token),
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(res.status, 415);

    assert_eq!(app.count("legal_templates").await, 0);
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "Docuseal never called"
    );
}

#[tokio::test]
async fn other_organizations_partners_and_read_only_roles_are_refused() {
    let server = docuseal().await;
    let app = app_with(&server).await;
    let a = app.owner("a").await;
    let b = app.owner("b").await;
    let theirs = app.create_partner(&b.token, "B's", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = upload(&app, &a.token, form(&theirs, "NDA")).await;
    assert_eq!((res.status.as_u16(), res.code()), (404, "not_found"));
    let mine = app.create_partner(&a.token, "A's", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let viewer = app.member(&a, "viewer", "v").await;
    let (portal, _) = app.partner_user(&a, "p").await;
    for token in [&viewer, &portal] {
        let res = upload(&app, token, form(&mine, "NDA")).await;
        assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    }
    // A template of A is invisible to B.
    let created = upload(&app, &a.token, form(&mine, "NDA")).await;
    let id = created.body["template"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/api/partners/legal-templates/{id}"), &b.token)
            .await
            .status,
        404
    );
    assert_eq!(
        app.delete(&format!("/api/partners/legal-templates/{id}"), &b.token)
            .await
            .status,
        404
    );
    assert_eq!(live_templates(&server).await, 1);
}

#[tokio::test]
async fn names_differing_only_in_case_race_to_one_template() {
    let server = docuseal().await;
    let app = app_with(&server).await;
    let owner = app.owner("race").await;
    let pid = app.create_partner(&owner.token, "Acme", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (x, y) = tokio::join!(
        upload(&app, &owner.token, form(&pid, "Master Agreement")),
        upload(&app, &owner.token, form(&pid, "MASTER agreement")),
    );
    let mut statuses = [x.status.as_u16(), y.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let conflict = if x.status == 409 { &x } else { &y };
    assert_eq!(conflict.code(), "name_taken");
    assert_eq!(app.count("legal_templates").await, 1);
    assert_eq!(live_templates(&server).await, 1, "no orphan in Docuseal");
}

#[tokio::test]
async fn docuseal_unconfigured_down_or_free_edition_is_a_502_with_nothing_recorded() {
    // Not configured.
    let app = spawn_app().await;
    let owner = app.owner("n").await;
    let pid = app.create_partner(&owner.token, "Acme", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = upload(&app, &owner.token, form(&pid, "NDA")).await;
    assert_eq!((res.status.as_u16(), res.code()), (502, "upstream_failed"));
    assert!(
        res.body["error"]
            .as_str()
            .unwrap()
            .contains("not configured"),
        "{:?}",
        res.body
    );

    // The free edition answers 404 "Pro Edition".
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/templates/pdf"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"error": "Not found. This feature is available in Pro Edition"}),
            ),
        )
        .mount(&server)
        .await;
    let app = app_with(&server).await;
    let owner = app.owner("f").await;
    let pid = app.create_partner(&owner.token, "Acme", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = upload(&app, &owner.token, form(&pid, "NDA")).await;
    assert_eq!((res.status.as_u16(), res.code()), (502, "upstream_failed"));
    assert!(
        res.body["error"].as_str().unwrap().contains("Pro"),
        "{:?}",
        res.body
    );
    assert_eq!(app.count("legal_templates").await, 0);

    // Down: nothing listens.
    let app = spawn_app_with(Options {
        docuseal: Some(("http://127.0.0.1:9".to_owned(), KEY.to_owned())),
        ..Options::default()
    })
    .await;
    let owner = app.owner("d").await;
    let pid = app.create_partner(&owner.token, "Acme", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = upload(&app, &owner.token, form(&pid, "NDA")).await;
    assert_eq!((res.status.as_u16(), res.code()), (502, "upstream_failed"));
    assert!(
        !res.body.to_string().contains("127.0.0.1"),
        "no upstream detail leaks"
    );
    assert_eq!(app.count("legal_templates").await, 0);
}
