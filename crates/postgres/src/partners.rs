//! Partner records and their primary contacts.

use crate::Database;
use crate::error::ResultExt;
use crate::fragments::with_primary_contact;
use crate::identity::user_insert;
use crate::models::{
    ContactRow, MemberRow, PartnerRow, PrimaryContactRow, TxError, UserRow, insert_invitation,
    partner, record_event,
};
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::Invitation;
use partneros_domain::outbox::EventType;
use partneros_domain::partners::model::{Partner, PartnerCursor, PartnerFilter, PartnerPatch};
use partneros_domain::partners::ports::{NewPartnerRecord, PartnerStore};
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::*;
use uuid::Uuid;

pub(crate) async fn load_one(
    conn: &mut crate::Conn,
    organization: Uuid,
    id: Uuid,
) -> Result<Option<Partner>, StoreError> {
    let row: Option<(PartnerRow, Option<PrimaryContactRow>)> =
        with_primary_contact!(partners::table)
            .filter(partners::organization_id.eq(organization))
            .filter(partners::id.eq(id))
            .select((
                PartnerRow::as_select(),
                Option::<PrimaryContactRow>::as_select(),
            ))
            .get_result(conn)
            .await
            .optional()
            .store()?;
    row.map(|(p, c)| partner(p, c)).transpose()
}

/// The primary contact of a partner, for a partner row just written (`RETURNING` cannot join).
pub(crate) async fn primary_contact(
    conn: &mut crate::Conn,
    organization: Uuid,
    id: Uuid,
) -> Result<Option<PrimaryContactRow>, diesel::result::Error> {
    partner_contacts::table
        .filter(partner_contacts::organization_id.eq(organization))
        .filter(partner_contacts::partner_id.eq(id))
        .filter(partner_contacts::is_primary)
        .select(PrimaryContactRow::as_select())
        .get_result(conn)
        .await
        .optional()
}

/// `%` and `_` in a search term match themselves.
fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[derive(AsChangeset)]
#[diesel(table_name = partners)]
struct PartnerChanges {
    name: Option<String>,
    domain: Option<Option<String>>,
    logo_url: Option<Option<String>>,
    partner_type: Option<String>,
    subtype: Option<Option<String>>,
    category: Option<Option<String>>,
    tier: Option<Option<String>>,
    tier_source: Option<Option<String>>,
    stage: Option<String>,
    manager_id: Option<Option<Uuid>>,
    products: Option<Vec<String>>,
    updated_at: DateTime<Utc>,
}

impl PartnerChanges {
    fn new(p: PartnerPatch, now: DateTime<Utc>) -> Self {
        Self {
            name: p.name.map(|n| n.into_inner()),
            domain: p.domain.map(|d| d.map(|d| d.as_str().to_owned())),
            logo_url: p.logo_url.map(|u| u.map(|u| u.as_str().to_owned())),
            partner_type: p.partner_type.map(|t| t.as_str().to_owned()),
            subtype: p.subtype.map(|s| s.map(|s| s.into_inner())),
            category: p.category.map(|c| c.map(|c| c.as_str().to_owned())),
            tier: p.tier.map(|t| t.map(|t| t.into_inner())),
            tier_source: p.tier_source.map(|t| t.map(|t| t.as_str().to_owned())),
            stage: p.stage.map(|s| s.as_str().to_owned()),
            manager_id: p.manager_id.map(|m| m.map(|m| m.as_uuid())),
            products: p.products,
            updated_at: now,
        }
    }
}

/// Stores a partner with its primary contact, the contact's `partner`-role membership (and
/// account when new), the invitation when the account has no password, and the
/// `partner_created` event, on `conn` (inside the caller's transaction).
pub(crate) async fn insert_partner_record(
    conn: &mut crate::Conn,
    record: &NewPartnerRecord,
) -> Result<(Partner, Invitation), TxError> {
    let org = record.organization_id.as_uuid();
    let p = &record.partner;
    let c = &p.primary_contact;
    let row: PartnerRow = diesel::insert_into(partners::table)
        .values(PartnerRow {
            id: record.id.as_uuid(),
            organization_id: org,
            name: p.name.as_str().to_owned(),
            domain: p.domain.as_ref().map(|d| d.as_str().to_owned()),
            logo_url: p.logo_url.as_ref().map(|u| u.as_str().to_owned()),
            partner_type: p.partner_type.as_str().to_owned(),
            subtype: p.subtype.as_ref().map(|s| s.as_str().to_owned()),
            category: p.category.map(|c| c.as_str().to_owned()),
            tier: p.tier.as_ref().map(|t| t.as_str().to_owned()),
            tier_source: p.tier.as_ref().map(|_| "manual".to_owned()),
            stage: p.stage.as_str().to_owned(),
            industry: None,
            description: None,
            employees: None,
            employees_range: None,
            company_revenue: None,
            regions: vec![],
            languages: vec![],
            services: vec![],
            products: p.products.clone(),
            manager_id: p.manager_id.map(|m| m.as_uuid()),
            fit_score: None,
            ai_insights: None,
            analyzed_at: None,
            created_at: record.now,
            updated_at: record.now,
        })
        .returning(PartnerRow::as_returning())
        .get_result(conn)
        .await?;

    // The contact's account: reuse the one their email has, else create it.
    // DO NOTHING keeps a concurrent creation of the same email from failing.
    diesel::insert_into(users::table)
        .values(user_insert(&record.contact_user))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let user: UserRow =
        crate::identity::find_user_by_email_on(conn, record.contact_user.email.as_str())
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
    // An account without a password is a placeholder for the contact: it joins the portal now
    // and its set-password invitation is bound to it. An account with a password belongs to
    // someone who joins only by accepting the invitation while signed in.
    let passwordless = user.password_hash.is_none();
    if passwordless {
        diesel::insert_into(members::table)
            .values(MemberRow {
                organization_id: org,
                user_id: user.id,
                role: Role::Partner.as_str().into(),
                partner_id: Some(row.id),
                created_at: record.now,
            })
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    diesel::insert_into(partner_contacts::table)
        .values(ContactRow {
            id: record.contact_id.as_uuid(),
            organization_id: org,
            partner_id: row.id,
            user_id: Some(user.id),
            first_name: c.first_name.as_str().to_owned(),
            last_name: c.last_name.as_str().to_owned(),
            email: c.email.as_str().to_owned(),
            is_primary: true,
            created_at: record.now,
        })
        .execute(conn)
        .await?;
    if row.domain.is_some() {
        crate::analysis::enqueue_analysis(conn, org, row.id, record.now).await?;
    }
    let mut invitation = record.invitation.clone();
    if passwordless {
        invitation.invitation.user_id = Some(UserId::from_uuid(user.id));
    }
    let invitation = insert_invitation(conn, &invitation).await?;
    record_event(
        conn,
        Some(record.organization_id),
        EventType::PartnerCreated,
        row.id,
        serde_json::json!({
            "partnerId": row.id,
            "name": row.name,
            "domain": row.domain,
            "createdBy": record.created_by,
        }),
        record.now,
    )
    .await?;
    let contact = PrimaryContactRow {
        id: record.contact_id.as_uuid(),
        first_name: c.first_name.as_str().to_owned(),
        last_name: c.last_name.as_str().to_owned(),
        email: c.email.as_str().to_owned(),
    };
    Ok((
        partner(row, Some(contact)).map_err(TxError::Store)?,
        invitation,
    ))
}

#[async_trait]
impl PartnerStore for Database {
    async fn create_partner(
        &self,
        record: NewPartnerRecord,
    ) -> Result<(Partner, Invitation), StoreError> {
        let mut conn = self.conn().await?;
        Ok(conn
            .transaction::<_, TxError, _>(async |conn| insert_partner_record(conn, &record).await)
            .await?)
    }

    async fn get_partner(
        &self,
        organization: OrganizationId,
        id: PartnerId,
    ) -> Result<Option<Partner>, StoreError> {
        let mut conn = self.conn().await?;
        load_one(&mut conn, organization.as_uuid(), id.as_uuid()).await
    }

    async fn list_partners(
        &self,
        organization: OrganizationId,
        filter: PartnerFilter,
        after: Option<PartnerCursor>,
        limit: i64,
    ) -> Result<Vec<Partner>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = with_primary_contact!(partners::table)
            .filter(partners::organization_id.eq(organization.as_uuid()))
            .select((
                PartnerRow::as_select(),
                Option::<PrimaryContactRow>::as_select(),
            ))
            .order((partners::created_at.desc(), partners::id.desc()))
            .limit(limit)
            .into_boxed();
        if let Some(q) = filter.q.as_deref() {
            let pattern = like_pattern(q);
            query = query.filter(
                partners::name
                    .ilike(pattern.clone())
                    .or(partners::domain.ilike(pattern).assume_not_null()),
            );
        }
        if let Some(t) = filter.partner_type {
            query = query.filter(partners::partner_type.eq(t.as_str()));
        }
        if let Some(s) = filter.stage {
            query = query.filter(partners::stage.eq(s.as_str()));
        }
        if let Some(tier) = filter.tier {
            query = query.filter(partners::tier.eq(tier));
        }
        if let Some(c) = after {
            query = query.filter(
                partners::created_at
                    .lt(c.created_at)
                    .or(partners::created_at
                        .eq(c.created_at)
                        .and(partners::id.lt(c.id.as_uuid()))),
            );
        }
        let rows: Vec<(PartnerRow, Option<PrimaryContactRow>)> =
            query.load(&mut conn).await.store()?;
        rows.into_iter().map(|(p, c)| partner(p, c)).collect()
    }

    async fn update_partner(
        &self,
        organization: OrganizationId,
        id: PartnerId,
        patch: PartnerPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Partner>, StoreError> {
        let mut conn = self.conn().await?;
        let org = organization.as_uuid();
        let new_domain = patch
            .domain
            .clone()
            .flatten()
            .map(|d| d.as_str().to_owned());
        let changed = patch.fields();
        let updated = conn
            .transaction::<_, TxError, _>(async move |conn| {
                // A new domain queues a background analysis in the same transaction.
                let old: Option<Option<String>> = match &new_domain {
                    Some(_) => partners::table
                        .filter(partners::organization_id.eq(org))
                        .filter(partners::id.eq(id.as_uuid()))
                        .select(partners::domain)
                        .for_update()
                        .first(conn)
                        .await
                        .optional()?,
                    None => None,
                };
                let row: Option<PartnerRow> = diesel::update(
                    partners::table
                        .filter(partners::organization_id.eq(org))
                        .filter(partners::id.eq(id.as_uuid())),
                )
                .set(PartnerChanges::new(patch, now))
                .returning(PartnerRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
                let Some(row) = row else {
                    return Ok(None);
                };
                if let (Some(new), Some(old)) = (&new_domain, &old)
                    && old.as_deref() != Some(new.as_str())
                {
                    crate::analysis::enqueue_analysis(conn, org, id.as_uuid(), now).await?;
                }
                record_event(
                    conn,
                    Some(organization),
                    EventType::PartnerUpdated,
                    row.id,
                    serde_json::json!({
                        "partnerId": row.id,
                        "name": row.name,
                        "domain": row.domain,
                        "changedFields": changed,
                    }),
                    now,
                )
                .await?;
                let contact = primary_contact(conn, org, id.as_uuid()).await?;
                Ok(Some((row, contact)))
            })
            .await?;
        updated.map(|(p, c)| partner(p, c)).transpose()
    }

    async fn delete_partner(
        &self,
        organization: OrganizationId,
        id: PartnerId,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let org = organization.as_uuid();
        let deleted = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let gone: Option<(String, Option<String>)> = diesel::delete(
                    partners::table
                        .filter(partners::organization_id.eq(org))
                        .filter(partners::id.eq(id.as_uuid())),
                )
                .returning((partners::name, partners::domain))
                .get_result(conn)
                .await
                .optional()?;
                let n = usize::from(gone.is_some());
                if let Some((name, domain)) = gone {
                    record_event(
                        conn,
                        Some(organization),
                        EventType::PartnerDeleted,
                        id.as_uuid(),
                        serde_json::json!({"partnerId": id, "name": name, "domain": domain}),
                        chrono::Utc::now(),
                    )
                    .await?;
                    // The partner's portal accounts lose their access with the record.
                    diesel::delete(
                        members::table
                            .filter(members::organization_id.eq(org))
                            .filter(members::role.eq(Role::Partner.as_str()))
                            .filter(members::partner_id.is_null()),
                    )
                    .execute(conn)
                    .await?;
                }
                Ok(n == 1)
            })
            .await?;
        Ok(deleted)
    }

    async fn is_internal_member(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        diesel::select(diesel::dsl::exists(
            members::table
                .filter(members::organization_id.eq(organization.as_uuid()))
                .filter(members::user_id.eq(user.as_uuid()))
                .filter(members::role.ne(Role::Partner.as_str())),
        ))
        .get_result(&mut conn)
        .await
        .store()
    }
}
