//! The analysis storage: the shared domain cache and its leases, ideal partner profiles, the
//! partner's analysis fields, and the background job queue.

use crate::Database;
use crate::error::ResultExt;
use crate::models::{TxError, record_event};
use crate::partners::load_one;
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use partneros_domain::StoreError;
use partneros_domain::analysis::scoring::IdealPartnerProfile;
use partneros_domain::analysis::store::{
    AnalysisJob, AnalysisJobs, AnalysisStore, CachedEnrichment, JobOutcome, PartnerAnalysis,
};
use partneros_domain::ids::{OrganizationId, PartnerId, UserId};
use partneros_domain::partner::Partner;
use uuid::Uuid;

/// Attempts of a background analysis before it is marked failed.
pub const JOB_ATTEMPTS: i32 = 4;

/// Enqueues a background analysis of the partner (inside the caller's transaction); a partner
/// with a queued job keeps that one.
pub(crate) async fn enqueue_analysis(
    conn: &mut AsyncPgConnection,
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

#[async_trait]
impl AnalysisStore for Database {
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
        let hit = row.is_some();
        metrics::counter!("analysis_cache_lookups_total", "result" => if hit { "hit" } else { "miss" })
            .increment(1);
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
        let saved = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let p = &analysis.profile;
                // Hand-set products stay; enriched ones are added after them.
                let n = diesel::sql_query(
                    "UPDATE partners SET industry = $3, description = $4, employees = $5, \
                     employees_range = $6, company_revenue = $7, regions = $8, languages = $9, \
                     services = $10, \
                     products = (SELECT coalesce(array_agg(x ORDER BY o), '{}') FROM ( \
                        SELECT DISTINCT ON (lower(x)) x, o FROM unnest(products || $11::text[]) \
                        WITH ORDINALITY AS u(x, o) ORDER BY lower(x), o) d), \
                     fit_score = $12, ai_insights = $13, analyzed_at = $14, updated_at = $14, \
                     tier = CASE WHEN $15::text IS NOT NULL AND tier_source IS DISTINCT FROM 'manual' \
                            THEN $15 ELSE tier END, \
                     tier_source = CASE WHEN $15::text IS NOT NULL AND tier_source IS DISTINCT FROM 'manual' \
                            THEN 'auto' ELSE tier_source END \
                     WHERE organization_id = $1 AND id = $2",
                )
                .bind::<SqlUuid, _>(org)
                .bind::<SqlUuid, _>(id)
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(&p.industry)
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(&p.description)
                .bind::<diesel::sql_types::Nullable<Integer>, _>(p.employees)
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(&p.employees_range)
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(&p.company_revenue)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&p.regions)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&p.languages)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&p.services)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&p.products)
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::SmallInt>, _>(analysis.fit_score)
                .bind::<diesel::sql_types::Jsonb, _>(&analysis.ai_insights)
                .bind::<Timestamptz, _>(analysis.analyzed_at)
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(&analysis.auto_tier)
                .execute(conn)
                .await?;
                if n == 0 {
                    return Ok(false);
                }
                record_event(
                    conn,
                    Some(organization),
                    "partner_analyzed",
                    serde_json::json!({
                        "partnerId": id,
                        "fitScore": analysis.fit_score,
                        "enrichedBy": analysis.ai_insights.get("enrichedBy"),
                        "cached": analysis.ai_insights.get("cached"),
                    }),
                    analysis.analyzed_at,
                )
                .await?;
                Ok(true)
            })
            .await?;
        if !saved {
            return Ok(None);
        }
        load_one(&mut conn, org, id).await
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
            JobOutcome::Retry { at, error } => {
                // A newer job queued for the same partner meanwhile supersedes this one.
                let n = diesel::sql_query(
                    "UPDATE analysis_jobs j SET status = 'queued', run_at = $2, last_error = $3, \
                     locked_until = NULL, updated_at = $4 WHERE j.id = $1 AND NOT EXISTS ( \
                     SELECT 1 FROM analysis_jobs q WHERE q.organization_id = j.organization_id \
                     AND q.partner_id = j.partner_id AND q.status = 'queued')",
                )
                .bind::<SqlUuid, _>(id)
                .bind::<Timestamptz, _>(at)
                .bind::<diesel::sql_types::Text, _>(truncate(&error))
                .bind::<Timestamptz, _>(now)
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
