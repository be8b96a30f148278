//! External services slow past their timeouts or resetting connections.
//!
//! Each service is a faithful fake (wiremock for the HTTP APIs, `s3s-fs` for the object store)
//! behind a [`TcpProxy`], and each adapter gets a short timeout. Three faults per service:
//! `Stalled` (accepted, nothing reaches the fake: a service that hangs), `Mute` (the fake does the
//! work and its answer is lost: a service answering after the timeout) and `Down` (reset once the
//! request arrived). Each must answer 502 `upstream_failed` within the adapter's bound and a
//! second and record nothing; with the link back the same process succeeds, so it was the fault,
//! not the set-up, that failed the request.
//!
//! Covered elsewhere: refused connections and error answers at the API (`tests/api`: Docuseal
//! down, unconfigured and free edition; Turnstile down and `internal-error`; the model's 503s and
//! garbage; an S3 endpoint nobody listens on), and slow answers at each adapter
//! (`crates/{llm,docuseal,turnstile,storage}/tests`).

use crate::helpers::{Options, Res, TestApp, read, spawn_app_with, template_form};
use partneros_domain::banners::model::samples;
use partneros_domain::shared::secret::Secret;
use partneros_test_support::{Link, TcpProxy};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every adapter's timeout here.
const TIMEOUT: Duration = Duration::from_millis(800);
const FAULTS: [Link; 3] = [Link::Stalled, Link::Mute, Link::Down];

/// Sends a request and reads the answer, timing it; a hang past 15 s fails the test.
async fn timed(req: reqwest::RequestBuilder) -> (Res, Duration) {
    let started = Instant::now();
    let res = req
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .expect("an answer, not a hang");
    (read(res).await, started.elapsed())
}

fn assert_upstream_failed(link: Link, res: &Res, took: Duration, bound: Duration) {
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (502, "upstream_failed"),
        "{link:?}: {:?}",
        res.body
    );
    assert!(took <= bound, "{link:?}: answered after {took:?}");
    assert!(
        !res.body.to_string().contains("127.0.0.1"),
        "{link:?}: no upstream detail in {:?}",
        res.body
    );
}

/// Puts `link` in place after resetting whatever the previous fault held, so that a request a
/// stalled link kept does not reach the fake during the next fault.
async fn fault(proxy: &TcpProxy, link: Link) {
    proxy.set(Link::Down);
    tokio::time::sleep(Duration::from_millis(50)).await;
    proxy.set(link);
}

async fn events(app: &TestApp, kind: &str) -> i64 {
    let sql = app.db.client().await;
    sql.query_one("SELECT count(*) FROM events WHERE kind = $1", &[&kind])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_slow_or_resetting_model_is_a_502_and_the_partner_stays_as_it_was() {
    let model = MockServer::start().await;
    let answer = json!({
        "industry": "Software", "description": "CRM software.", "employees": 120,
        "employeesRange": "51-200", "companyRevenue": "$10M-$50M", "regions": ["DACH"],
        "languages": ["en"], "services": ["Implementation"], "products": [], "strengths": [],
        "risks": [], "summary": "A CRM vendor.", "confidence": "high"
    });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer.to_string()}}]
        })))
        .mount(&model)
        .await;
    let proxy = TcpProxy::start(&model.address().to_string()).await;
    let url = format!("http://{}/v1", proxy.address());
    // Three attempts of TIMEOUT would take longer than the budget: the budget bounds the answer.
    let budget = TIMEOUT * 2;
    let app = spawn_app_with(Options {
        externals: Box::new(move |e| {
            let mut settings = partneros_llm::LlmSettings::new(url, "test-model")
                .with_api_key(Secret::new("sk-test"));
            settings.request_timeout = TIMEOUT;
            settings.budget = budget;
            settings.backoff_base = Duration::from_millis(20);
            e.model = Some(Arc::new(partneros_llm::LlmClient::new(settings).unwrap()));
        }),
        ..Options::default()
    })
    .await;
    let owner = app.owner("llm").await;
    // The site does not resolve, so the model gets the domain alone.
    let id = app
        .create_partner(&owner.token, "Acme", Some("acme.test"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app.get(&format!("/api/partners/{id}"), &owner.token).await;
    let analyze = || {
        app.http
            .post(format!("{}/api/partners/{id}/analyze", app.address))
            .bearer_auth(&owner.token)
    };

    for link in FAULTS {
        fault(&proxy, link).await;
        let (res, took) = timed(analyze()).await;
        assert_upstream_failed(link, &res, took, budget + Duration::from_secs(1));
        let after = app.get(&format!("/api/partners/{id}"), &owner.token).await;
        assert_eq!(after.body, before.body, "{link:?}: the partner changed");
        assert_eq!(app.count("domain_enrichments").await, 0, "{link:?}: cached");
        assert_eq!(app.count("domain_leases").await, 0, "{link:?}: lease kept");
        assert_eq!(events(&app, "partner_analyzed").await, 0, "{link:?}");
    }
    let reached = model.received_requests().await.unwrap().len();
    assert!(reached >= 1, "only the mute link lets requests through");

    fault(&proxy, Link::Up).await;
    let (res, _) = timed(analyze()).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["partner"]["industry"], "Software");
    assert_eq!(app.count("domain_enrichments").await, 1);
    assert_eq!(events(&app, "partner_analyzed").await, 1);
}

const KEY: &str = "docuseal-test-key";

fn docuseal_form(partner_id: &str, name: &str) -> Form {
    let fields = json!([{"name": "Partner signature", "type": "signature", "role": "Partner",
                         "page": 1, "x": 0.1, "y": 0.8, "width": 0.3, "height": 0.05}]);
    template_form(partner_id, name, r#"["Partner"]"#, fields.to_string())
}

#[tokio::test]
async fn a_slow_or_resetting_docuseal_is_a_502_and_no_template_is_recorded() {
    let docuseal = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/templates/pdf"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 4242, "slug": "tpl4242", "name": "NDA", "documents": [], "fields": []
        })))
        .mount(&docuseal)
        .await;
    let proxy = TcpProxy::start(&docuseal.address().to_string()).await;
    let url = format!("http://{}", proxy.address());
    let app = spawn_app_with(Options {
        externals: Box::new(move |e| {
            e.esign = Arc::new(
                partneros_docuseal::DocusealClient::new(&url, Secret::new(KEY), TIMEOUT).unwrap(),
            );
        }),
        ..Options::default()
    })
    .await;
    let owner = app.owner("docuseal").await;
    let pid = app.create_partner(&owner.token, "Acme", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let upload = |name: &str| {
        app.http
            .post(format!("{}/api/partners/legal-templates", app.address))
            .bearer_auth(&owner.token)
            .multipart(docuseal_form(&pid, name))
    };

    for (i, link) in FAULTS.into_iter().enumerate() {
        fault(&proxy, link).await;
        let (res, took) = timed(upload(&format!("NDA {i}"))).await;
        assert_upstream_failed(link, &res, took, TIMEOUT + Duration::from_secs(1));
        assert_eq!(app.count("legal_templates").await, 0, "{link:?}");
        assert_eq!(events(&app, "legal_template_created").await, 0, "{link:?}");
    }
    // A mute Docuseal created the template and its answer was lost: its id never reached the
    // service, so nothing archives it. A known limit (the API offers no idempotent create to look
    // it up by); the service's own records stay clean, which is what is asserted above.
    let reached = docuseal.received_requests().await.unwrap().len();
    eprintln!("templates the mute Docuseal created without the service knowing: {reached}");

    fault(&proxy, Link::Up).await;
    let (res, _) = timed(upload("NDA")).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(app.count("legal_templates").await, 1);
    assert_eq!(events(&app, "legal_template_created").await, 1);
}

#[tokio::test]
async fn a_slow_or_resetting_turnstile_is_a_502_and_no_submission_is_stored() {
    let turnstile = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/siteverify"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"success": true, "error-codes": []})),
        )
        .mount(&turnstile)
        .await;
    let proxy = TcpProxy::start(&turnstile.address().to_string()).await;
    let url = format!("http://{}/siteverify", proxy.address());
    let verify_url = url.clone();
    let app = spawn_app_with(Options {
        config: Box::new(move |c| {
            let mut verifier = partneros_turnstile::TurnstileSettings::new(Secret::new("secret"));
            verifier.siteverify_url = verify_url;
            c.turnstile.verifier = Some(verifier);
            c.turnstile.site_key = Some("1x00000000000000000000AA".into());
        }),
        externals: Box::new(move |e| {
            e.captcha = Some(Arc::new(
                partneros_turnstile::TurnstileVerifier::new(Secret::new("secret"), &url, TIMEOUT)
                    .unwrap(),
            ));
        }),
        ..Options::default()
    })
    .await;
    let owner = app.owner("turnstile").await;
    let res = app
        .post(
            "/api/partners/applications",
            Some(&owner.token),
            json!({
                "name": "Partner program", "slug": "captcha-faults", "status": "published",
                "fields": [
                    {"fieldKey": "companyName", "label": "Company", "type": "text", "required": true},
                    {"fieldKey": "email", "label": "Work email", "type": "email", "required": true}],
                "agreements": [{"title": "Terms", "body": "You agree.", "required": true}]
            }),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let terms = res.body["application"]["agreements"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let submit = |email: &str| {
        app.http
            .post(format!("{}/api/partners/applications/submit", app.address))
            .json(&json!({
                "slug": "captcha-faults", "turnstileToken": "a-token",
                "formData": {"companyName": "Initech", "email": email},
                "acceptedAgreements": [terms]
            }))
    };

    for (i, link) in FAULTS.into_iter().enumerate() {
        fault(&proxy, link).await;
        let (res, took) = timed(submit(&format!("a{i}@initech.example"))).await;
        assert_upstream_failed(link, &res, took, TIMEOUT + Duration::from_secs(1));
        assert_eq!(app.count("submissions").await, 0, "{link:?}");
        assert_eq!(events(&app, "application_submitted").await, 0, "{link:?}");
    }

    fault(&proxy, Link::Up).await;
    let (res, _) = timed(submit("ok@initech.example")).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(app.count("submissions").await, 1);
}

/// An S3-compatible store (`s3s-fs`) on a loopback port, writing under `root`.
async fn s3_store(root: &std::path::Path) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    std::fs::create_dir_all(root.join("banners")).unwrap();
    let service = {
        let mut builder =
            s3s::service::S3ServiceBuilder::new(s3s_fs::FileSystem::new(root).unwrap());
        builder.set_auth(s3s::auth::SimpleAuth::from_single("test", "test"));
        builder.build()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let connection = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    (address, task)
}

fn objects(root: &std::path::Path) -> usize {
    std::fs::read_dir(root.join("banners"))
        .map(|dir| {
            dir.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        std::fs::read_dir(e.path()).map(|d| d.count()).unwrap_or(0)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_slow_or_resetting_store_is_a_502_with_no_object_left_and_no_banner_set() {
    let root = tempfile::tempdir().unwrap();
    let (store, _server) = s3_store(root.path()).await;
    let proxy = TcpProxy::start(&store.to_string()).await;
    let endpoint = format!("http://{}", proxy.address());
    let s3 = partneros_storage::S3Settings {
        endpoint: Some(endpoint.clone()),
        region: "us-east-1".into(),
        bucket: "banners".into(),
        access_key_id: "test".into(),
        secret_access_key: Secret::new("test"),
        force_path_style: true,
        public_base_url: None,
        timeout: TIMEOUT,
    };
    let app = spawn_app_with(Options {
        config: Box::new(move |c| c.storage = partneros_server::config::Storage::S3(s3)),
        externals: Box::new(move |e| {
            e.files = Arc::new(
                partneros_storage::S3Store::new(partneros_storage::S3Settings {
                    endpoint: Some(endpoint),
                    region: "us-east-1".into(),
                    bucket: "banners".into(),
                    access_key_id: "test".into(),
                    secret_access_key: Secret::new("test"),
                    force_path_style: true,
                    public_base_url: None,
                    timeout: TIMEOUT,
                })
                .unwrap(),
            );
        }),
        ..Options::default()
    })
    .await;
    let owner = app.owner("s3").await;
    let res = app
        .post(
            "/api/partners/applications",
            Some(&owner.token),
            json!({"name": "Form", "slug": "banner-faults"}),
        )
        .await;
    let application = res.body["application"]["id"].as_str().unwrap().to_owned();
    let upload = || {
        let form = Form::new()
            .part(
                "file",
                Part::bytes(samples::PNG.to_vec())
                    .file_name("banner.png")
                    .mime_str("image/png")
                    .unwrap(),
            )
            .text("applicationId", application.clone());
        app.http
            .post(format!("{}/api/partners/applications/banner", app.address))
            .bearer_auth(&owner.token)
            .multipart(form)
    };
    let banner = || async {
        let form = app
            .get(
                &format!("/api/partners/applications/{application}"),
                &owner.token,
            )
            .await;
        form.body["application"]["content"]
            .get("bannerUrl")
            .cloned()
            .unwrap_or(Value::Null)
    };

    for link in FAULTS {
        fault(&proxy, link).await;
        let (res, took) = timed(upload()).await;
        assert_upstream_failed(link, &res, took, TIMEOUT * 2 + Duration::from_secs(1));
        // Give a request that reached the store time to land before looking.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(objects(root.path()), 0, "{link:?}: an object was left");
        assert_eq!(banner().await, Value::Null, "{link:?}: the banner changed");
    }

    fault(&proxy, Link::Up).await;
    let (res, _) = timed(upload()).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["provider"], "s3");
    assert_eq!(objects(root.path()), 1);
    assert_eq!(banner().await, res.body["url"]);
}
