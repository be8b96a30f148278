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
#[path = "service_tests.rs"]
mod tests;
