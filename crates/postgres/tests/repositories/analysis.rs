//! The analysis store: the shared domain cache and its single-flight leases, the ideal
//! profiles, the analysis write (under the partner's row lock) and the job queue
//! (`FOR UPDATE SKIP LOCKED`, attempts and back-off).

use crate::helpers::*;
use chrono::{DateTime, Duration, Utc};
use partneros_domain::analysis::ports::{
    AnalysisJobs, AnalysisStore, CachedEnrichment, JobOutcome, PartnerAnalysis,
};
use partneros_domain::analysis::profile::{Confidence, EnrichedProfile};
use partneros_domain::analysis::scoring::IdealPartnerProfile;
use partneros_domain::analysis::site::{Source, SourceStatus};
use partneros_domain::partners::model::{PartnerPatch, TierSource};
use partneros_domain::partners::ports::PartnerStore;
use partneros_domain::shared::ids::{OrganizationId, PartnerId};
use partneros_postgres::Database;
use std::collections::HashSet;
use uuid::Uuid;

const HEURISTIC: &str = "heuristic";
const LEASE: std::time::Duration = std::time::Duration::from_millis(0);

fn profile(industry: &str, products: &[&str]) -> EnrichedProfile {
    let mut p = EnrichedProfile::empty();
    p.industry = Some(industry.to_owned());
    p.description = Some(format!("{industry} company"));
    p.employees = Some(120);
    p.employees_range = Some("51-200".into());
    p.regions = vec!["Europe".into()];
    p.languages = vec!["de".into(), "en".into()];
    p.services = vec!["Integration".into()];
    p.products = products.iter().map(|p| (*p).to_owned()).collect();
    p.confidence = Confidence::Medium;
    p
}

fn entry(
    domain: &str,
    enriched_by: &str,
    industry: &str,
    fetched_at: DateTime<Utc>,
) -> CachedEnrichment {
    CachedEnrichment {
        domain: domain.to_owned(),
        enriched_by: enriched_by.to_owned(),
        profile: profile(industry, &[]),
        sources: vec![Source {
            url: format!("https://{domain}/"),
            status: SourceStatus::Fetched,
        }],
        fetched_at,
        expires_at: fetched_at + Duration::days(7),
    }
}

fn analysis(products: &[&str], auto_tier: Option<&str>, at: DateTime<Utc>) -> PartnerAnalysis {
    PartnerAnalysis {
        profile: profile("Software", products),
        fit_score: Some(81),
        auto_tier: auto_tier.map(str::to_owned),
        ai_insights: serde_json::json!({"enrichedBy": HEURISTIC, "cached": false}),
        analyzed_at: at,
    }
}

/// An organization with an owner, named after `slug`.
async fn organization(store: &Database, slug: &str) -> OrganizationId {
    let owner = user(store, &format!("owner@{slug}.example")).await;
    org(store, owner, slug).await
}

/// Sets the partner's tier and products by hand.
async fn hand_edit(
    store: &Database,
    o: OrganizationId,
    p: PartnerId,
    tier: &str,
    products: &[&str],
) {
    let patch = PartnerPatch {
        tier: Some(Some(text(tier))),
        tier_source: Some(Some(TierSource::Manual)),
        products: Some(products.iter().map(|p| (*p).to_owned()).collect()),
        ..PartnerPatch::default()
    };
    store
        .update_partner(o, p, patch, t0())
        .await
        .unwrap()
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The domain cache

#[tokio::test]
async fn the_domain_cache_serves_unexpired_entries_per_enricher() {
    let (_db, store) = setup().await;
    let now = t0();
    let first = entry("globex.io", HEURISTIC, "Retail", now);
    store.store_enrichment(&first).await.unwrap();

    assert_eq!(
        store
            .cached_enrichment("globex.io", HEURISTIC, now)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .cached_enrichment("globex.io", "llm:small", now)
            .await
            .unwrap(),
        None,
        "kept per enricher"
    );
    assert_eq!(
        store
            .cached_enrichment("initech.io", HEURISTIC, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .cached_enrichment("globex.io", HEURISTIC, first.expires_at)
            .await
            .unwrap(),
        None,
        "expired at its expiry"
    );

    // Storing again replaces the entry.
    let second = entry("globex.io", HEURISTIC, "Software", now + Duration::hours(1));
    store.store_enrichment(&second).await.unwrap();
    assert_eq!(
        store
            .cached_enrichment("globex.io", HEURISTIC, now)
            .await
            .unwrap(),
        Some(second)
    );
}

#[tokio::test]
async fn the_analysis_context_joins_the_ideal_profile_and_the_cache_entry_of_the_organization() {
    let (_db, store) = setup().await;
    let acme = organization(&store, "acme").await;
    let globex = organization(&store, "globex").await;
    let p = partner(&store, acme, "Initech", Some("initech.io")).await;
    let now = t0();

    let bare = store
        .analysis_context(acme, p.id, HEURISTIC, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (bare.partner.id, bare.ideal, bare.cached),
        (p.id, None, None)
    );

    let ideal = IdealPartnerProfile {
        target_industries: vec!["Software".into()],
        ..IdealPartnerProfile::default()
    };
    store
        .save_ideal_profile(acme, &ideal, None, now)
        .await
        .unwrap();
    let cached = entry("initech.io", HEURISTIC, "Software", now);
    store.store_enrichment(&cached).await.unwrap();
    let full = store
        .analysis_context(acme, p.id, HEURISTIC, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (full.ideal, full.cached),
        (Some(ideal.clone()), Some(cached))
    );
    assert_eq!(
        store
            .analysis_context(acme, p.id, "llm:small", now)
            .await
            .unwrap()
            .unwrap()
            .cached,
        None
    );

    // Another organization sees neither the partner nor the ideal profile.
    assert_eq!(
        store
            .analysis_context(globex, p.id, HEURISTIC, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.ideal_profile(globex).await.unwrap(), None);
    assert_eq!(store.ideal_profile(acme).await.unwrap(), Some((ideal, now)));
}

// ---------------------------------------------------------------------------------------------
// Single-flight leases

#[tokio::test]
async fn a_domain_lease_has_one_holder_at_a_time() {
    let (_db, store) = setup().await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let lease = Duration::minutes(1);
    let now = t0();
    assert!(
        store
            .lease_domain("globex.io", a, lease, LEASE, now)
            .await
            .unwrap()
    );
    let waited = std::time::Duration::from_millis(150);
    assert!(
        !store
            .lease_domain("globex.io", b, lease, waited, now)
            .await
            .unwrap(),
        "held by a"
    );
    assert!(
        store
            .lease_domain("initech.io", b, lease, LEASE, now)
            .await
            .unwrap(),
        "leases are per domain"
    );

    // Only the holder gives the lease up.
    store.release_domain("globex.io", b).await.unwrap();
    assert!(
        !store
            .lease_domain("globex.io", b, lease, LEASE, now)
            .await
            .unwrap()
    );
    store.release_domain("globex.io", a).await.unwrap();
    assert!(
        store
            .lease_domain("globex.io", b, lease, LEASE, now)
            .await
            .unwrap()
    );
    // Releasing a lease no longer held is fine.
    store.release_domain("globex.io", a).await.unwrap();
}

#[tokio::test]
async fn an_expired_lease_passes_to_the_next_holder() {
    let (_db, store) = setup().await;
    let (crashed, next, late) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let lease = Duration::minutes(1);
    let now = t0();
    assert!(
        store
            .lease_domain("globex.io", crashed, lease, LEASE, now)
            .await
            .unwrap()
    );
    let later = now + Duration::minutes(2);
    assert!(
        store
            .lease_domain("globex.io", next, lease, LEASE, later)
            .await
            .unwrap()
    );
    // The crashed holder's late release does not free the new holder's lease.
    store.release_domain("globex.io", crashed).await.unwrap();
    assert!(
        !store
            .lease_domain("globex.io", late, lease, LEASE, later)
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_leaseholder_takes_the_lease_once_released() {
    let (_db, store) = setup().await;
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let lease = Duration::minutes(1);
    assert!(
        store
            .lease_domain("globex.io", first, lease, LEASE, t0())
            .await
            .unwrap()
    );
    let waiting = tokio::spawn({
        let store = store.clone();
        async move {
            let wait = std::time::Duration::from_secs(5);
            store
                .lease_domain("globex.io", second, lease, wait, t0())
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "waits while the lease is held");
    store.release_domain("globex.io", first).await.unwrap();
    assert!(waiting.await.unwrap().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_lease_requests_have_exactly_one_winner() {
    let (_db, store) = setup().await;
    let now = t0();
    let tries: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .lease_domain(
                        "globex.io",
                        Uuid::new_v4(),
                        Duration::minutes(1),
                        LEASE,
                        now,
                    )
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for t in tries {
        winners += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(winners, 1);
}

// ---------------------------------------------------------------------------------------------
// The analysis write

#[tokio::test]
async fn saving_an_analysis_writes_its_fields_merges_products_and_records_the_event() {
    let (db, store) = setup().await;
    let acme = organization(&store, "acme").await;
    let p = partner(&store, acme, "Globex", Some("globex.io")).await;
    hand_edit(&store, acme, p.id, "Strategic", &["Payments", "CRM"]).await;
    // An automatic tier, so the analysis may replace it.
    db.client()
        .await
        .batch_execute(&format!(
            "UPDATE partners SET tier = 'bronze', tier_source = 'auto' WHERE id = '{}'",
            p.id
        ))
        .await
        .unwrap();
    let at = t0() + Duration::seconds(5);

    let saved = store
        .save_analysis(acme, p.id, analysis(&["crm", "Billing"], Some("gold"), at))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.products, ["Payments", "CRM", "Billing"]);
    assert_eq!(
        (saved.tier.as_deref(), saved.tier_source),
        (Some("gold"), Some(TierSource::Auto))
    );
    assert_eq!(
        (saved.industry.as_deref(), saved.employees, saved.fit_score),
        (Some("Software"), Some(120), Some(81))
    );
    assert_eq!(
        (saved.regions.as_slice(), saved.languages.len()),
        (&["Europe".to_owned()][..], 2)
    );
    assert_eq!((saved.analyzed_at, saved.updated_at), (Some(at), at));
    assert_eq!(store.get_partner(acme, p.id).await.unwrap(), Some(saved));
    assert_eq!(
        count(
            &db,
            &format!(
                "events WHERE kind = 'partner_analyzed' AND organization_id = '{acme}' \
                 AND payload->>'partnerId' = '{}' AND (payload->>'fitScore')::int = 81 \
                 AND payload->>'enrichedBy' = 'heuristic'",
                p.id
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn saving_an_analysis_leaves_a_hand_set_tier_alone() {
    let (_db, store) = setup().await;
    let acme = organization(&store, "acme").await;
    let p = partner(&store, acme, "Globex", Some("globex.io")).await;
    hand_edit(&store, acme, p.id, "Strategic", &[]).await;

    let saved = store
        .save_analysis(acme, p.id, analysis(&[], Some("gold"), t0()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (saved.tier.as_deref(), saved.tier_source),
        (Some("Strategic"), Some(TierSource::Manual))
    );
    // Without a derived tier, nothing about the tier changes either.
    let saved = store
        .save_analysis(acme, p.id, analysis(&[], None, t0()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.tier.as_deref(), Some("Strategic"));
}

#[tokio::test]
async fn saving_an_analysis_of_another_organizations_partner_writes_nothing() {
    let (db, store) = setup().await;
    let acme = organization(&store, "acme").await;
    let globex = organization(&store, "globex").await;
    let p = partner(&store, acme, "Initech", Some("initech.io")).await;
    let before = snapshot(&db, &["partners", "events"]).await;

    let result = store
        .save_analysis(globex, p.id, analysis(&["CRM"], Some("gold"), t0()))
        .await;
    assert_eq!(result.unwrap(), None);
    let missing = PartnerId::generate();
    assert_eq!(
        store
            .save_analysis(acme, missing, analysis(&[], None, t0()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(snapshot(&db, &["partners", "events"]).await, before);
}

/// A hand edit committed while the analysis is being written is never overwritten: the write
/// waits for the edit's row lock and decides over the edited values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_hand_edit_wins_over_the_analysis_write() {
    let (db, store) = setup().await;
    let acme = organization(&store, "acme").await;
    let p = partner(&store, acme, "Globex", Some("globex.io")).await;

    let editing = db.client().await;
    editing
        .batch_execute(&format!(
            "BEGIN; UPDATE partners SET tier = 'Strategic', tier_source = 'manual', \
             products = ARRAY['Payments'] WHERE id = '{}'",
            p.id
        ))
        .await
        .unwrap();
    let save = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .save_analysis(
                    acme,
                    p.id,
                    analysis(&["payments", "Billing"], Some("gold"), t0()),
                )
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!save.is_finished(), "the write waits for the hand edit");
    editing.batch_execute("COMMIT").await.unwrap();

    let saved = save.await.unwrap().unwrap().unwrap();
    assert_eq!(
        (saved.tier.as_deref(), saved.tier_source),
        (Some("Strategic"), Some(TierSource::Manual))
    );
    assert_eq!(saved.products, ["Payments", "Billing"]);
}

// ---------------------------------------------------------------------------------------------
// The job queue

/// The job queued with the partner (creating a partner with a domain queues its analysis).
async fn queued_partner(store: &Database, o: OrganizationId, domain: &str) -> PartnerId {
    partner(store, o, domain, Some(domain)).await.id
}

#[tokio::test]
async fn a_partner_with_a_domain_queues_one_job_claimed_once_until_its_lock_expires() {
    let (_db, store) = setup().await;
    let acme = organization(&store, "acme").await;
    let pid = queued_partner(&store, acme, "globex.io").await;
    partner(&store, acme, "No domain", None).await;
    assert_eq!(store.queue_depth().await.unwrap(), 1);

    let now = t0() + Duration::seconds(1);
    let lock = Duration::minutes(5);
    let job = store.claim_job(now, lock).await.unwrap().unwrap();
    assert_eq!(
        (
            job.organization_id,
            job.partner_id,
            job.attempt,
            job.max_attempts
        ),
        (acme, pid, 1, partneros_postgres::JOB_ATTEMPTS)
    );
    assert_eq!(store.claim_job(now, lock).await.unwrap(), None, "locked");
    assert_eq!(store.queue_depth().await.unwrap(), 1, "running counts");

    // A worker that died leaves a lock that expires: the job is claimed again, a new attempt.
    let retaken = store
        .claim_job(now + lock + Duration::seconds(1), lock)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((retaken.id, retaken.attempt), (job.id, 2));

    store
        .finish_job(job.id, JobOutcome::Succeeded, now)
        .await
        .unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    assert_eq!(
        store
            .claim_job(now + Duration::days(1), lock)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn retries_wait_for_their_time_and_deferrals_give_the_attempt_back() {
    let (db, store) = setup().await;
    let acme = organization(&store, "acme").await;
    queued_partner(&store, acme, "globex.io").await;
    let now = t0() + Duration::seconds(1);
    let lock = Duration::minutes(5);

    let job = store.claim_job(now, lock).await.unwrap().unwrap();
    let backoff = now + Duration::minutes(2);
    let retry = JobOutcome::Retry {
        at: backoff,
        error: "upstream 503".into(),
    };
    store.finish_job(job.id, retry, now).await.unwrap();
    assert_eq!(
        store.claim_job(now, lock).await.unwrap(),
        None,
        "not due yet"
    );
    let second = store.claim_job(backoff, lock).await.unwrap().unwrap();
    assert_eq!((second.id, second.attempt), (job.id, 2));

    let deferred = JobOutcome::Deferred {
        at: backoff + Duration::hours(1),
        error: "daily limit".into(),
    };
    store.finish_job(job.id, deferred, backoff).await.unwrap();
    let third = store
        .claim_job(backoff + Duration::hours(1), lock)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.attempt, 2, "the deferred attempt was given back");

    let failed = JobOutcome::Failed {
        error: "e".repeat(5000),
    };
    store.finish_job(job.id, failed, backoff).await.unwrap();
    assert_eq!(
        store
            .claim_job(backoff + Duration::days(1), lock)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "analysis_jobs WHERE id = '{}' AND status = 'failed' \
                 AND length(last_error) = 2000 AND finished_at IS NOT NULL",
                job.id
            )
        )
        .await,
        1,
        "failed, with its error truncated"
    );
}

#[tokio::test]
async fn a_retry_superseded_by_a_newer_job_fails_instead() {
    let (db, store) = setup().await;
    let acme = organization(&store, "acme").await;
    let pid = queued_partner(&store, acme, "globex.io").await;
    let now = t0() + Duration::seconds(1);
    let job = store
        .claim_job(now, Duration::minutes(5))
        .await
        .unwrap()
        .unwrap();

    // A new domain while the job runs queues a newer job for the partner.
    let patch = PartnerPatch {
        domain: Some(Some(
            partneros_domain::partners::web_domain::PartnerDomain::parse("globex.com").unwrap(),
        )),
        ..PartnerPatch::default()
    };
    store
        .update_partner(acme, pid, patch, now)
        .await
        .unwrap()
        .unwrap();
    let retry = JobOutcome::Retry {
        at: now + Duration::minutes(1),
        error: "timeout".into(),
    };
    store.finish_job(job.id, retry, now).await.unwrap();

    assert_eq!(
        count(
            &db,
            &format!(
                "analysis_jobs WHERE id = '{}' AND status = 'failed' \
                 AND last_error LIKE 'superseded by a newer job%'",
                job.id
            )
        )
        .await,
        1
    );
    let newer = store
        .claim_job(now, Duration::minutes(5))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(newer.id, job.id);
    assert_eq!((newer.partner_id, newer.attempt), (pid, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_get_the_same_job() {
    let (_db, store) = setup().await;
    let acme = organization(&store, "acme").await;
    let jobs = 12;
    for i in 0..jobs {
        queued_partner(&store, acme, &format!("partner-{i}.io")).await;
    }
    let now = t0() + Duration::seconds(1);
    let claimers: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                while let Some(job) = store.claim_job(now, Duration::minutes(5)).await.unwrap() {
                    claimed.push(job.id);
                }
                claimed
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), jobs, "every job claimed once: {all:?}");
    assert_eq!(distinct.len(), jobs);
}
