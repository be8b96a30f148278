//! Analyzing a partner: scrape its site, enrich with a language model (or the heuristic),
//! score its fit, and persist it all at once. Enrichments are cached per domain for every
//! organization, and one analysis of a domain runs at a time across all instances. What an
//! organization may spend (refreshes, model calls) is bounded per rolling day.

use crate::StoreError;
use crate::analysis::heuristic;
use crate::analysis::ideal::IdealProfileInput;
use crate::analysis::model::{EnrichmentInput, LanguageModel, LanguageModelError, Subject};
use crate::analysis::ports::{
    AnalysisContext, AnalysisJob, AnalysisJobs, AnalysisStore, CachedEnrichment, JobOutcome,
    PartnerAnalysis,
};
use crate::analysis::profile::{Confidence, EnrichedProfile};
use crate::analysis::sanitize::sanitize;
use crate::analysis::scoring::{FitScore, IdealPartnerProfile, score};
use crate::analysis::site::{SiteSnapshot, WebScraper};
use crate::identity::access;
use crate::identity::access::AccessError;
use crate::identity::model::Principal;
use crate::partners::model::{Partner, TierSource};
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::shared::ids::{OrganizationId, PartnerId};
use crate::shared::rate_limit::{RateDecision, RateLimiter};
use crate::shared::time::format_timestamp;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("authentication required: the session is missing, unknown, expired or revoked")]
    Unauthorized,
    #[error("partner not found")]
    NotFound,
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("the language model failed, so nothing was changed")]
    Upstream(#[source] LanguageModelError),
    #[error("another analysis of this domain is still running; retry shortly")]
    Busy,
    #[error("{}", over_limit(*limit, *per_day))]
    OverDailyLimit {
        limit: DailyLimit,
        per_day: u32,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for AnalysisError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Unauthorized => ErrorKind::Unauthorized,
            Self::NotFound => ErrorKind::NotFound,
            Self::Invalid(_) => ErrorKind::Validation,
            Self::Upstream(_) => ErrorKind::Upstream,
            Self::Busy => ErrorKind::Unavailable,
            Self::OverDailyLimit { .. } => ErrorKind::RateLimited,
            Self::Store(e) => e.kind(),
        }
    }
    fn details(&self) -> &[FieldError] {
        match self {
            Self::Invalid(v) => &v.0,
            _ => &[],
        }
    }
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::OverDailyLimit {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// What an organization may do only so many times in a rolling day, because each costs money
/// or load outside the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DailyLimit {
    /// Analyses with `refresh` of a partner with a domain: each reads its website again.
    Refreshes,
    /// Analyses that ask the language model (its own retries included).
    ModelCalls,
}

impl DailyLimit {
    fn what(self) -> &'static str {
        match self {
            Self::Refreshes => "analysis refreshes",
            Self::ModelCalls => "language-model calls",
        }
    }
    fn bucket(self, organization: OrganizationId) -> String {
        match self {
            Self::Refreshes => format!("analysis-refresh:{organization}"),
            Self::ModelCalls => format!("llm-call:{organization}"),
        }
    }
}

fn over_limit(limit: DailyLimit, per_day: u32) -> String {
    match per_day {
        0 => format!("{} are turned off on this server", limit.what()),
        n => format!(
            "this organization has used its {n} {} for today (the limit counts the last 24 hours)",
            limit.what()
        ),
    }
}

/// Counts a look into the domain cache in `analysis_cache_lookups_total`: stage `read` is the
/// look that comes with the partner (alone, it gives the hit rate of analyses); stage `lease` is
/// the second look, under the domain's lease after a miss, counted apart.
fn count_cache_lookup(stage: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!("analysis_cache_lookups_total", "stage" => stage, "result" => result)
        .increment(1);
}

/// The window of the daily limits: rolling, so no burst at midnight doubles them.
const DAY: Duration = Duration::days(1);

/// Timings and limits of the analysis.
#[derive(Debug, Clone)]
pub struct AnalysisSettings {
    /// How long an enrichment of a domain is reused.
    pub cache_ttl: Duration,
    /// How long an enrichment of a site that could not be read at all is reused.
    pub unreadable_ttl: Duration,
    /// How long a single-flight lease lasts unless released (bounds a crashed holder).
    pub lease: Duration,
    /// How long a request waits for another instance's analysis of the same domain.
    pub lease_wait: std::time::Duration,
    /// How long a claimed job stays locked before another worker may take it over.
    pub job_lock: Duration,
    /// Analyses with `refresh` (of partners with a domain) per organization per rolling day
    /// (0: none).
    pub refreshes_per_day: u32,
    /// Analyses that call the language model per organization per rolling day (0: none).
    pub model_calls_per_day: u32,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::days(7),
            unreadable_ttl: Duration::hours(1),
            lease: Duration::minutes(5),
            lease_wait: std::time::Duration::from_secs(150),
            job_lock: Duration::minutes(10),
            refreshes_per_day: 20,
            model_calls_per_day: 200,
        }
    }
}

/// A finished analysis.
#[derive(Debug, Clone)]
pub struct AnalysisOutcome {
    pub partner: Partner,
    pub insights: Value,
}

/// The tier a fit score earns (used when the tier is not set by hand).
pub fn tier_for(fit: u8) -> &'static str {
    match fit {
        85.. => "Platinum",
        70..=84 => "Gold",
        55..=69 => "Silver",
        40..=54 => "Bronze",
        _ => "Registered",
    }
}

/// The wait before retry `attempt` (1-based) of a failed job: 30 s, 2 min, 8 min, … at most 1 h.
pub fn job_backoff(attempt: i32) -> Duration {
    let exp = attempt.clamp(1, 8) as u32 - 1;
    Duration::seconds((30i64 * 4i64.pow(exp)).min(3600))
}

struct Enrichment {
    entry: CachedEnrichment,
    cached: bool,
}

pub struct AnalysisService {
    store: Arc<dyn AnalysisStore>,
    jobs: Arc<dyn AnalysisJobs>,
    scraper: Arc<dyn WebScraper>,
    model: Option<Arc<dyn LanguageModel>>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
    settings: AnalysisSettings,
}

impl AnalysisService {
    pub fn new(
        store: Arc<dyn AnalysisStore>,
        jobs: Arc<dyn AnalysisJobs>,
        scraper: Arc<dyn WebScraper>,
        model: Option<Arc<dyn LanguageModel>>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
        settings: AnalysisSettings,
    ) -> Self {
        Self {
            store,
            jobs,
            scraper,
            model,
            limiter,
            clock,
            settings,
        }
    }

    /// `heuristic` or `llm:<model>`.
    pub fn enricher(&self) -> String {
        match &self.model {
            Some(m) => format!("llm:{}", m.model()),
            None => "heuristic".to_owned(),
        }
    }

    /// Analyzes a partner of the caller's organization (owner, admin, member).
    pub async fn analyze(
        &self,
        principal: &Principal,
        id: PartnerId,
        refresh: bool,
    ) -> Result<AnalysisOutcome, AnalysisError> {
        let m = access::writer(principal)?;
        self.analyze_in(m.organization_id, id, refresh).await
    }

    /// Analyzes a partner on the system's behalf (background jobs, the CLI).
    pub async fn analyze_in(
        &self,
        organization: OrganizationId,
        id: PartnerId,
        refresh: bool,
    ) -> Result<AnalysisOutcome, AnalysisError> {
        let started = self.clock.now();
        let context = self
            .store
            .analysis_context(organization, id, &self.enricher(), started)
            .await?
            .ok_or(AnalysisError::NotFound)?;
        self.run(organization, context, refresh, started).await
    }

    async fn run(
        &self,
        organization: OrganizationId,
        context: AnalysisContext,
        refresh: bool,
        started: DateTime<Utc>,
    ) -> Result<AnalysisOutcome, AnalysisError> {
        let id = context.partner.id;
        let partner = context.partner;
        let ideal = context.ideal.unwrap_or_default();
        // Without a domain there is no cache to bypass, so nothing to count.
        if refresh && partner.domain.is_some() {
            self.spend(organization, DailyLimit::Refreshes).await?;
        }
        if partner.domain.is_some() {
            count_cache_lookup("read", context.cached.is_some());
        }
        let enrichment = match (partner.domain.as_deref(), context.cached) {
            (Some(_), Some(entry)) if !refresh => Enrichment {
                entry,
                cached: true,
            },
            (Some(domain), _) => {
                self.domain_enrichment(organization, domain, refresh, started)
                    .await?
            }
            // The name is this organization's own data: enriched for it alone, never cached.
            (None, _) => {
                self.spend_model_call(organization).await?;
                let subject = Subject::Name(partner.name.clone());
                Enrichment {
                    entry: self.compute(subject, SiteSnapshot::default()).await?,
                    cached: false,
                }
            }
        };
        let fit = score(&enrichment.entry.profile, &ideal);
        let analyzed_at = self.clock.now();
        let analysis = PartnerAnalysis {
            profile: enrichment.entry.profile.clone(),
            fit_score: fit.overall.map(i16::from),
            auto_tier: (partner.tier_source != Some(TierSource::Manual))
                .then(|| fit.overall.map(|s| tier_for(s).to_owned()))
                .flatten(),
            ai_insights: insights(&enrichment, &fit),
            analyzed_at,
        };
        // Re-analyzing with the same cached enrichment and the same ideal profile would write
        // exactly what is stored: the stored analysis stands (no write, no event).
        if enrichment.cached && already_stored(&partner, &analysis) {
            let insights = partner.ai_insights.clone().unwrap_or(analysis.ai_insights);
            return Ok(AnalysisOutcome { partner, insights });
        }
        let insights = analysis.ai_insights.clone();
        let partner = self
            .store
            .save_analysis(organization, id, analysis)
            .await?
            .ok_or(AnalysisError::NotFound)?;
        Ok(AnalysisOutcome { partner, insights })
    }

    /// A new enrichment of `domain` made under the domain's single-flight lease (or the one the
    /// previous holder just made). `refresh` skips entries older than this request.
    async fn domain_enrichment(
        &self,
        organization: OrganizationId,
        domain: &str,
        refresh: bool,
        started: DateTime<Utc>,
    ) -> Result<Enrichment, AnalysisError> {
        let enricher = self.enricher();
        let usable = |e: &CachedEnrichment| !refresh || e.fetched_at > started;
        let holder = uuid::Uuid::new_v4();
        let leased = self
            .store
            .lease_domain(
                domain,
                holder,
                self.settings.lease,
                self.settings.lease_wait,
                self.clock.now(),
            )
            .await?;
        if !leased {
            return Err(AnalysisError::Busy);
        }
        let result = async {
            // Whoever held the lease before may have just stored what we need.
            let found = self
                .store
                .cached_enrichment(domain, &enricher, self.clock.now())
                .await?;
            count_cache_lookup("lease", found.is_some());
            if let Some(entry) = found.filter(usable) {
                return Ok(Enrichment {
                    entry,
                    cached: true,
                });
            }
            let parsed = crate::partners::web_domain::PartnerDomain::parse(domain)
                .map_err(|e| AnalysisError::Store(StoreError::unexpected(e.to_string())))?;
            // Before the scrape: a site read for a model call that may not happen is wasted.
            self.spend_model_call(organization).await?;
            let site = self.scraper.scrape(&parsed).await;
            let entry = self
                .compute(Subject::Domain(domain.to_owned()), site)
                .await?;
            self.store.store_enrichment(&entry).await?;
            Ok(Enrichment {
                entry,
                cached: false,
            })
        }
        .await;
        if let Err(e) = self.store.release_domain(domain, holder).await {
            tracing::warn!(error = %e, domain, "releasing the analysis lease failed; it expires by itself");
        }
        result
    }

    /// Counts one use of the organization's daily `limit`, or refuses it (counting nothing).
    async fn spend(
        &self,
        organization: OrganizationId,
        limit: DailyLimit,
    ) -> Result<(), AnalysisError> {
        let per_day = match limit {
            DailyLimit::Refreshes => self.settings.refreshes_per_day,
            DailyLimit::ModelCalls => self.settings.model_calls_per_day,
        };
        let bucket = limit.bucket(organization);
        match self
            .limiter
            .hit(&bucket, per_day, DAY, self.clock.now())
            .await?
        {
            RateDecision::Allowed => Ok(()),
            RateDecision::Limited { retry_after_secs } => Err(AnalysisError::OverDailyLimit {
                limit,
                per_day,
                retry_after_secs,
            }),
        }
    }

    /// [`spend`](Self::spend) a model call, when a model is configured (the heuristic is free).
    async fn spend_model_call(&self, organization: OrganizationId) -> Result<(), AnalysisError> {
        match self.model {
            Some(_) => self.spend(organization, DailyLimit::ModelCalls).await,
            None => Ok(()),
        }
    }

    /// Enriches what is known of `subject`: the model when configured (at most `low`
    /// confidence without a readable site), else the heuristic.
    async fn compute(
        &self,
        subject: Subject,
        site: SiteSnapshot,
    ) -> Result<CachedEnrichment, AnalysisError> {
        let domain = match &subject {
            Subject::Domain(d) => d.clone(),
            Subject::Name(_) => String::new(),
        };
        let profile = match &self.model {
            Some(model) => {
                let input = EnrichmentInput {
                    subject,
                    site: site.clone(),
                };
                let answer = model
                    .enrich(&input)
                    .await
                    .map_err(AnalysisError::Upstream)?;
                let mut profile = sanitize(&answer.content);
                if site.pages.is_empty() {
                    profile.confidence = profile.confidence.min(Confidence::Low);
                }
                profile
            }
            None => heuristic::enrich(&subject, &site),
        };
        let now = self.clock.now();
        let ttl = if site.pages.is_empty() {
            self.settings.unreadable_ttl
        } else {
            self.settings.cache_ttl
        };
        Ok(CachedEnrichment {
            domain,
            enriched_by: self.enricher(),
            profile,
            sources: site.sources,
            fetched_at: now,
            expires_at: now + ttl,
        })
    }

    /// The organization's ideal partner profile (defaults when none is set) and when it was set.
    pub async fn ideal_profile(
        &self,
        principal: &Principal,
    ) -> Result<(IdealPartnerProfile, Option<DateTime<Utc>>), AnalysisError> {
        let m = access::internal_reader(principal)?;
        Ok(match self.store.ideal_profile(m.organization_id).await? {
            Some((p, at)) => (p, Some(at)),
            None => (IdealPartnerProfile::default(), None),
        })
    }

    /// Replaces the ideal partner profile (owner, admin). It applies to analyses from now on.
    pub async fn set_ideal_profile(
        &self,
        principal: &Principal,
        input: IdealProfileInput,
    ) -> Result<(IdealPartnerProfile, DateTime<Utc>), AnalysisError> {
        let m = access::manager(principal)?;
        let profile = input.validate().map_err(AnalysisError::Invalid)?;
        let now = self.clock.now();
        self.store
            .save_ideal_profile(m.organization_id, &profile, principal.user_id(), now)
            .await?;
        Ok((profile, now))
    }

    /// Every partner of an organization, for re-analysis.
    pub async fn partner_ids(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<PartnerId>, AnalysisError> {
        Ok(self.store.partner_ids(organization).await?)
    }

    /// Claims one due background job and runs it. `Ok(false)` when none was due.
    pub async fn run_next_job(&self) -> Result<bool, StoreError> {
        let Some(job) = self
            .jobs
            .claim_job(self.clock.now(), self.settings.job_lock)
            .await?
        else {
            return Ok(false);
        };
        let outcome = self.job_outcome(&job).await;
        match &outcome {
            JobOutcome::Retry { error, .. } | JobOutcome::Failed { error } => {
                tracing::warn!(job = %job.id, partner = %job.partner_id, attempt = job.attempt, error, "background analysis failed");
            }
            JobOutcome::Deferred { at, error } => {
                tracing::info!(job = %job.id, partner = %job.partner_id, %at, error, "background analysis deferred");
            }
            JobOutcome::Succeeded => {}
        }
        self.jobs
            .finish_job(job.id, outcome, self.clock.now())
            .await?;
        Ok(true)
    }

    async fn job_outcome(&self, job: &AnalysisJob) -> JobOutcome {
        match self
            .analyze_in(job.organization_id, job.partner_id, false)
            .await
        {
            Ok(_) => JobOutcome::Succeeded,
            Err(AnalysisError::NotFound) => JobOutcome::Failed {
                error: "the partner no longer exists".into(),
            },
            // Retrying sooner would be refused again; the wait is not the job's failure.
            Err(
                e @ AnalysisError::OverDailyLimit {
                    retry_after_secs, ..
                },
            ) => JobOutcome::Deferred {
                at: self.clock.now() + Duration::seconds(retry_after_secs as i64),
                error: e.to_string(),
            },
            Err(e) => {
                let error = error_chain(&e);
                if job.attempt >= job.max_attempts {
                    JobOutcome::Failed { error }
                } else {
                    JobOutcome::Retry {
                        at: self.clock.now() + job_backoff(job.attempt),
                        error,
                    }
                }
            }
        }
    }

    /// Jobs queued or running.
    pub async fn queue_depth(&self) -> Result<i64, StoreError> {
        self.jobs.queue_depth().await
    }
}

/// Whether `partner` already holds everything `analysis` would write (but its time).
fn already_stored(partner: &Partner, analysis: &PartnerAnalysis) -> bool {
    // Equal but for `cached` (how the enrichment was obtained, not what it says).
    let same = |stored: &Value, new: &Value| match (stored.as_object(), new.as_object()) {
        (Some(a), Some(b)) => {
            let keys =
                |o: &serde_json::Map<String, Value>| o.keys().filter(|k| *k != "cached").count();
            keys(a) == keys(b)
                && b.iter()
                    .filter(|(k, _)| *k != "cached")
                    .all(|(k, v)| a.get(k) == Some(v))
        }
        _ => false,
    };
    let p = &analysis.profile;
    let same_insights = partner
        .ai_insights
        .as_ref()
        .is_some_and(|stored| same(stored, &analysis.ai_insights));
    let same_tier = match &analysis.auto_tier {
        Some(tier) => {
            partner.tier.as_deref() == Some(tier.as_str())
                && partner.tier_source == Some(TierSource::Auto)
        }
        None => true,
    };
    same_insights
        && same_tier
        && partner.fit_score == analysis.fit_score
        && partner.industry == p.industry
        && partner.description == p.description
        && partner.employees == p.employees
        && partner.employees_range == p.employees_range
        && partner.company_revenue == p.company_revenue
        && partner.regions == p.regions
        && partner.languages == p.languages
        && partner.services == p.services
        && p.products
            .iter()
            .all(|e| partner.products.iter().any(|s| s.eq_ignore_ascii_case(e)))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `aiInsights` as the API shows it.
fn insights(e: &Enrichment, fit: &FitScore) -> Value {
    let p: &EnrichedProfile = &e.entry.profile;
    let from_cache = !e.entry.domain.is_empty();
    json!({
        "fitScore": fit.overall,
        "confidence": p.confidence.as_str(),
        "dimensions": fit.dimensions,
        "strengths": p.strengths,
        "risks": p.risks,
        "summary": p.summary,
        "sources": e.entry.sources,
        "enrichedBy": e.entry.enriched_by,
        "cached": e.cached,
        "cachedAt": from_cache.then(|| format_timestamp(&e.entry.fetched_at)),
        "expiresAt": from_cache.then(|| format_timestamp(&e.entry.expires_at)),
    })
}

#[cfg(test)]
mod tests {
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
        fn with(
            org: OrganizationId,
            domain: Option<&str>,
            cached: Option<CachedEnrichment>,
        ) -> Self {
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
                        expect_retry
                            && *at == now() + Duration::seconds(30)
                            && error.contains("503")
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
                i.subject == Subject::Domain("acme.com".into())
                    && !format!("{i:?}").contains("Falcon")
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
}
