//! Partner analysis through the API: the scraper against fixture sites on loopback, the LLM
//! adapter against an OpenAI-compatible fake, the background queue, and the role and tenancy
//! rules. The fixtures here serve the other analysis modules too: `analysis_cache` (the shared
//! cache, single flight across two instances) and `analysis_limits` (the daily limits).

use super::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub(crate) const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

const HOME: &str = r#"<!doctype html><html lang="en"><head>
<title>Acme Cloud Software</title>
<meta name="description" content="Acme builds CRM software for mid-sized companies.">
<link rel="alternate" hreflang="de" href="/de/">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Organization",
 "name":"Acme","numberOfEmployees":{"@type":"QuantitativeValue","value":120},
 "address":{"@type":"PostalAddress","addressCountry":"DE"},"areaServed":["Europe","US"]}</script>
</head><body><main><h1>Cloud software for sales teams</h1>
<p>Our platform and our implementation services help teams sell.</p>
<a href="/about">About us</a> <a href="/services">Services</a></main></body></html>"#;

/// A fixture website: home page, about and services pages.
pub(crate) async fn site() -> MockServer {
    let server = MockServer::start().await;
    let html = |body: &str| {
        ResponseTemplate::new(200)
            .set_body_raw(body.as_bytes().to_vec(), "text/html; charset=utf-8")
    };
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(html(HOME))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/about"))
        .respond_with(html(
            "<html lang=en><title>About Acme</title><body><p>Implementation and training since 2010.</p></body></html>",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services"))
        .respond_with(html(
            "<html lang=en><title>Services</title><body><h2>Implementation</h2><h2>Training</h2></body></html>",
        ))
        .mount(&server)
        .await;
    server
}

pub(crate) fn completion(content: Value) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content.to_string()}}]
    })
}

pub(crate) fn good_answer() -> Value {
    json!({
        "industry": "Software", "description": "CRM software.", "employees": 120,
        "employeesRange": "51-200", "companyRevenue": "$10M-$50M",
        "regions": ["DACH", "North America"], "languages": ["en", "de"],
        "services": ["Implementation", "Training"], "products": ["Acme CRM"],
        "strengths": [{"label": "Focused", "description": "A clear CRM focus."}],
        "risks": [], "summary": "A CRM vendor.", "confidence": "high"
    })
}

/// An OpenAI-compatible fake answering `answer` to every request.
pub(crate) async fn llm(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

pub(crate) async fn hits(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r: &&Request| r.url.path() == p)
        .count()
}

pub(crate) async fn analyze(app: &TestApp, token: &str, id: &str, query: &str) -> Res {
    app.call(
        Method::POST,
        &format!("/api/partners/{id}/analyze{query}"),
        Some(token),
        None,
    )
    .await
}

pub(crate) fn options(site: &MockServer, llm: Option<&MockServer>) -> Options {
    Options {
        sites: vec![("acme.test", LOCAL), ("www.acme.test", LOCAL)],
        site_port: site.address().port(),
        llm: llm.map(|l| format!("{}/v1", l.uri())),
        ..Options::default()
    }
}

pub(crate) fn id(partner: &Value) -> &str {
    partner["id"].as_str().unwrap()
}

#[tokio::test]
async fn the_heuristic_reads_the_site_and_scores_against_the_ideal_profile() {
    let site = site().await;
    let app = spawn_app_with(options(&site, None)).await;
    let owner = app.owner("heur").await;
    let res = app
        .call(
            Method::PUT,
            "/api/organization/ideal-partner-profile",
            Some(&owner.token),
            Some(json!({
                "targetIndustries": ["Software"], "targetRegions": ["Germany"],
                "targetLanguages": ["de", "en"], "employeeRange": {"min": 50, "max": 500},
                "soughtServices": ["Implementation"], "weights": {"industryFit": 2}
            })),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(
        res.body["idealPartnerProfile"]["targetRegions"],
        json!(["DE"])
    );
    let partner = app
        .create_partner(&owner.token, "Acme", Some("https://www.acme.test/pricing"))
        .await;
    let id = partner["id"].as_str().unwrap();
    let res = analyze(&app, &owner.token, id, "").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let p = &res.body["partner"];
    let ai = &res.body["aiInsights"];
    assert_eq!(p["industry"], "Software", "{ai}");
    assert_eq!(p["employees"], 120);
    assert_eq!(p["employeesRange"], "51-200");
    assert_eq!(p["regions"], json!(["DE", "Europe", "US"]));
    assert_eq!(p["languages"], json!(["en", "de"]));
    assert_eq!(p["services"], json!(["Implementation", "Training"]));
    assert_eq!(p["companyRevenue"], Value::Null);
    assert_eq!(ai["enrichedBy"], "heuristic");
    assert_eq!(ai["confidence"], "low");
    assert_eq!(ai["cached"], false);
    assert_eq!(ai["cachedAt"], "2026-05-16T12:00:00.000Z");
    assert_eq!(ai["expiresAt"], "2026-05-23T12:00:00.000Z");
    // industry 100 (x2), markets 100 (DE), languages 100, size 100, services 100.
    assert_eq!(ai["fitScore"], 100);
    assert_eq!(p["fitScore"], 100);
    assert_eq!(p["tier"], "Platinum");
    assert_eq!(p["tierSource"], "auto");
    assert_eq!(ai["dimensions"].as_array().unwrap().len(), 5);
    let urls: Vec<&str> = ai["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "fetched")
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert!(urls.iter().any(|u| u.ends_with("/about")), "{urls:?}");
    assert!(p["analyzedAt"].is_string());
    // Stored, with its event.
    let stored = app.get(&format!("/api/partners/{id}"), &owner.token).await;
    assert_eq!(stored.body["partner"]["aiInsights"], *ai);
    let client = app.db.client().await;
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM events WHERE kind = 'partner_analyzed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_failing_model_answers_502_and_leaves_the_partner_exactly_as_it_was() {
    let site = site().await;
    let model =
        llm(ResponseTemplate::new(503).set_body_json(json!({"error": {"message": "overloaded"}})))
            .await;
    let app = spawn_app_with(options(&site, Some(&model))).await;
    let owner = app.owner("fail").await;
    let partner = app
        .create_partner(&owner.token, "Acme", Some("acme.test"))
        .await;
    let id = partner["id"].as_str().unwrap();
    let before = app.get(&format!("/api/partners/{id}"), &owner.token).await;
    let events = app.count("events").await;

    let res = analyze(&app, &owner.token, id, "").await;
    assert_eq!(res.status, 502, "{:?}", res.body);
    assert_eq!(res.code(), "upstream_failed");
    assert!(
        !res.body.to_string().contains("overloaded"),
        "{:?}",
        res.body
    );
    assert_eq!(hits(&model, "/v1/chat/completions").await, 3);

    let after = app.get(&format!("/api/partners/{id}"), &owner.token).await;
    assert_eq!(after.body, before.body);
    assert_eq!(app.count("events").await, events);
    assert_eq!(app.count("domain_enrichments").await, 0);
    assert_eq!(app.count("domain_leases").await, 0);
}

#[tokio::test]
async fn garbage_from_the_model_is_a_502_and_out_of_range_values_are_clamped() {
    let site = site().await;
    for content in [
        ResponseTemplate::new(200).set_body_string("<html>not json</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"choices": [{"finish_reason": "length",
            "message": {"role": "assistant", "content": "{\"industry\": \"Soft"}}]})),
        ResponseTemplate::new(200).set_body_json(json!({"choices": [{"finish_reason": "stop",
            "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}}]})),
    ] {
        let model = llm(content).await;
        let app = spawn_app_with(options(&site, Some(&model))).await;
        let owner = app.owner("garbage").await;
        let p = app.create_partner(&owner.token, "Acme", Some("acme.test")).await;
        let res = analyze(&app, &owner.token, p["id"].as_str().unwrap(), "").await;
        assert_eq!(res.status, 502, "{:?}", res.body);
        assert_eq!(res.code(), "upstream_failed");
    }

    let huge: Vec<String> = (0..10_000).map(|i| format!("service {i}")).collect();
    let wild = json!({
        "industry": "<b>Software</b>", "description": "x".repeat(2000), "employees": -5,
        "employeesRange": "a handful", "companyRevenue": "lots", "regions": huge,
        "languages": ["Klingon", "EN"], "services": huge, "products": [],
        "strengths": [], "risks": [], "summary": "<script>alert(1)</script>ok", "confidence": "high"
    });
    let model = llm(ResponseTemplate::new(200).set_body_json(completion(wild))).await;
    let app = spawn_app_with(options(&site, Some(&model))).await;
    let owner = app.owner("clamp").await;
    let p = app
        .create_partner(&owner.token, "Acme", Some("acme.test"))
        .await;
    let res = analyze(&app, &owner.token, p["id"].as_str().unwrap(), "").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let p = &res.body["partner"];
    assert_eq!(p["industry"], "Software");
    assert_eq!(p["description"].as_str().unwrap().len(), 500);
    assert_eq!(p["employees"], Value::Null);
    assert_eq!(p["employeesRange"], Value::Null);
    assert_eq!(p["companyRevenue"], Value::Null);
    assert_eq!(p["regions"].as_array().unwrap().len(), 20);
    assert_eq!(p["services"].as_array().unwrap().len(), 20);
    assert_eq!(p["languages"], json!(["en"]));
    assert_eq!(res.body["aiInsights"]["summary"], "alert(1) ok");
}

#[tokio::test]
async fn a_site_that_resolves_to_a_private_address_is_never_contacted() {
    // The "internal" server listens on 127.0.0.2 at the fixture's port, so only the address
    // rule can keep the scraper away from it.
    let site = site().await;
    let port = site.address().port();
    let internal = MockServer::builder()
        .listener(std::net::TcpListener::bind(("127.0.0.2", port)).expect("bind 127.0.0.2"))
        .start()
        .await;
    let mut o = options(&site, None);
    o.sites
        .push(("intranet.test", IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
    o.sites
        .push(("metadata.test", "169.254.169.254".parse().unwrap()));
    let app = spawn_app_with(o).await;
    let owner = app.owner("ssrf").await;
    for domain in ["intranet.test", "metadata.test"] {
        let p = app
            .create_partner(&owner.token, "Inside", Some(domain))
            .await;
        let res = analyze(&app, &owner.token, p["id"].as_str().unwrap(), "").await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let sources = res.body["aiInsights"]["sources"]
            .as_array()
            .unwrap()
            .clone();
        assert!(!sources.is_empty());
        assert!(
            sources.iter().all(|s| s["status"] == "blocked"),
            "{sources:?}"
        );
        assert_eq!(res.body["aiInsights"]["confidence"], "low");
    }
    assert_eq!(internal.received_requests().await.unwrap().len(), 0);
}

pub(crate) async fn job(app: &TestApp) -> (String, i32, Option<String>) {
    let client = app.db.client().await;
    let row = client
        .query_one(
            "SELECT status, attempts, last_error FROM analysis_jobs ORDER BY created_at LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

pub(crate) async fn wait_for<F: std::future::Future<Output = bool>>(mut check: impl FnMut() -> F) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting");
}

#[tokio::test]
async fn a_new_partner_with_a_domain_is_analyzed_in_the_background() {
    let site = site().await;
    let mut o = options(&site, None);
    o.analysis_workers = 2;
    let app = spawn_app_with(o).await;
    let owner = app.owner("bg").await;
    let p = app
        .create_partner(&owner.token, "Acme", Some("acme.test"))
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    let path = format!("/api/partners/{id}");
    wait_for(|| {
        let (app, path, token) = (&app, &path, &owner.token);
        async move { app.get(path, token).await.body["partner"]["analyzedAt"].is_string() }
    })
    .await;
    let res = app.get(&path, &owner.token).await;
    assert_eq!(res.body["partner"]["industry"], "Software");
    wait_for(|| async { job(&app).await.0 == "succeeded" }).await;
    // A partner without a domain queues nothing; a new domain queues again.
    let bare = app.create_partner(&owner.token, "Nameless", None).await;
    assert_eq!(app.count("analysis_jobs").await, 1);
    let res = app
        .patch(
            &format!("/api/partners/{}", bare["id"].as_str().unwrap()),
            &owner.token,
            json!({"domain": "beta.test"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(app.count("analysis_jobs").await, 2);
}

#[tokio::test]
async fn a_failing_job_retries_with_backoff_and_ends_failed() {
    let site = site().await;
    let model = llm(ResponseTemplate::new(500)).await;
    let mut o = options(&site, Some(&model));
    o.analysis_workers = 1;
    let app = spawn_app_with(o).await;
    let owner = app.owner("retry").await;
    app.create_partner(&owner.token, "Acme", Some("acme.test"))
        .await;
    // Attempt n fails and waits 30 s · 4^(n-1) on the app's clock before attempt n+1.
    for (attempt, wait) in [(1, 30), (2, 120), (3, 480)] {
        wait_for(|| async { job(&app).await.1 == attempt && job(&app).await.0 == "queued" }).await;
        let (_, _, error) = job(&app).await;
        assert!(error.unwrap().contains("language model"));
        app.clock.advance(chrono::Duration::seconds(wait - 1));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(job(&app).await.1, attempt, "retried before its backoff");
        app.clock.advance(chrono::Duration::seconds(1));
    }
    wait_for(|| async { job(&app).await.0 == "failed" }).await;
    let (_, attempts, error) = job(&app).await;
    assert_eq!(attempts, 4);
    assert!(error.is_some());
    // 4 attempts of 3 model requests each (the adapter's own retries).
    assert_eq!(hits(&model, "/v1/chat/completions").await, 12);
}

#[tokio::test]
async fn roles_and_tenancy_apply_to_analysis_and_the_ideal_profile() {
    let site = site().await;
    let app = spawn_app_with(options(&site, None)).await;
    let owner = app.owner("rules").await;
    let other = app.owner("rules-other").await;
    let viewer = app.member(&owner, "viewer", "rules").await;
    let member = app.member(&owner, "member", "rules").await;
    let (portal, _) = app.partner_user(&owner, "rules").await;
    let p = app
        .create_partner(&owner.token, "Acme", Some("acme.test"))
        .await;
    let id = p["id"].as_str().unwrap();
    let ipp = "/api/organization/ideal-partner-profile";
    async fn put(app: &TestApp, token: &str) -> Res {
        app.call(
            Method::PUT,
            "/api/organization/ideal-partner-profile",
            Some(token),
            Some(json!({"targetIndustries": ["Software"]})),
        )
        .await
    }

    for token in [&viewer, &portal] {
        let res = analyze(&app, token, id, "").await;
        assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    }
    for token in [&viewer, &member, &portal] {
        let res = put(&app, token).await;
        assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    }
    let res = app.get(ipp, &portal).await;
    assert_eq!(res.status, 403);
    let res = app.get(ipp, &viewer).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["idealPartnerProfile"]["updatedAt"], Value::Null);
    assert_eq!(
        res.body["idealPartnerProfile"]["weights"]["industryFit"],
        1.0
    );

    // Another organization's partner, a random id and a malformed one.
    let res = analyze(&app, &other.token, id, "").await;
    assert_eq!((res.status.as_u16(), res.code()), (404, "not_found"));
    let res = analyze(&app, &owner.token, &uuid::Uuid::new_v4().to_string(), "").await;
    assert_eq!(res.status, 404);
    let res = analyze(&app, &owner.token, "not-a-uuid", "").await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "validation_failed")
    );
    let res = analyze(&app, &owner.token, id, "?refresh=maybe").await;
    assert_eq!(res.status, 400);
    let res = app
        .call(
            Method::POST,
            &format!("/api/partners/{id}/analyze"),
            None,
            None,
        )
        .await;
    assert_eq!(res.status, 401);

    // The profile is the organization's own.
    assert_eq!(put(&app, &owner.token).await.status, 200);
    let res = app.get(ipp, &other.token).await;
    assert_eq!(
        res.body["idealPartnerProfile"]["targetIndustries"],
        json!([])
    );
    let res = app.get(ipp, &member).await;
    assert_eq!(
        res.body["idealPartnerProfile"]["targetIndustries"],
        json!(["Software"])
    );

    // Bad input names the field and changes nothing.
    for (body, field) in [
        (
            json!({"targetLanguages": ["Klingon"]}),
            "targetLanguages[0]",
        ),
        (
            json!({"weights": {"industryFit": -1}}),
            "weights.industryFit",
        ),
        (
            json!({"employeeRange": {"min": 500, "max": 5}}),
            "employeeRange",
        ),
        (json!({"targetIndustries": "Software"}), "targetIndustries"),
        (json!({"colour": "blue"}), "colour"),
    ] {
        let res = app
            .call(Method::PUT, ipp, Some(&owner.token), Some(body.clone()))
            .await;
        assert_eq!(res.status, 400, "{body}: {:?}", res.body);
        assert_eq!(res.code(), "validation_failed");
        assert!(
            res.body["details"].to_string().contains(field),
            "{body}: {:?}",
            res.body
        );
    }
    let res = app.get(ipp, &owner.token).await;
    assert_eq!(
        res.body["idealPartnerProfile"]["targetIndustries"],
        json!(["Software"])
    );
}
