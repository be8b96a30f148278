//! Partner analysis through the API: the enrichment cache shared by every organization, single
//! flight across two instances, and nothing of one organization in what the cache holds or
//! another organization sees.

use super::analysis::*;
use super::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// `analysis_cache_lookups_total` for this stage and result, from `/metrics`.
async fn lookups(app: &TestApp, stage: &str, result: &str) -> u64 {
    let res = app.call(Method::GET, "/metrics", None, None).await;
    let series = format!("analysis_cache_lookups_total{{stage=\"{stage}\",result=\"{result}\"}} ");
    res.body
        .as_str()
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(series.as_str()))
        .map_or(0, |n| n.trim().parse().unwrap())
}

#[tokio::test]
async fn another_organization_reuses_the_cache_without_scrape_or_model_call() {
    let site = site().await;
    let model = llm(ResponseTemplate::new(200).set_body_json(completion(good_answer()))).await;
    let app = spawn_app_with(options(&site, Some(&model))).await;
    let a = app.owner("cache-a").await;
    let b = app.owner("cache-b").await;
    let pa = app
        .create_partner(&a.token, "Acme", Some("acme.test"))
        .await;
    let pb = app
        .create_partner(&b.token, "Acme GmbH", Some("acme.test"))
        .await;

    let first = analyze(&app, &a.token, pa["id"].as_str().unwrap(), "").await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["aiInsights"]["enrichedBy"], "llm:test-model");
    assert_eq!(first.body["aiInsights"]["confidence"], "high");
    assert_eq!(first.body["partner"]["companyRevenue"], "$10M-$50M");
    assert_eq!(first.body["partner"]["products"], json!(["Acme CRM"]));
    assert_eq!(hits(&model, "/v1/chat/completions").await, 1);
    assert_eq!(hits(&site, "/").await, 1);
    // One miss when reading, and the second look under the lease, counted apart.
    assert_eq!(lookups(&app, "read", "miss").await, 1);
    assert_eq!(lookups(&app, "lease", "miss").await, 1);

    let second = analyze(&app, &b.token, pb["id"].as_str().unwrap(), "").await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(second.body["aiInsights"]["cached"], true);
    assert_eq!(second.body["partner"]["industry"], "Software");
    assert_eq!(second.body["partner"]["organizationId"], b.organization_id);
    assert_eq!(hits(&model, "/v1/chat/completions").await, 1);
    assert_eq!(hits(&site, "/").await, 1);
    assert_eq!(lookups(&app, "read", "hit").await, 1);
    assert_eq!(
        lookups(&app, "lease", "miss").await,
        1,
        "a hit needs no lease"
    );

    // ?refresh=true bypasses the cache.
    let again = analyze(&app, &b.token, pb["id"].as_str().unwrap(), "?refresh=true").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["aiInsights"]["cached"], false);
    assert_eq!(hits(&model, "/v1/chat/completions").await, 2);
    assert_eq!(hits(&site, "/").await, 2);

    // Seven days on, the entry has expired.
    app.clock.advance(chrono::Duration::days(7));
    // (the session has idled out by then too)
    let signed_in = app.sign_in("owner-cache-a@example.com", PASSWORD).await;
    let token = signed_in.body["token"].as_str().unwrap();
    let later = analyze(&app, token, pa["id"].as_str().unwrap(), "").await;
    assert_eq!(later.status, 200);
    assert_eq!(later.body["aiInsights"]["cached"], false);
    assert_eq!(hits(&model, "/v1/chat/completions").await, 3);
}

#[tokio::test]
async fn fifty_concurrent_analyses_over_two_instances_make_one_fetch_and_one_model_call() {
    let site = site().await;
    let model = llm(ResponseTemplate::new(200)
        .set_body_json(completion(good_answer()))
        .set_delay(std::time::Duration::from_millis(300)))
    .await;
    let one = spawn_app_with(options(&site, Some(&model))).await;
    let mut o = options(&site, Some(&model));
    o.database_url = Some(one.db.url().to_owned());
    let two = spawn_app_with(o).await;
    // Fifty organizations (a domain is unique within one), each with a partner at acme.test.
    let mut jobs = Vec::new();
    for i in 0..50 {
        let owner = one.owner(&format!("flight-{i}")).await;
        let p = one
            .create_partner(&owner.token, "Acme", Some("acme.test"))
            .await;
        jobs.push((owner.token, p["id"].as_str().unwrap().to_owned()));
    }
    let results = futures::future::join_all(jobs.iter().enumerate().map(|(i, (token, id))| {
        let app = if i % 2 == 0 { &one } else { &two };
        analyze(app, token, id, "")
    }))
    .await;
    for r in &results {
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["partner"]["industry"], "Software");
    }
    assert_eq!(hits(&site, "/").await, 1);
    assert_eq!(hits(&model, "/v1/chat/completions").await, 1);
    let fresh = results
        .iter()
        .filter(|r| r.body["aiInsights"]["cached"] == false)
        .count();
    assert_eq!(fresh, 1);
}

/// One organization's internal name for a partner.
const SECRET: &str = "Project Falcon CONFIDENTIAL";

/// A model that repeats what it is told: its summary and strength name the company as the
/// request named it (its name if it was sent, else its domain).
struct Parrot;

impl wiremock::Respond for Parrot {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let user = body["messages"][1]["content"].as_str().unwrap();
        let start = user.find("<<<BEGIN UNTRUSTED DATA>>>").unwrap() + 26;
        let end = user.find("<<<END UNTRUSTED DATA>>>").unwrap();
        let data: Value = serde_json::from_str(&user[start..end]).unwrap();
        let who = data["company_name"]
            .as_str()
            .or(data["domain"].as_str())
            .unwrap();
        let mut answer = good_answer();
        answer["summary"] = json!(format!("{who} sells CRM software."));
        answer["strengths"] = json!([{"label": who, "description": format!("{who} is focused.")}]);
        ResponseTemplate::new(200).set_body_json(completion(answer))
    }
}

/// Cache entries that mention `text` anywhere.
async fn cache_mentions(app: &TestApp, text: &str) -> i64 {
    let client = app.db.client().await;
    client
        .query_one(
            "SELECT count(*) FROM domain_enrichments \
             WHERE profile::text LIKE '%' || $1 || '%' OR sources::text LIKE '%' || $1 || '%'",
            &[&text],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_partners_name_is_not_sent_with_its_domain_nor_shown_to_another_organization() {
    let site = site().await;
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Parrot)
        .mount(&model)
        .await;
    let app = spawn_app_with(options(&site, Some(&model))).await;
    let a = app.owner("falcon-a").await;
    let b = app.owner("falcon-b").await;
    let pa = app
        .create_partner(&a.token, SECRET, Some("acme.test"))
        .await;
    let pb = app
        .create_partner(&b.token, "Acme", Some("acme.test"))
        .await;

    let first = analyze(&app, &a.token, id(&pa), "").await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let sent = model.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    let request = String::from_utf8_lossy(&sent[0].body);
    assert!(!request.contains("Falcon"), "{request}");
    assert!(request.contains("acme.test"));
    assert_eq!(
        first.body["aiInsights"]["summary"],
        "acme.test sells CRM software."
    );

    let second = analyze(&app, &b.token, id(&pb), "").await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(second.body["aiInsights"]["cached"], true);
    assert!(
        !second.body.to_string().contains("Falcon"),
        "{}",
        second.body
    );
    let stored = app
        .get(&format!("/api/partners/{}", id(&pb)), &b.token)
        .await;
    assert!(!stored.body.to_string().contains("Falcon"));
    assert_eq!(cache_mentions(&app, "Falcon").await, 0);
    assert_eq!(model.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_heuristic_cache_holds_nothing_of_the_organization_that_filled_it() {
    let site = site().await;
    let app = spawn_app_with(options(&site, None)).await;
    let a = app.owner("falcon-heur-a").await;
    let b = app.owner("falcon-heur-b").await;
    let pa = app
        .create_partner(&a.token, SECRET, Some("acme.test"))
        .await;
    let pb = app
        .create_partner(&b.token, "Acme", Some("acme.test"))
        .await;

    let first = analyze(&app, &a.token, id(&pa), "").await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let second = analyze(&app, &b.token, id(&pb), "").await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(second.body["aiInsights"]["cached"], true);
    assert_eq!(second.body["partner"]["industry"], "Software");
    assert!(
        !second.body.to_string().contains("Falcon"),
        "{}",
        second.body
    );
    assert_eq!(cache_mentions(&app, "Falcon").await, 0);

    // Without a domain the name is all there is: that enrichment is A's alone, never cached.
    let bare = app
        .create_partner(&a.token, "Falcon Skunkworks", None)
        .await;
    let res = analyze(&app, &a.token, id(&bare), "").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["aiInsights"]["cachedAt"], Value::Null);
    assert_eq!(app.count("domain_enrichments").await, 1);
    assert_eq!(cache_mentions(&app, "Falcon").await, 0);
}
