//! Partner analysis through the API: the daily limits on refreshes and model calls, for requests
//! and for background jobs.

use super::analysis::*;
use super::helpers::*;
use serde_json::Value;
use wiremock::ResponseTemplate;

#[tokio::test]
async fn refreshes_over_the_daily_limit_answer_429_until_a_day_has_passed() {
    let site = site().await;
    let mut o = options(&site, None);
    o.config = Box::new(|c| c.analysis.refreshes_per_day = 2);
    let app = spawn_app_with(o).await;
    let owner = app.owner("refresh-limit").await;
    let other = app.owner("refresh-limit-other").await;
    let p = app
        .create_partner(&owner.token, "Acme", Some("acme.test"))
        .await;
    for _ in 0..2 {
        let res = analyze(&app, &owner.token, id(&p), "?refresh=true").await;
        assert_eq!(res.status, 200, "{:?}", res.body);
    }
    let fetched = hits(&site, "/").await;
    let path = format!("/api/partners/{}", id(&p));
    let before = app.get(&path, &owner.token).await;
    let events = app.count("events").await;

    let res = analyze(&app, &owner.token, id(&p), "?refresh=true").await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (429, "rate_limited"),
        "{:?}",
        res.body
    );
    assert_eq!(res.headers["retry-after"], "86400");
    let message = res.body["error"].as_str().unwrap();
    assert!(
        message.contains("has used its 2 analysis refreshes"),
        "{message}"
    );
    assert_eq!(hits(&site, "/").await, fetched, "fetched over the limit");
    assert_eq!(app.get(&path, &owner.token).await.body, before.body);
    assert_eq!(app.count("events").await, events);

    // The cache still answers, and another organization has its own allowance.
    let res = analyze(&app, &owner.token, id(&p), "").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let q = app
        .create_partner(&other.token, "Acme", Some("acme.test"))
        .await;
    let res = analyze(&app, &other.token, id(&q), "?refresh=true").await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    // The window rolls: a day after the first refreshes they are free again.
    app.clock.advance(chrono::Duration::hours(24));
    let res = analyze(&app, &owner.token, id(&p), "?refresh=true").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["aiInsights"]["cached"], false);
}

#[tokio::test]
async fn model_calls_over_the_daily_limit_answer_429_before_anything_is_fetched() {
    let site = site().await;
    let model = llm(ResponseTemplate::new(200).set_body_json(completion(good_answer()))).await;
    let mut o = options(&site, Some(&model));
    o.sites.push(("beta.test", LOCAL));
    o.config = Box::new(|c| c.analysis.llm_calls_per_day = 2);
    let app = spawn_app_with(o).await;
    let owner = app.owner("calls").await;
    let acme = app
        .create_partner(&owner.token, "Acme", Some("acme.test"))
        .await;
    let bare = app.create_partner(&owner.token, "Nameless", None).await;
    let beta = app
        .create_partner(&owner.token, "Beta", Some("beta.test"))
        .await;
    for p in [&acme, &bare] {
        let res = analyze(&app, &owner.token, id(p), "").await;
        assert_eq!(res.status, 200, "{:?}", res.body);
    }
    // A cache hit costs no call (another organization's, or this one's again).
    let other = app.owner("calls-other").await;
    let cached = app
        .create_partner(&other.token, "Acme", Some("acme.test"))
        .await;
    let res = analyze(&app, &other.token, id(&cached), "").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["aiInsights"]["cached"], true);
    let res = analyze(&app, &owner.token, id(&acme), "").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(hits(&model, "/v1/chat/completions").await, 2);
    let fetched = hits(&site, "/").await;

    for p in [&beta, &bare] {
        let res = analyze(&app, &owner.token, id(p), "").await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (429, "rate_limited"),
            "{:?}",
            res.body
        );
        assert_eq!(res.headers["retry-after"], "86400");
        let message = res.body["error"].as_str().unwrap();
        assert!(
            message.contains("has used its 2 language-model calls"),
            "{message}"
        );
    }
    assert_eq!(hits(&model, "/v1/chat/completions").await, 2);
    assert_eq!(hits(&site, "/").await, fetched, "fetched over the limit");
    let stored = app
        .get(&format!("/api/partners/{}", id(&beta)), &owner.token)
        .await;
    assert_eq!(stored.body["partner"]["analyzedAt"], Value::Null);
    assert_eq!(app.count("domain_enrichments").await, 1);
    assert_eq!(app.count("domain_leases").await, 0);

    app.clock.advance(chrono::Duration::hours(24));
    let res = analyze(&app, &owner.token, id(&beta), "").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(hits(&model, "/v1/chat/completions").await, 3);
}

#[tokio::test]
async fn a_background_job_over_the_model_call_limit_waits_for_the_window_without_using_attempts() {
    let site = site().await;
    let model = llm(ResponseTemplate::new(200).set_body_json(completion(good_answer()))).await;
    let mut o = options(&site, Some(&model));
    o.analysis_workers = 1;
    o.config = Box::new(|c| c.analysis.llm_calls_per_day = 1);
    let app = spawn_app_with(o).await;
    let owner = app.owner("deferred").await;
    // The day's one call goes to a partner without a domain (which queues no job).
    let bare = app.create_partner(&owner.token, "Nameless", None).await;
    let res = analyze(&app, &owner.token, id(&bare), "").await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    app.create_partner(&owner.token, "Acme", Some("acme.test"))
        .await;
    wait_for(|| async { job(&app).await.2.is_some() }).await;
    let (status, attempts, error) = job(&app).await;
    assert_eq!((status.as_str(), attempts), ("queued", 0));
    assert!(
        error.as_deref().unwrap().contains("1 language-model calls"),
        "{error:?}"
    );
    let client = app.db.client().await;
    let run_at: String = client
        .query_one(
            "SELECT to_char(run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM analysis_jobs",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(run_at, "2026-05-17 12:00");
    assert_eq!(hits(&model, "/v1/chat/completions").await, 1);
    assert_eq!(hits(&site, "/").await, 0);

    app.clock.advance(chrono::Duration::hours(24));
    wait_for(|| async { job(&app).await.0 == "succeeded" }).await;
    assert_eq!(job(&app).await.1, 1);
    assert_eq!(hits(&model, "/v1/chat/completions").await, 2);
}
