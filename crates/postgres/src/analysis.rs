//! The analysis storage: the shared domain cache and its leases, ideal partner profiles, the
//! partner's analysis fields, and the background job queue.

use crate::Database;
use crate::error::ResultExt;
use crate::fragments::with_primary_contact;
use crate::models::{
    PartnerRow, PrimaryContactRow, TxError, corrupt, partner as partner_of, record_event,
};
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use partneros_domain::analysis::ports::{
    AnalysisContext, AnalysisJob, AnalysisJobs, AnalysisStore, CachedEnrichment, JobOutcome,
    PartnerAnalysis,
};
use partneros_domain::analysis::scoring::IdealPartnerProfile;
use partneros_domain::partners::model::{HandEditedFields, Partner, TierSource};
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::{OrganizationId, PartnerId, UserId};
use uuid::Uuid;

/// Attempts of a background analysis before it is marked failed.
pub const JOB_ATTEMPTS: i32 = 4;

/// Enqueues a background analysis of the partner (inside the caller's transaction); a partner
/// with a queued job keeps that one.
pub(crate) async fn enqueue_analysis(
    conn: &mut crate::Conn,
    organization: Uuid,
    partner: Uuid,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(analysis_jobs::table)
        .values((
            analysis_jobs::id.eq(Uuid::now_v7()),
            analysis_jobs::organization_id.eq(organization),
            analysis_jobs::partner_id.eq(partner),
            analysis_jobs::status.eq("queued"),
            analysis_jobs::max_attempts.eq(JOB_ATTEMPTS),
            analysis_jobs::run_at.eq(now),
            analysis_jobs::created_at.eq(now),
            analysis_jobs::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::unexpected(format!("stored analysis JSON does not parse: {e}"))
}

#[derive(QueryableByName)]
struct ClaimedJob {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    organization_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    partner_id: Uuid,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Integer)]
    max_attempts: i32,
}

/// `$query` (which has `partners`) joined with the organization's ideal profile and the
/// domain's unexpired cache entry by `$enriched_by`.
macro_rules! context_joins {
    ($query:expr, $enriched_by:expr, $now:expr) => {
        $query
            .left_join(
                ideal_partner_profiles::table
                    .on(ideal_partner_profiles::organization_id.eq(partners::organization_id)),
            )
            .left_join(
                domain_enrichments::table.on(domain_enrichments::domain
                    .nullable()
                    .eq(partners::domain)
                    .and(domain_enrichments::enriched_by.eq($enriched_by))
                    .and(domain_enrichments::expires_at.gt($now))),
            )
    };
}

/// The columns [`context_joins!`] adds: the ideal profile, and the cache entry's profile,
/// sources, fetched and expiry times ([`ContextTail`]).
macro_rules! context_tail {
    () => {
        (
            ideal_partner_profiles::profile.nullable(),
            domain_enrichments::profile.nullable(),
            domain_enrichments::sources.nullable(),
            domain_enrichments::fetched_at.nullable(),
            domain_enrichments::expires_at.nullable(),
        )
    };
}

/// The columns of an analysis context that follow the partner and its contact: the ideal
/// profile, and the cache entry's profile, sources, fetched and expiry times.
type ContextTail = (
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

fn context_of(
    p: PartnerRow,
    contact: Option<PrimaryContactRow>,
    (ideal, profile, sources, fetched_at, expires_at): ContextTail,
    enriched_by: &str,
) -> Result<AnalysisContext, StoreError> {
    let cached = match (p.domain.clone(), profile, sources, fetched_at, expires_at) {
        (Some(domain), Some(profile), Some(sources), Some(fetched_at), Some(expires_at)) => {
            Some(CachedEnrichment {
                domain,
                enriched_by: enriched_by.to_owned(),
                profile: serde_json::from_value(profile).map_err(json_err)?,
                sources: serde_json::from_value(sources).map_err(json_err)?,
                fetched_at,
                expires_at,
            })
        }
        _ => None,
    };
    Ok(AnalysisContext {
        partner: partner_of(p, contact)?,
        ideal: ideal
            .map(serde_json::from_value)
            .transpose()
            .map_err(json_err)?,
        cached,
    })
}

#[async_trait]
impl AnalysisStore for Database {
    async fn analysis_context(
        &self,
        organization: OrganizationId,
        partner: PartnerId,
        enriched_by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AnalysisContext>, StoreError> {
        let mut conn = self.conn().await?;
        type Row = (PartnerRow, Option<PrimaryContactRow>, ContextTail);
        let row: Option<Row> =
            context_joins!(with_primary_contact!(partners::table), enriched_by, now)
                .filter(partners::organization_id.eq(organization.as_uuid()))
                .filter(partners::id.eq(partner.as_uuid()))
                .select((
                    PartnerRow::as_select(),
                    Option::<PrimaryContactRow>::as_select(),
                    context_tail!(),
                ))
                .get_result(&mut conn)
                .await
                .optional()
                .store()?;
        let Some((p, contact, tail)) = row else {
            return Ok(None);
        };
        context_of(p, contact, tail, enriched_by).map(Some)
    }

    async fn cached_enrichment(
        &self,
        domain: &str,
        enriched_by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<CachedEnrichment>, StoreError> {
        let mut conn = self.conn().await?;
        type Row = (
            serde_json::Value,
            serde_json::Value,
            DateTime<Utc>,
            DateTime<Utc>,
        );
        let row: Option<Row> = domain_enrichments::table
            .filter(domain_enrichments::domain.eq(domain))
            .filter(domain_enrichments::enriched_by.eq(enriched_by))
            .filter(domain_enrichments::expires_at.gt(now))
            .select((
                domain_enrichments::profile,
                domain_enrichments::sources,
                domain_enrichments::fetched_at,
                domain_enrichments::expires_at,
            ))
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        row.map(|(profile, sources, fetched_at, expires_at)| {
            Ok(CachedEnrichment {
                domain: domain.to_owned(),
                enriched_by: enriched_by.to_owned(),
                profile: serde_json::from_value(profile).map_err(json_err)?,
                sources: serde_json::from_value(sources).map_err(json_err)?,
                fetched_at,
                expires_at,
            })
        })
        .transpose()
    }

    async fn store_enrichment(&self, entry: &CachedEnrichment) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let profile = serde_json::to_value(&entry.profile).map_err(json_err)?;
        let sources = serde_json::to_value(&entry.sources).map_err(json_err)?;
        diesel::insert_into(domain_enrichments::table)
            .values((
                domain_enrichments::domain.eq(&entry.domain),
                domain_enrichments::enriched_by.eq(&entry.enriched_by),
                domain_enrichments::profile.eq(&profile),
                domain_enrichments::sources.eq(&sources),
                domain_enrichments::fetched_at.eq(entry.fetched_at),
                domain_enrichments::expires_at.eq(entry.expires_at),
            ))
            .on_conflict((domain_enrichments::domain, domain_enrichments::enriched_by))
            .do_update()
            .set((
                domain_enrichments::profile.eq(&profile),
                domain_enrichments::sources.eq(&sources),
                domain_enrichments::fetched_at.eq(entry.fetched_at),
                domain_enrichments::expires_at.eq(entry.expires_at),
            ))
            .execute(&mut conn)
            .await
            .store()?;
        Ok(())
    }

    async fn lease_domain(
        &self,
        domain: &str,
        holder: Uuid,
        lease: chrono::Duration,
        wait: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(25);
        loop {
            // The clock may be a test's; time spent waiting here is real.
            let at = now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
            let taken = {
                // The connection goes back to the pool between tries.
                let mut conn = self.conn().await?;
                diesel::sql_query(
                    "INSERT INTO domain_leases (domain, holder, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (domain) DO UPDATE SET holder = EXCLUDED.holder, \
                     expires_at = EXCLUDED.expires_at WHERE domain_leases.expires_at <= $4",
                )
                .bind::<diesel::sql_types::Text, _>(domain)
                .bind::<SqlUuid, _>(holder)
                .bind::<Timestamptz, _>(at + lease)
                .bind::<Timestamptz, _>(at)
                .execute(&mut conn)
                .await
                .store()?
                    == 1
            };
            if taken {
                return Ok(true);
            }
            if started.elapsed() + pause > wait {
                return Ok(false);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(250));
        }
    }

    async fn release_domain(&self, domain: &str, holder: Uuid) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::delete(
            domain_leases::table
                .filter(domain_leases::domain.eq(domain))
                .filter(domain_leases::holder.eq(holder)),
        )
        .execute(&mut conn)
        .await
        .store()?;
        Ok(())
    }

    async fn ideal_profile(
        &self,
        organization: OrganizationId,
    ) -> Result<Option<(IdealPartnerProfile, DateTime<Utc>)>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<(serde_json::Value, DateTime<Utc>)> = ideal_partner_profiles::table
            .filter(ideal_partner_profiles::organization_id.eq(organization.as_uuid()))
            .select((
                ideal_partner_profiles::profile,
                ideal_partner_profiles::updated_at,
            ))
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        row.map(|(p, at)| Ok((serde_json::from_value(p).map_err(json_err)?, at)))
            .transpose()
    }

    async fn save_ideal_profile(
        &self,
        organization: OrganizationId,
        profile: &IdealPartnerProfile,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let json = serde_json::to_value(profile).map_err(json_err)?;
        let by = by.map(|u| u.as_uuid());
        diesel::insert_into(ideal_partner_profiles::table)
            .values((
                ideal_partner_profiles::organization_id.eq(organization.as_uuid()),
                ideal_partner_profiles::profile.eq(&json),
                ideal_partner_profiles::updated_by.eq(by),
                ideal_partner_profiles::updated_at.eq(now),
            ))
            .on_conflict(ideal_partner_profiles::organization_id)
            .do_update()
            .set((
                ideal_partner_profiles::profile.eq(&json),
                ideal_partner_profiles::updated_by.eq(by),
                ideal_partner_profiles::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .await
            .store()?;
        Ok(())
    }

    async fn save_analysis(
        &self,
        organization: OrganizationId,
        partner: PartnerId,
        analysis: PartnerAnalysis,
    ) -> Result<Option<Partner>, StoreError> {
        let mut conn = self.conn().await?;
        let org = organization.as_uuid();
        let id = partner.as_uuid();
        let event = serde_json::json!({
            "partnerId": partner,
            "fitScore": analysis.fit_score,
            "enrichedBy": analysis.ai_insights.get("enrichedBy"),
            "cached": analysis.ai_insights.get("cached"),
        });
        let row = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let this = || {
                    partners::table
                        .filter(partners::organization_id.eq(org))
                        .filter(partners::id.eq(id))
                };
                // The row lock makes a concurrent hand edit of the tier or the products wait
                // for this write, or this write see it: the domain decides over what is stored.
                let stored: Option<(Vec<String>, Option<String>, Option<String>)> = this()
                    .select((partners::products, partners::tier, partners::tier_source))
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                let Some((products, tier, tier_source)) = stored else {
                    return Ok(None);
                };
                let tier_source = tier_source
                    .map(|s| {
                        s.parse::<TierSource>()
                            .map_err(|_| corrupt("tier source", &s))
                    })
                    .transpose()
                    .map_err(TxError::Store)?;
                let fields = HandEditedFields {
                    products,
                    tier,
                    tier_source,
                }
                .after_analysis(&analysis.profile.products, analysis.auto_tier.as_deref());
                let p = analysis.profile;
                let row: PartnerRow = diesel::update(this())
                    .set((
                        partners::industry.eq(p.industry),
                        partners::description.eq(p.description),
                        partners::employees.eq(p.employees),
                        partners::employees_range.eq(p.employees_range),
                        partners::company_revenue.eq(p.company_revenue),
                        partners::regions.eq(p.regions),
                        partners::languages.eq(p.languages),
                        partners::services.eq(p.services),
                        partners::products.eq(fields.products),
                        partners::fit_score.eq(analysis.fit_score),
                        partners::ai_insights.eq(analysis.ai_insights),
                        partners::analyzed_at.eq(analysis.analyzed_at),
                        partners::updated_at.eq(analysis.analyzed_at),
                        partners::tier.eq(fields.tier),
                        partners::tier_source.eq(fields.tier_source.map(TierSource::as_str)),
                    ))
                    .returning(PartnerRow::as_returning())
                    .get_result(conn)
                    .await?;
                record_event(
                    conn,
                    Some(organization),
                    partneros_domain::outbox::EventType::PartnerAnalyzed,
                    id,
                    event,
                    analysis.analyzed_at,
                )
                .await?;
                let contact = crate::partners::primary_contact(conn, org, id).await?;
                Ok(Some((row, contact)))
            })
            .await?;
        row.map(|(p, c)| partner_of(p, c)).transpose()
    }

    async fn partner_ids(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<PartnerId>, StoreError> {
        let mut conn = self.conn().await?;
        let ids: Vec<Uuid> = partners::table
            .filter(partners::organization_id.eq(organization.as_uuid()))
            .order((partners::created_at.asc(), partners::id.asc()))
            .select(partners::id)
            .load(&mut conn)
            .await
            .store()?;
        Ok(ids.into_iter().map(PartnerId::from_uuid).collect())
    }
}

#[async_trait]
impl AnalysisJobs for Database {
    async fn claim_job(
        &self,
        now: DateTime<Utc>,
        lock_for: chrono::Duration,
    ) -> Result<Option<AnalysisJob>, StoreError> {
        let mut conn = self.conn().await?;
        let job: Option<ClaimedJob> = diesel::sql_query(
            "UPDATE analysis_jobs SET status = 'running', attempts = attempts + 1, \
             locked_until = $2, updated_at = $1 \
             WHERE id = (SELECT id FROM analysis_jobs \
                WHERE (status = 'queued' AND run_at <= $1) \
                   OR (status = 'running' AND locked_until < $1) \
                ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, organization_id, partner_id, attempts, max_attempts",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(now + lock_for)
        .get_result(&mut conn)
        .await
        .optional()
        .store()?;
        Ok(job.map(|j| AnalysisJob {
            id: j.id,
            organization_id: OrganizationId::from_uuid(j.organization_id),
            partner_id: PartnerId::from_uuid(j.partner_id),
            attempt: j.attempts,
            max_attempts: j.max_attempts,
        }))
    }

    async fn finish_job(
        &self,
        id: Uuid,
        outcome: JobOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let job = analysis_jobs::table.filter(analysis_jobs::id.eq(id));
        // A deferred attempt was never made: it gives back the attempt its claim counted.
        let given_back = i32::from(matches!(outcome, JobOutcome::Deferred { .. }));
        match outcome {
            JobOutcome::Succeeded => {
                diesel::update(job)
                    .set((
                        analysis_jobs::status.eq("succeeded"),
                        analysis_jobs::locked_until.eq(None::<DateTime<Utc>>),
                        analysis_jobs::updated_at.eq(now),
                        analysis_jobs::finished_at.eq(now),
                    ))
                    .execute(&mut conn)
                    .await
                    .store()?;
            }
            JobOutcome::Failed { error } => {
                diesel::update(job)
                    .set((
                        analysis_jobs::status.eq("failed"),
                        analysis_jobs::last_error.eq(truncate(&error)),
                        analysis_jobs::locked_until.eq(None::<DateTime<Utc>>),
                        analysis_jobs::updated_at.eq(now),
                        analysis_jobs::finished_at.eq(now),
                    ))
                    .execute(&mut conn)
                    .await
                    .store()?;
            }
            JobOutcome::Retry { at, error } | JobOutcome::Deferred { at, error } => {
                // A newer job queued for the same partner meanwhile supersedes this one.
                let n = diesel::sql_query(
                    "UPDATE analysis_jobs j SET status = 'queued', run_at = $2, last_error = $3, \
                     locked_until = NULL, updated_at = $4, attempts = attempts - $5 \
                     WHERE j.id = $1 AND NOT EXISTS ( \
                     SELECT 1 FROM analysis_jobs q WHERE q.organization_id = j.organization_id \
                     AND q.partner_id = j.partner_id AND q.status = 'queued')",
                )
                .bind::<SqlUuid, _>(id)
                .bind::<Timestamptz, _>(at)
                .bind::<diesel::sql_types::Text, _>(truncate(&error))
                .bind::<Timestamptz, _>(now)
                .bind::<diesel::sql_types::Integer, _>(given_back)
                .execute(&mut conn)
                .await
                .store()?;
                if n == 0 {
                    diesel::update(job)
                        .set((
                            analysis_jobs::status.eq("failed"),
                            analysis_jobs::last_error
                                .eq(format!("superseded by a newer job; {}", truncate(&error))),
                            analysis_jobs::locked_until.eq(None::<DateTime<Utc>>),
                            analysis_jobs::updated_at.eq(now),
                            analysis_jobs::finished_at.eq(now),
                        ))
                        .execute(&mut conn)
                        .await
                        .store()?;
                }
            }
        }
        Ok(())
    }

    async fn queue_depth(&self) -> Result<i64, StoreError> {
        let mut conn = self.conn().await?;
        analysis_jobs::table
            .filter(analysis_jobs::status.eq_any(["queued", "running"]))
            .count()
            .get_result(&mut conn)
            .await
            .store()
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(2000).collect()
}
