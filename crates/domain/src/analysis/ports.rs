//! Storage ports of the analysis: the shared domain cache with its single-flight lease, the
//! ideal partner profiles, the partner's analysis fields, and the background job queue.

use super::profile::EnrichedProfile;
use super::scoring::IdealPartnerProfile;
use super::site::Source;
use crate::StoreError;
use crate::partners::model::Partner;
use crate::shared::ids::{OrganizationId, PartnerId, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Public facts about one domain, as one enricher found them. Shared by every organization:
/// it holds nothing of any organization.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedEnrichment {
    pub domain: String,
    /// `heuristic` or `llm:<model>`; the cache is kept per enricher.
    pub enriched_by: String,
    pub profile: EnrichedProfile,
    pub sources: Vec<Source>,
    pub fetched_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Everything one analysis writes to a partner.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerAnalysis {
    pub profile: EnrichedProfile,
    pub fit_score: Option<i16>,
    /// The tier derived from the fit score; written only when the tier is not set by hand.
    pub auto_tier: Option<String>,
    pub ai_insights: serde_json::Value,
    pub analyzed_at: DateTime<Utc>,
}

/// What an analysis starts from, read in one round trip.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisContext {
    pub partner: Partner,
    /// The organization's ideal partner profile, if one is set.
    pub ideal: Option<IdealPartnerProfile>,
    /// The unexpired cache entry of the partner's domain by the requested enricher.
    pub cached: Option<CachedEnrichment>,
}

/// The analysis storage. Every method but the cache and lease ones is scoped to an organization.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AnalysisStore: Send + Sync {
    /// The partner of the organization with its ideal profile and the unexpired cache entry of
    /// its domain by `enriched_by` at `now`; `Ok(None)` when there is no such partner.
    async fn analysis_context(
        &self,
        organization: OrganizationId,
        partner: PartnerId,
        enriched_by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AnalysisContext>, StoreError>;

    /// The unexpired entry of `domain` by `enriched_by` at `now`.
    async fn cached_enrichment(
        &self,
        domain: &str,
        enriched_by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<CachedEnrichment>, StoreError>;

    /// Stores (or replaces) the entry of its domain and enricher.
    async fn store_enrichment(&self, entry: &CachedEnrichment) -> Result<(), StoreError>;

    /// Takes the single-flight lease of `domain` for `holder`, waiting up to `wait` while another
    /// holder (in any instance) has it. A lease lasts `lease` unless released first, so a
    /// crashed holder blocks others for at most that long. `Ok(false)` when `wait` ran out.
    async fn lease_domain(
        &self,
        domain: &str,
        holder: Uuid,
        lease: chrono::Duration,
        wait: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives the lease up (a lease no longer held is `Ok`).
    async fn release_domain(&self, domain: &str, holder: Uuid) -> Result<(), StoreError>;

    async fn ideal_profile(
        &self,
        organization: OrganizationId,
    ) -> Result<Option<(IdealPartnerProfile, DateTime<Utc>)>, StoreError>;

    async fn save_ideal_profile(
        &self,
        organization: OrganizationId,
        profile: &IdealPartnerProfile,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Writes the analysis to the partner and records the `partner_analyzed` event, in one
    /// transaction. The products and the tier are written as
    /// [`HandEditedFields::after_analysis`](crate::partner::HandEditedFields::after_analysis)
    /// decides over the values stored at write time, read under the partner's row lock so a
    /// concurrent hand edit is never overwritten. `Ok(None)` when the partner no longer exists
    /// in the organization.
    async fn save_analysis(
        &self,
        organization: OrganizationId,
        partner: PartnerId,
        analysis: PartnerAnalysis,
    ) -> Result<Option<Partner>, StoreError>;

    /// Every partner of the organization, oldest first (for re-analysis).
    async fn partner_ids(&self, organization: OrganizationId)
    -> Result<Vec<PartnerId>, StoreError>;
}

/// A claimed background analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisJob {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub partner_id: PartnerId,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
}

/// How a job attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Succeeded,
    /// Try again at `at`.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Given up: out of attempts, or nothing left to do (the partner was deleted).
    Failed {
        error: String,
    },
    /// Not attempted (the organization's daily limit is spent): run again at `at`, and this
    /// attempt does not count.
    Deferred {
        at: DateTime<Utc>,
        error: String,
    },
}

/// The Postgres-backed queue of background analyses (`FOR UPDATE SKIP LOCKED`). Jobs are
/// enqueued by the partner store, in the transaction that creates a partner with a domain or
/// gives it a new one.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AnalysisJobs: Send + Sync {
    /// Claims the oldest due job (queued and due, or running with an expired lock), locking it
    /// for `lock_for`; `Ok(None)` when none is due.
    async fn claim_job(
        &self,
        now: DateTime<Utc>,
        lock_for: chrono::Duration,
    ) -> Result<Option<AnalysisJob>, StoreError>;

    async fn finish_job(
        &self,
        id: Uuid,
        outcome: JobOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Jobs queued or running.
    async fn queue_depth(&self) -> Result<i64, StoreError>;
}
