//! Application forms, affiliate links and submissions.

use crate::Database;
use crate::error::ResultExt;
use crate::models::{TxError, corrupt, record_event};
use crate::partners::insert_partner_record;
use crate::rate_limits::hit_on;
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Jsonb, Text};
use diesel_async::{AsyncConnection, RunQueryDsl};
use partneros_domain::applications::form as application;
use partneros_domain::applications::form::ApplicationStatus;
use partneros_domain::applications::model::*;
use partneros_domain::applications::notice::{Recipient, SubmissionNotice};
use partneros_domain::applications::ports::{ApplicationStore, ReviewOutcome};
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::Invitation;
use partneros_domain::partners::model::Partner;
use partneros_domain::partners::ports::NewPartnerRecord;
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::{OrganizationId, PartnerId, UserId};
use partneros_domain::shared::rate_limit::{RateDecision, WriteLimit};
use uuid::Uuid;

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = applications, check_for_backend(diesel::pg::Pg))]
struct ApplicationRow {
    id: Uuid,
    organization_id: Uuid,
    name: String,
    slug: String,
    status: String,
    fields: serde_json::Value,
    agreements: serde_json::Value,
    content: serde_json::Value,
    partner_mapping: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    notify_on_submission: bool,
}

fn json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(v).map_err(StoreError::unexpected)
}

impl ApplicationRow {
    fn from_domain(a: &Application) -> Result<Self, StoreError> {
        Ok(Self {
            id: a.id,
            organization_id: a.organization_id.as_uuid(),
            name: a.name.clone(),
            slug: a.slug.clone(),
            status: a.status.as_str().to_owned(),
            fields: json(&a.fields)?,
            agreements: json(&a.agreements)?,
            content: json(&a.content)?,
            partner_mapping: json(&a.partner_mapping)?,
            created_at: a.created_at,
            updated_at: a.updated_at,
            notify_on_submission: a.notify_on_submission,
        })
    }

    /// Stored definitions were validated on the way in; parsing them again keeps one way to
    /// build them, and a row that no longer parses is reported as corrupt.
    fn into_domain(self) -> Result<Application, StoreError> {
        let bad = |what: &str| corrupt(what, &self.id.to_string());
        let fields =
            application::parse_fields(&self.fields).map_err(|_| bad("application fields"))?;
        let agreements = application::parse_agreements(&self.agreements)
            .map_err(|_| bad("application agreements"))?;
        let content =
            application::parse_content(&self.content).map_err(|_| bad("application content"))?;
        let partner_mapping = PartnerMapping::parse(&self.partner_mapping, &fields)
            .map_err(|_| bad("application partner mapping"))?;
        Ok(Application {
            id: self.id,
            organization_id: OrganizationId::from_uuid(self.organization_id),
            status: ApplicationStatus::parse(&self.status)
                .map_err(|_| corrupt("application status", &self.status))?,
            name: self.name,
            slug: self.slug,
            fields,
            agreements,
            content,
            partner_mapping,
            notify_on_submission: self.notify_on_submission,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = submissions, check_for_backend(diesel::pg::Pg))]
struct SubmissionRow {
    id: Uuid,
    organization_id: Uuid,
    application_id: Uuid,
    form_data: serde_json::Value,
    accepted_agreements: Vec<Uuid>,
    email: Option<String>,
    affiliate_link_id: Option<Uuid>,
    affiliate_slug: Option<String>,
    status: String,
    reject_reason: Option<String>,
    partner_id: Option<Uuid>,
    client_ip: Option<String>,
    reviewed_by: Option<Uuid>,
    reviewed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl SubmissionRow {
    fn into_domain(self) -> Result<Submission, StoreError> {
        Ok(Submission {
            id: self.id,
            organization_id: OrganizationId::from_uuid(self.organization_id),
            application_id: self.application_id,
            form_data: match self.form_data {
                serde_json::Value::Object(m) => m,
                _ => return Err(corrupt("submission form data", &self.id.to_string())),
            },
            accepted_agreements: self.accepted_agreements,
            email: self.email,
            affiliate_link_id: self.affiliate_link_id,
            affiliate_slug: self.affiliate_slug,
            status: SubmissionStatus::parse(&self.status)
                .ok_or_else(|| corrupt("submission status", &self.status))?,
            reject_reason: self.reject_reason,
            partner_id: self.partner_id.map(PartnerId::from_uuid),
            reviewed_by: self.reviewed_by.map(UserId::from_uuid),
            reviewed_at: self.reviewed_at,
            created_at: self.created_at,
        })
    }
}

async fn find_application(
    conn: &mut crate::Conn,
    organization: Uuid,
    id: Uuid,
) -> Result<Option<ApplicationRow>, diesel::result::Error> {
    applications::table
        .filter(applications::organization_id.eq(organization))
        .filter(applications::id.eq(id))
        .select(ApplicationRow::as_select())
        .first(conn)
        .await
        .optional()
}

#[async_trait]
impl ApplicationStore for Database {
    async fn create_application(&self, application: Application) -> Result<(), StoreError> {
        let row = ApplicationRow::from_domain(&application)?;
        let mut conn = self.conn().await?;
        diesel::insert_into(applications::table)
            .values(&row)
            .execute(&mut conn)
            .await
            .store()?;
        Ok(())
    }

    async fn list_applications(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<Application>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ApplicationRow> = applications::table
            .filter(applications::organization_id.eq(organization.as_uuid()))
            .order((applications::created_at.desc(), applications::id.desc()))
            .select(ApplicationRow::as_select())
            .load(&mut conn)
            .await
            .store()?;
        rows.into_iter().map(ApplicationRow::into_domain).collect()
    }

    async fn get_application(
        &self,
        organization: OrganizationId,
        id: Uuid,
    ) -> Result<Option<Application>, StoreError> {
        let mut conn = self.conn().await?;
        find_application(&mut conn, organization.as_uuid(), id)
            .await
            .store()?
            .map(ApplicationRow::into_domain)
            .transpose()
    }

    async fn update_application(
        &self,
        organization: OrganizationId,
        id: Uuid,
        patch: ApplicationPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Application>, StoreError> {
        let mut conn = self.conn().await?;
        let org = organization.as_uuid();
        let updated = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let Some(row) = applications::table
                    .filter(applications::organization_id.eq(org))
                    .filter(applications::id.eq(id))
                    .select(ApplicationRow::as_select())
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?
                else {
                    return Ok(None);
                };
                let mut app = row.into_domain().map_err(TxError::Store)?;
                if let Some(v) = patch.name {
                    app.name = v;
                }
                if let Some(v) = patch.slug {
                    app.slug = v;
                }
                if let Some(v) = patch.status {
                    app.status = v;
                }
                if let Some(v) = patch.fields {
                    app.fields = v;
                }
                if let Some(v) = patch.agreements {
                    app.agreements = v;
                }
                if let Some(v) = patch.content {
                    app.content = v;
                }
                if let Some(v) = patch.partner_mapping {
                    app.partner_mapping = v;
                }
                if let Some(v) = patch.notify_on_submission {
                    app.notify_on_submission = v;
                }
                app.updated_at = now;
                let row = ApplicationRow::from_domain(&app).map_err(TxError::Store)?;
                diesel::update(applications::table.find(id))
                    .set(&row)
                    .execute(conn)
                    .await?;
                Ok(Some(app))
            })
            .await?;
        Ok(updated)
    }

    async fn delete_application(
        &self,
        organization: OrganizationId,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let n = diesel::delete(
            applications::table
                .filter(applications::organization_id.eq(organization.as_uuid()))
                .filter(applications::id.eq(id)),
        )
        .execute(&mut conn)
        .await
        .store()?;
        Ok(n == 1)
    }

    async fn application_exists(
        &self,
        organization: OrganizationId,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        diesel::select(diesel::dsl::exists(
            applications::table
                .filter(applications::organization_id.eq(organization.as_uuid()))
                .filter(applications::id.eq(id)),
        ))
        .get_result(&mut conn)
        .await
        .store()
    }

    async fn set_banner_url(
        &self,
        organization: OrganizationId,
        id: Uuid,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let n = diesel::update(
            applications::table
                .filter(applications::organization_id.eq(organization.as_uuid()))
                .filter(applications::id.eq(id)),
        )
        .set((
            applications::content.eq(diesel::dsl::sql::<Jsonb>(
                "jsonb_set(content, '{bannerUrl}', to_jsonb(",
            )
            .bind::<Text, _>(url)
            .sql("::text))")),
            applications::updated_at.eq(now),
        ))
        .execute(&mut conn)
        .await
        .store()?;
        Ok(n == 1)
    }

    async fn published_application(&self, slug: &str) -> Result<Option<Application>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<ApplicationRow> = applications::table
            .filter(applications::slug.eq(slug))
            .filter(applications::status.eq(ApplicationStatus::Published.as_str()))
            .select(ApplicationRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        row.map(ApplicationRow::into_domain).transpose()
    }

    async fn create_affiliate_link(
        &self,
        organization: OrganizationId,
        link: AffiliateLink,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::insert_into(affiliate_links::table)
            .values((
                affiliate_links::id.eq(link.id),
                affiliate_links::organization_id.eq(organization.as_uuid()),
                affiliate_links::application_id.eq(link.application_id),
                affiliate_links::slug.eq(&link.slug),
                affiliate_links::label.eq(&link.label),
                affiliate_links::partner_id.eq(link.partner_id.map(|p| p.as_uuid())),
                affiliate_links::created_at.eq(link.created_at),
            ))
            .execute(&mut conn)
            .await
            .store()?;
        Ok(())
    }

    async fn list_affiliate_links(
        &self,
        organization: OrganizationId,
        application: Uuid,
    ) -> Result<Vec<AffiliateLink>, StoreError> {
        let mut conn = self.conn().await?;
        // The lead count is derived from the attributed submissions: no counter row that every
        // submission through a viral link would have to lock.
        let leads = submissions::table
            .filter(submissions::affiliate_link_id.eq(affiliate_links::id.nullable()))
            .count()
            .single_value();
        type Row = (
            Uuid,
            Uuid,
            String,
            Option<String>,
            Option<Uuid>,
            DateTime<Utc>,
            Option<i64>,
        );
        let rows: Vec<Row> = affiliate_links::table
            .filter(affiliate_links::organization_id.eq(organization.as_uuid()))
            .filter(affiliate_links::application_id.eq(application))
            .order((affiliate_links::created_at.asc(), affiliate_links::id.asc()))
            .select((
                affiliate_links::id,
                affiliate_links::application_id,
                affiliate_links::slug,
                affiliate_links::label,
                affiliate_links::partner_id,
                affiliate_links::created_at,
                leads,
            ))
            .load(&mut conn)
            .await
            .store()?;
        Ok(rows
            .into_iter()
            .map(
                |(id, application_id, slug, label, partner_id, created_at, leads)| AffiliateLink {
                    id,
                    application_id,
                    slug,
                    label,
                    partner_id: partner_id.map(PartnerId::from_uuid),
                    lead_count: leads.unwrap_or(0),
                    created_at,
                },
            )
            .collect())
    }

    async fn insert_submission(
        &self,
        s: NewSubmission,
        limit: WriteLimit,
    ) -> Result<RateDecision, StoreError> {
        let mut conn = self.conn().await?;
        let decision = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let decision =
                    hit_on(conn, &limit.bucket, limit.limit, limit.window, s.created_at).await?;
                if decision != RateDecision::Allowed {
                    return Ok(decision);
                }
                // The link is resolved inside the INSERT: one statement, not a look-up and a write.
                let link_of_slug = affiliate_links::table
                    .filter(affiliate_links::application_id.eq(s.application_id))
                    .filter(affiliate_links::slug.eq(s.affiliate_slug.clone().unwrap_or_default()))
                    .select(affiliate_links::id.nullable())
                    .single_value();
                let link: Option<Uuid> = diesel::insert_into(submissions::table)
                    .values((
                        submissions::id.eq(s.id),
                        submissions::organization_id.eq(s.organization_id.as_uuid()),
                        submissions::application_id.eq(s.application_id),
                        submissions::form_data.eq(serde_json::Value::Object(s.form_data.clone())),
                        submissions::accepted_agreements.eq(&s.accepted_agreements),
                        submissions::email.eq(&s.email),
                        submissions::affiliate_link_id.eq(link_of_slug),
                        submissions::affiliate_slug.eq(&s.affiliate_slug),
                        submissions::status.eq(SubmissionStatus::Pending.as_str()),
                        submissions::client_ip.eq(&s.client_ip),
                        submissions::created_at.eq(s.created_at),
                    ))
                    .returning(submissions::affiliate_link_id)
                    .get_result(conn)
                    .await?;
                record_event(
                    conn,
                    Some(s.organization_id),
                    partneros_domain::outbox::EventType::ApplicationSubmitted,
                    s.id,
                    serde_json::json!({
                        "submissionId": s.id,
                        "applicationId": s.application_id,
                        "affiliateLinkId": link,
                        "affiliateSlug": s.affiliate_slug,
                    }),
                    s.created_at,
                )
                .await?;
                Ok(decision)
            })
            .await?;
        Ok(decision)
    }

    async fn list_submissions(
        &self,
        organization: OrganizationId,
        application: Uuid,
        after: Option<SubmissionCursor>,
        limit: i64,
    ) -> Result<Vec<Submission>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = submissions::table
            .filter(submissions::organization_id.eq(organization.as_uuid()))
            .filter(submissions::application_id.eq(application))
            .order((submissions::created_at.desc(), submissions::id.desc()))
            .limit(limit)
            .select(SubmissionRow::as_select())
            .into_boxed();
        if let Some(c) = after {
            query = query.filter(
                submissions::created_at
                    .lt(c.created_at)
                    .or(submissions::created_at
                        .eq(c.created_at)
                        .and(submissions::id.lt(c.id))),
            );
        }
        let rows: Vec<SubmissionRow> = query.load(&mut conn).await.store()?;
        rows.into_iter().map(SubmissionRow::into_domain).collect()
    }

    async fn get_submission(
        &self,
        organization: OrganizationId,
        id: Uuid,
    ) -> Result<Option<Submission>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<SubmissionRow> = submissions::table
            .filter(submissions::organization_id.eq(organization.as_uuid()))
            .filter(submissions::id.eq(id))
            .select(SubmissionRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        row.map(SubmissionRow::into_domain).transpose()
    }

    async fn approve_submission(
        &self,
        submission: Uuid,
        record: NewPartnerRecord,
        reviewer: Option<UserId>,
    ) -> Result<ReviewOutcome<(Submission, Partner, Invitation)>, StoreError> {
        let mut conn = self.conn().await?;
        let org = record.organization_id.as_uuid();
        let outcome = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let status: Option<String> = submissions::table
                    .filter(submissions::organization_id.eq(org))
                    .filter(submissions::id.eq(submission))
                    .select(submissions::status)
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                match status.as_deref() {
                    None => return Ok(ReviewOutcome::NotFound),
                    Some("pending") => {}
                    Some(_) => return Ok(ReviewOutcome::NotPending),
                }
                let (partner, invitation) = insert_partner_record(conn, &record).await?;
                let updated: SubmissionRow = diesel::update(submissions::table.find(submission))
                    .set((
                        submissions::status.eq(SubmissionStatus::Approved.as_str()),
                        submissions::partner_id.eq(partner.id.as_uuid()),
                        submissions::reviewed_by.eq(reviewer.map(|u| u.as_uuid())),
                        submissions::reviewed_at.eq(record.now),
                    ))
                    .returning(SubmissionRow::as_returning())
                    .get_result(conn)
                    .await?;
                record_event(
                    conn,
                    Some(record.organization_id),
                    partneros_domain::outbox::EventType::ApplicationApproved,
                    submission,
                    serde_json::json!({
                        "submissionId": submission,
                        "applicationId": updated.application_id,
                        "partnerId": partner.id,
                        "reviewedBy": reviewer,
                    }),
                    record.now,
                )
                .await?;
                let submission = updated.into_domain().map_err(TxError::Store)?;
                Ok(ReviewOutcome::Done((submission, partner, invitation)))
            })
            .await?;
        Ok(outcome)
    }

    async fn submission_notice(
        &self,
        organization: OrganizationId,
        submission: Uuid,
    ) -> Result<Option<SubmissionNotice>, StoreError> {
        let mut conn = self.conn().await?;
        let org = organization.as_uuid();
        let found: Option<(Uuid, DateTime<Utc>, String, bool, String)> = submissions::table
            .inner_join(applications::table.on(applications::id.eq(submissions::application_id)))
            .inner_join(
                organizations::table.on(organizations::id.eq(applications::organization_id)),
            )
            .filter(submissions::organization_id.eq(org))
            .filter(applications::organization_id.eq(org))
            .filter(submissions::id.eq(submission))
            .select((
                applications::id,
                submissions::created_at,
                applications::name,
                applications::notify_on_submission,
                organizations::name,
            ))
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        let Some((application_id, submitted_at, application_name, notify, organization_name)) =
            found
        else {
            return Ok(None);
        };
        let recipients: Vec<(String, String)> = if notify {
            members::table
                .inner_join(users::table)
                .filter(members::organization_id.eq(org))
                .filter(members::role.eq_any([Role::Owner.as_str(), Role::Admin.as_str()]))
                .order((members::created_at.asc(), members::user_id.asc()))
                .select((users::email, users::name))
                .load(&mut conn)
                .await
                .store()?
        } else {
            Vec::new()
        };
        Ok(Some(SubmissionNotice {
            submission_id: submission,
            application_id,
            application_name,
            organization_name,
            notify,
            submitted_at,
            recipients: recipients
                .into_iter()
                .map(|(email, name)| Recipient { email, name })
                .collect(),
        }))
    }

    async fn reject_submission(
        &self,
        organization: OrganizationId,
        submission: Uuid,
        reason: Option<String>,
        reviewer: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<ReviewOutcome<Submission>, StoreError> {
        let mut conn = self.conn().await?;
        let org = organization.as_uuid();
        let updated: Option<SubmissionRow> = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let updated: Option<SubmissionRow> = diesel::update(
                    submissions::table
                        .filter(submissions::organization_id.eq(org))
                        .filter(submissions::id.eq(submission))
                        .filter(submissions::status.eq(SubmissionStatus::Pending.as_str())),
                )
                .set((
                    submissions::status.eq(SubmissionStatus::Rejected.as_str()),
                    submissions::reject_reason.eq(&reason),
                    submissions::reviewed_by.eq(reviewer.map(|u| u.as_uuid())),
                    submissions::reviewed_at.eq(now),
                ))
                .returning(SubmissionRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
                if let Some(row) = &updated {
                    record_event(
                        conn,
                        Some(organization),
                        partneros_domain::outbox::EventType::ApplicationRejected,
                        submission,
                        serde_json::json!({
                            "submissionId": submission,
                            "applicationId": row.application_id,
                            "reason": reason,
                            "reviewedBy": reviewer,
                        }),
                        now,
                    )
                    .await?;
                }
                Ok(updated)
            })
            .await?;
        if let Some(row) = updated {
            return Ok(ReviewOutcome::Done(row.into_domain()?));
        }
        let exists: bool = diesel::select(diesel::dsl::exists(
            submissions::table
                .filter(submissions::organization_id.eq(org))
                .filter(submissions::id.eq(submission)),
        ))
        .get_result(&mut conn)
        .await
        .store()?;
        Ok(if exists {
            ReviewOutcome::NotPending
        } else {
            ReviewOutcome::NotFound
        })
    }
}
