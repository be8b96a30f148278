//! Tests of the analysis use cases, with mocked ports.

use super::*;
use crate::analysis::model::{MockLanguageModel, ModelAnswer};
use crate::analysis::ports::{AnalysisContext, MockAnalysisJobs, MockAnalysisStore};
use crate::analysis::site::{MockWebScraper, PageExtract, Source, SourceStatus};
use crate::identity::role::Role;
use crate::partners::service::tests_support::partner;
use crate::shared::clock::ManualClock;
use crate::shared::fixtures::principal;
use crate::shared::rate_limit::MockRateLimiter;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 16, 12, 0, 0).unwrap()
}

struct Fixture {
    store: MockAnalysisStore,
    jobs: MockAnalysisJobs,
    scraper: MockWebScraper,
    model: Option<MockLanguageModel>,
    limiter: MockRateLimiter,
}

impl Fixture {
    /// A partner named Acme with `domain` in `org`, no ideal profile set, `cached` in the
    /// cache.
    fn with(org: OrganizationId, domain: Option<&str>, cached: Option<CachedEnrichment>) -> Self {
        Self::named(org, "Acme", domain, cached)
    }
    fn named(
        org: OrganizationId,
        name: &str,
        domain: Option<&str>,
        cached: Option<CachedEnrichment>,
    ) -> Self {
        let domain = domain.map(str::to_owned);
        let name = name.to_owned();
        let mut store = MockAnalysisStore::new();
        store
            .expect_analysis_context()
            .returning(move |o, id, _, _| {
                let mut p = partner(o);
                p.id = id;
                p.name = name.clone();
                p.domain = domain.clone();
                Ok((o == org).then(|| AnalysisContext {
                    partner: p,
                    ideal: None,
                    cached: cached.clone(),
                }))
            });
        Self {
            store,
            jobs: MockAnalysisJobs::new(),
            scraper: MockWebScraper::new(),
            model: None,
            limiter: MockRateLimiter::new(),
        }
    }
    fn new(org: OrganizationId) -> Self {
        Self::with(org, Some("acme.com"), None)
    }
    fn service(mut self) -> AnalysisService {
        // Within the limits unless the test says otherwise (the first matching
        // expectation wins, so this one comes last).
        self.limiter
            .expect_hit()
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        AnalysisService::new(
            Arc::new(self.store),
            Arc::new(self.jobs),
            Arc::new(self.scraper),
            self.model.map(|m| Arc::new(m) as Arc<dyn LanguageModel>),
            Arc::new(self.limiter),
            Arc::new(ManualClock::new(now())),
            AnalysisSettings::default(),
        )
    }
    fn saves(&mut self) {
        self.store
            .expect_save_analysis()
            .times(1)
            .returning(|o, id, a| {
                let mut p = partner(o);
                p.id = id;
                p.fit_score = a.fit_score;
                p.ai_insights = Some(a.ai_insights);
                Ok(Some(p))
            });
    }
}

fn site() -> SiteSnapshot {
    SiteSnapshot {
        pages: vec![PageExtract {
            url: "https://acme.com/".into(),
            title: Some("Acme software platform".into()),
            ..Default::default()
        }],
        sources: vec![Source {
            url: "https://acme.com/".into(),
            status: SourceStatus::Fetched,
        }],
    }
}

fn cached(by: &str) -> CachedEnrichment {
    CachedEnrichment {
        domain: "acme.com".into(),
        enriched_by: by.into(),
        profile: EnrichedProfile {
            industry: Some("Software".into()),
            ..EnrichedProfile::empty()
        },
        sources: vec![],
        fetched_at: now() - Duration::days(1),
        expires_at: now() + Duration::days(6),
    }
}

#[tokio::test]
async fn a_cache_hit_scrapes_nothing_and_calls_no_model() {
    let p = principal(Role::Member);
    let org = p.membership().unwrap().organization_id;
    let mut f = Fixture::with(org, Some("acme.com"), Some(cached("heuristic")));
    f.store.expect_cached_enrichment().never();
    f.store.expect_lease_domain().never();
    f.scraper.expect_scrape().never();
    f.saves();
    let out = f
        .service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
    assert_eq!(out.insights["cached"], true);
    assert_eq!(out.insights["cachedAt"], "2026-05-15T12:00:00.000Z");
    assert_eq!(out.insights["enrichedBy"], "heuristic");
}

#[tokio::test]
async fn a_miss_enriches_under_the_lease_and_caches_the_result() {
    let p = principal(Role::Owner);
    let org = p.membership().unwrap().organization_id;
    let mut f = Fixture::new(org);
    f.store
        .expect_cached_enrichment()
        .times(1)
        .returning(|_, _, _| Ok(None));
    f.store
        .expect_lease_domain()
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    f.scraper.expect_scrape().times(1).returning(|_| site());
    let mut model = MockLanguageModel::new();
    model.expect_model().return_const("m1".to_owned());
    model
        .expect_enrich()
        .withf(|i| i.subject == Subject::Domain("acme.com".into()) && i.site.pages.len() == 1)
        .times(1)
        .returning(|_| {
            Ok(ModelAnswer {
                model: "m1-2026".into(),
                content: serde_json::json!({"industry": "Software", "confidence": "high"}),
            })
        });
    f.model = Some(model);
    f.store
        .expect_store_enrichment()
        .withf(|e| {
            e.enriched_by == "llm:m1"
                && e.expires_at - e.fetched_at == Duration::days(7)
                && e.profile.confidence == Confidence::High
        })
        .times(1)
        .returning(|_| Ok(()));
    f.store
        .expect_release_domain()
        .times(1)
        .returning(|_, _| Ok(()));
    f.saves();
    let out = f
        .service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
    assert_eq!(out.insights["cached"], false);
    assert_eq!(out.insights["enrichedBy"], "llm:m1");
    assert_eq!(out.insights["sources"][0]["status"], "fetched");
}

#[tokio::test]
async fn a_failing_model_changes_nothing_and_releases_the_lease() {
    let p = principal(Role::Admin);
    let org = p.membership().unwrap().organization_id;
    let mut f = Fixture::new(org);
    f.store
        .expect_cached_enrichment()
        .returning(|_, _, _| Ok(None));
    f.store
        .expect_lease_domain()
        .returning(|_, _, _, _, _| Ok(true));
    f.scraper.expect_scrape().returning(|_| site());
    let mut model = MockLanguageModel::new();
    model.expect_model().return_const("m1".to_owned());
    model
        .expect_enrich()
        .returning(|_| Err(LanguageModelError::Unavailable("500".into())));
    f.model = Some(model);
    f.store.expect_store_enrichment().never();
    f.store.expect_save_analysis().never();
    f.store
        .expect_release_domain()
        .times(1)
        .returning(|_, _| Ok(()));
    let err = f
        .service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
}

#[tokio::test]
async fn refresh_skips_the_cache_and_a_held_lease_times_out_as_busy() {
    let p = principal(Role::Member);
    let org = p.membership().unwrap().organization_id;
    let mut f = Fixture::with(org, Some("acme.com"), Some(cached("heuristic")));
    // With refresh the cached entry is skipped; no lease in time → Busy (503).
    f.limiter
        .expect_hit()
        .withf(move |bucket, limit, window, _| {
            *bucket == format!("analysis-refresh:{org}") && *limit == 20 && *window == DAY
        })
        .times(1)
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    f.store.expect_cached_enrichment().never();
    f.store
        .expect_lease_domain()
        .times(1)
        .returning(|_, _, _, _, _| Ok(false));
    f.store.expect_save_analysis().never();
    let err = f
        .service()
        .analyze(&p, PartnerId::generate(), true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn readers_cannot_analyze_and_other_organizations_get_not_found() {
    for role in [Role::Viewer, Role::Partner] {
        let f = Fixture::new(OrganizationId::generate());
        let err = f
            .service()
            .analyze(&principal(role), PartnerId::generate(), false)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Forbidden);
    }
    let f = Fixture::new(OrganizationId::generate());
    let err = f
        .service()
        .analyze(&principal(Role::Owner), PartnerId::generate(), false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn without_a_domain_the_name_alone_is_used_at_low_confidence() {
    let p = principal(Role::Member);
    let org = p.membership().unwrap().organization_id;
    let mut f = Fixture::with(org, None, None);
    f.store.expect_cached_enrichment().never();
    f.scraper.expect_scrape().never();
    let mut model = MockLanguageModel::new();
    model.expect_model().return_const("m1".to_owned());
    model
        .expect_enrich()
        .withf(|i| i.subject == Subject::Name("Acme".into()) && i.site.pages.is_empty())
        .returning(|_| {
            Ok(ModelAnswer {
                model: "m1".into(),
                content: serde_json::json!({"confidence": "high"}),
            })
        });
    f.model = Some(model);
    f.saves();
    let out = f
        .service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
    assert_eq!(out.insights["confidence"], "low");
    assert_eq!(out.insights["cachedAt"], Value::Null);
}

#[tokio::test]
async fn failed_jobs_retry_with_backoff_until_their_last_attempt() {
    for (attempt, expect_retry) in [(1, true), (3, false)] {
        let org = OrganizationId::generate();
        let mut f = Fixture::new(org);
        f.store
            .expect_cached_enrichment()
            .returning(|_, _, _| Ok(None));
        f.store
            .expect_lease_domain()
            .returning(|_, _, _, _, _| Ok(true));
        f.store.expect_release_domain().returning(|_, _| Ok(()));
        f.scraper.expect_scrape().returning(|_| site());
        let mut model = MockLanguageModel::new();
        model.expect_model().return_const("m1".to_owned());
        model
            .expect_enrich()
            .returning(|_| Err(LanguageModelError::Unavailable("503".into())));
        f.model = Some(model);
        let job = AnalysisJob {
            id: uuid::Uuid::new_v4(),
            organization_id: org,
            partner_id: PartnerId::generate(),
            attempt,
            max_attempts: 3,
        };
        f.jobs
            .expect_claim_job()
            .returning(move |_, _| Ok(Some(job.clone())));
        f.jobs
            .expect_finish_job()
            .withf(move |_, outcome, _| match outcome {
                JobOutcome::Retry { at, error } => {
                    expect_retry && *at == now() + Duration::seconds(30) && error.contains("503")
                }
                JobOutcome::Failed { error } => !expect_retry && error.contains("503"),
                JobOutcome::Succeeded | JobOutcome::Deferred { .. } => false,
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        assert!(f.service().run_next_job().await.unwrap());
    }
}

#[tokio::test]
async fn an_unchanged_cached_analysis_is_not_written_again() {
    let p = principal(Role::Member);
    let org = p.membership().unwrap().organization_id;
    // First analysis: capture what is written.
    let written = Arc::new(std::sync::Mutex::new(None));
    let mut f = Fixture::with(org, Some("acme.com"), Some(cached("heuristic")));
    let w = written.clone();
    f.store
        .expect_save_analysis()
        .times(1)
        .returning(move |o, id, a| {
            *w.lock().unwrap() = Some(a.clone());
            let mut p = partner(o);
            p.id = id;
            Ok(Some(p))
        });
    f.service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
    let a = written.lock().unwrap().clone().unwrap();

    // The partner as stored after it.
    let stored = move |o: OrganizationId| {
        let mut s = partner(o);
        s.domain = Some("acme.com".into());
        s.industry = a.profile.industry.clone();
        s.fit_score = a.fit_score;
        s.tier = a.auto_tier.clone();
        s.tier_source = a.auto_tier.as_ref().map(|_| TierSource::Auto);
        s.ai_insights = Some(a.ai_insights.clone());
        s
    };
    let context = |stored: Partner, ideal: Option<IdealPartnerProfile>| {
        let mut store = MockAnalysisStore::new();
        store
            .expect_analysis_context()
            .returning(move |_, _, _, _| {
                Ok(Some(AnalysisContext {
                    partner: stored.clone(),
                    ideal: ideal.clone(),
                    cached: Some(cached("heuristic")),
                }))
            });
        store
    };
    let mut f = Fixture::new(org);
    f.store = context(stored(org), None);
    f.store.expect_save_analysis().never();
    let out = f
        .service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
    assert_eq!(out.partner.ai_insights.as_ref(), Some(&out.insights));

    // A changed ideal profile changes the score: written again.
    let mut f = Fixture::new(org);
    let ideal = IdealPartnerProfile {
        target_industries: vec!["Software".into()],
        ..Default::default()
    };
    f.store = context(stored(org), Some(ideal));
    f.saves();
    f.service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
}

const SECRET: &str = "Project Falcon CONFIDENTIAL";

/// A miss on acme.com whose lease is free, for a partner named [`SECRET`].
fn confidential_miss(org: OrganizationId) -> Fixture {
    let mut f = Fixture::named(org, SECRET, Some("acme.com"), None);
    f.store
        .expect_cached_enrichment()
        .returning(|_, _, _| Ok(None));
    f.store
        .expect_lease_domain()
        .returning(|_, _, _, _, _| Ok(true));
    f.store.expect_release_domain().returning(|_, _| Ok(()));
    f.scraper.expect_scrape().returning(|_| site());
    f.store
        .expect_store_enrichment()
        .withf(|e| !format!("{e:?}").contains("Falcon"))
        .times(1)
        .returning(|_| Ok(()));
    f.saves();
    f
}

#[tokio::test]
async fn the_model_is_asked_about_the_domain_without_the_organizations_partner_name() {
    let p = principal(Role::Member);
    let org = p.membership().unwrap().organization_id;
    let mut f = confidential_miss(org);
    let mut model = MockLanguageModel::new();
    model.expect_model().return_const("m1".to_owned());
    model
        .expect_enrich()
        .withf(|i| {
            i.subject == Subject::Domain("acme.com".into()) && !format!("{i:?}").contains("Falcon")
        })
        .times(1)
        .returning(|_| {
            Ok(ModelAnswer {
                model: "m1".into(),
                content: serde_json::json!({"summary": "A software vendor.", "confidence": "high"}),
            })
        });
    f.model = Some(model);
    let out = f
        .service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
    assert_eq!(out.insights["summary"], "A software vendor.");
}

#[tokio::test]
async fn the_heuristic_enrichment_of_a_domain_holds_nothing_of_the_partners_name() {
    let p = principal(Role::Member);
    let org = p.membership().unwrap().organization_id;
    let out = confidential_miss(org)
        .service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
    let summary = out.insights["summary"].as_str().unwrap();
    assert!(summary.starts_with("acme.com: "), "{summary}");
}

fn limited(bucket: String, per_day: u32, retry_after_secs: u64) -> MockRateLimiter {
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_hit()
        .withf(move |b, limit, window, _| *b == bucket && *limit == per_day && *window == DAY)
        .times(1)
        .returning(move |_, _, _, _| Ok(RateDecision::Limited { retry_after_secs }));
    limiter
}

#[tokio::test]
async fn a_refresh_over_the_daily_limit_is_refused_before_anything_is_read() {
    let p = principal(Role::Member);
    let org = p.membership().unwrap().organization_id;
    let mut f = Fixture::with(org, Some("acme.com"), Some(cached("heuristic")));
    f.limiter = limited(format!("analysis-refresh:{org}"), 20, 3600);
    f.store.expect_lease_domain().never();
    f.store.expect_cached_enrichment().never();
    f.scraper.expect_scrape().never();
    f.store.expect_save_analysis().never();
    let err = f
        .service()
        .analyze(&p, PartnerId::generate(), true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(3600));
    assert_eq!(
        err.to_string(),
        "this organization has used its 20 analysis refreshes for today (the limit counts \
         the last 24 hours)"
    );
    assert_eq!(
        over_limit(DailyLimit::Refreshes, 0),
        "analysis refreshes are turned off on this server"
    );
}

#[tokio::test]
async fn the_model_call_limit_refuses_before_the_scrape_and_saves_nothing() {
    let p = principal(Role::Member);
    let org = p.membership().unwrap().organization_id;
    for domain in [Some("acme.com"), None] {
        let mut f = Fixture::with(org, domain, None);
        f.limiter = limited(format!("llm-call:{org}"), 200, 7200);
        f.store
            .expect_cached_enrichment()
            .returning(|_, _, _| Ok(None));
        f.store
            .expect_lease_domain()
            .returning(|_, _, _, _, _| Ok(true));
        f.store
            .expect_release_domain()
            .times(usize::from(domain.is_some()))
            .returning(|_, _| Ok(()));
        f.scraper.expect_scrape().never();
        let mut model = MockLanguageModel::new();
        model.expect_model().return_const("m1".to_owned());
        model.expect_enrich().never();
        f.model = Some(model);
        f.store.expect_store_enrichment().never();
        f.store.expect_save_analysis().never();
        let err = f
            .service()
            .analyze(&p, PartnerId::generate(), false)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(7200));
        assert!(
            err.to_string().contains("its 200 language-model calls"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_cache_hit_or_another_requests_result_costs_no_model_call() {
    let p = principal(Role::Member);
    let org = p.membership().unwrap().organization_id;
    let model = || {
        let mut model = MockLanguageModel::new();
        model.expect_model().return_const("m1".to_owned());
        model.expect_enrich().never();
        model
    };
    // Read with the context.
    let mut f = Fixture::with(org, Some("acme.com"), Some(cached("llm:m1")));
    f.model = Some(model());
    f.limiter.expect_hit().never();
    f.saves();
    let out = f
        .service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
    assert_eq!(out.insights["cached"], true);

    // Made by the request that held the lease before this one.
    let mut f = Fixture::with(org, Some("acme.com"), None);
    f.model = Some(model());
    f.limiter.expect_hit().never();
    f.store
        .expect_lease_domain()
        .returning(|_, _, _, _, _| Ok(true));
    f.store
        .expect_cached_enrichment()
        .returning(|_, _, _| Ok(Some(cached("llm:m1"))));
    f.store.expect_release_domain().returning(|_, _| Ok(()));
    f.scraper.expect_scrape().never();
    f.saves();
    let out = f
        .service()
        .analyze(&p, PartnerId::generate(), false)
        .await
        .unwrap();
    assert_eq!(out.insights["cached"], true);
}

#[tokio::test]
async fn a_job_over_the_daily_limit_waits_for_it_without_using_an_attempt() {
    let org = OrganizationId::generate();
    let mut f = Fixture::with(org, None, None);
    f.limiter = limited(format!("llm-call:{org}"), 200, 3600);
    let mut model = MockLanguageModel::new();
    model.expect_model().return_const("m1".to_owned());
    model.expect_enrich().never();
    f.model = Some(model);
    // Its last attempt: a failure would give it up.
    let job = AnalysisJob {
        id: uuid::Uuid::new_v4(),
        organization_id: org,
        partner_id: PartnerId::generate(),
        attempt: 4,
        max_attempts: 4,
    };
    f.jobs
        .expect_claim_job()
        .returning(move |_, _| Ok(Some(job.clone())));
    f.jobs
        .expect_finish_job()
        .withf(|_, outcome, _| {
            matches!(outcome, JobOutcome::Deferred { at, error }
                if *at == now() + Duration::hours(1) && error.contains("language-model calls"))
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    assert!(f.service().run_next_job().await.unwrap());
}

#[test]
fn backoff_grows_and_is_capped() {
    assert_eq!(job_backoff(1), Duration::seconds(30));
    assert_eq!(job_backoff(2), Duration::seconds(120));
    assert_eq!(job_backoff(3), Duration::seconds(480));
    assert_eq!(job_backoff(20), Duration::hours(1));
    assert_eq!(tier_for(90), "Platinum");
    assert_eq!(tier_for(39), "Registered");
}
