//! Row types and their conversion into domain entities. No row type leaves this crate.

use crate::schema::*;
use chrono::{DateTime, Utc};
use diesel::prelude::{Insertable, Queryable, QueryableByName, Selectable, SelectableHelper};
use partneros_domain::identity::model::{ApiKey, User};
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::{Invitation, Member, Organization};
use partneros_domain::partners::model::{Partner, PrimaryContact};
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::*;
use uuid::Uuid;

/// Errors inside a transaction: the driver's, or a rule the transaction enforces.
#[derive(Debug)]
pub(crate) enum TxError {
    Diesel(diesel::result::Error),
    Store(StoreError),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Diesel(e)
    }
}

impl From<TxError> for StoreError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Diesel(e) => crate::error::map_error(e),
            TxError::Store(e) => e,
        }
    }
}

/// A stored enum value that does not parse: the database and the code disagree.
pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::unexpected(format!("unexpected {what} in the database: {value:?}"))
}

pub(crate) fn parse_role(value: &str) -> Result<Role, StoreError> {
    value.parse().map_err(|_| corrupt("role", value))
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn into_user(self) -> User {
        User {
            id: UserId::from_uuid(self.id),
            email: self.email,
            name: self.name,
            has_password: self.password_hash.is_some(),
            email_verified: self.email_verified_at.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub(crate) struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OrganizationRow> for Organization {
    fn from(r: OrganizationRow) -> Self {
        Organization {
            id: OrganizationId::from_uuid(r.id),
            name: r.name,
            slug: r.slug,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = members, check_for_backend(diesel::pg::Pg))]
pub(crate) struct MemberRow {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub partner_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn member(m: MemberRow, u: UserRow) -> Result<Member, StoreError> {
    Ok(Member {
        user_id: UserId::from_uuid(u.id),
        email: u.email,
        name: u.name,
        role: parse_role(&m.role)?,
        partner_id: m.partner_id.map(PartnerId::from_uuid),
        joined_at: m.created_at,
    })
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations, check_for_backend(diesel::pg::Pg))]
pub(crate) struct InvitationRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub role: String,
    pub partner_id: Option<Uuid>,
    pub token_hash: Vec<u8>,
    pub invited_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub user_id: Option<Uuid>,
}

impl InvitationRow {
    pub fn into_invitation(self) -> Result<Invitation, StoreError> {
        Ok(Invitation {
            id: InvitationId::from_uuid(self.id),
            organization_id: OrganizationId::from_uuid(self.organization_id),
            email: self.email,
            role: parse_role(&self.role)?,
            partner_id: self.partner_id.map(PartnerId::from_uuid),
            user_id: self.user_id.map(UserId::from_uuid),
            expires_at: self.expires_at,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ApiKeyRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub role: String,
    pub token_hash: Vec<u8>,
    pub prefix: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyRow {
    pub fn into_api_key(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: ApiKeyId::from_uuid(self.id),
            organization_id: OrganizationId::from_uuid(self.organization_id),
            name: self.name,
            role: parse_role(&self.role)?,
            prefix: self.prefix,
            created_by: self.created_by.map(UserId::from_uuid),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, QueryableByName)]
#[diesel(table_name = partners, check_for_backend(diesel::pg::Pg))]
pub(crate) struct PartnerRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub logo_url: Option<String>,
    pub partner_type: String,
    pub subtype: Option<String>,
    pub category: Option<String>,
    pub tier: Option<String>,
    pub tier_source: Option<String>,
    pub stage: String,
    pub industry: Option<String>,
    pub description: Option<String>,
    pub employees: Option<i32>,
    pub employees_range: Option<String>,
    pub company_revenue: Option<String>,
    pub regions: Vec<String>,
    pub languages: Vec<String>,
    pub services: Vec<String>,
    pub products: Vec<String>,
    pub manager_id: Option<Uuid>,
    pub fit_score: Option<i16>,
    pub ai_insights: Option<serde_json::Value>,
    pub analyzed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A partner's primary contact, read with the partner (see `with_primary_contact!`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partner_contacts, check_for_backend(diesel::pg::Pg))]
pub(crate) struct PrimaryContactRow {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = partner_contacts, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ContactRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub partner_id: Uuid,
    pub user_id: Option<Uuid>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_primary: bool,
    pub created_at: DateTime<Utc>,
}

fn parse_opt<T: std::str::FromStr>(what: &str, v: Option<String>) -> Result<Option<T>, StoreError> {
    v.map(|s| s.parse().map_err(|_| corrupt(what, &s)))
        .transpose()
}

pub(crate) fn partner(
    row: PartnerRow,
    contact: Option<PrimaryContactRow>,
) -> Result<Partner, StoreError> {
    let primary_contact = contact.map(|c| PrimaryContact {
        id: ContactId::from_uuid(c.id),
        first_name: c.first_name,
        last_name: c.last_name,
        email: c.email,
    });
    Ok(Partner {
        id: PartnerId::from_uuid(row.id),
        organization_id: OrganizationId::from_uuid(row.organization_id),
        partner_type: row
            .partner_type
            .parse()
            .map_err(|_| corrupt("partner type", &row.partner_type))?,
        category: parse_opt("category", row.category)?,
        tier_source: parse_opt("tier source", row.tier_source)?,
        stage: row
            .stage
            .parse()
            .map_err(|_| corrupt("stage", &row.stage))?,
        name: row.name,
        domain: row.domain,
        logo_url: row.logo_url,
        subtype: row.subtype,
        tier: row.tier,
        industry: row.industry,
        description: row.description,
        employees: row.employees,
        employees_range: row.employees_range,
        company_revenue: row.company_revenue,
        regions: row.regions,
        languages: row.languages,
        services: row.services,
        products: row.products,
        primary_contact,
        manager_id: row.manager_id.map(UserId::from_uuid),
        fit_score: row.fit_score,
        ai_insights: row.ai_insights,
        analyzed_at: row.analyzed_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EventRow {
    pub id: Uuid,
    pub organization_id: Option<Uuid>,
    pub aggregate_id: Option<Uuid>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Writes a domain event to the outbox on `conn` (inside the caller's transaction). Events of one
/// `aggregate` (the record they are about) are published in the order they were recorded.
pub(crate) async fn record_event(
    conn: &mut crate::Conn,
    organization: Option<OrganizationId>,
    kind: partneros_domain::outbox::EventType,
    aggregate: Uuid,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    use diesel_async::RunQueryDsl;
    diesel::insert_into(events::table)
        .values(EventRow {
            id: Uuid::now_v7(),
            organization_id: organization.map(|o| o.as_uuid()),
            aggregate_id: Some(aggregate),
            kind: kind.kind().to_owned(),
            payload,
            created_at: at,
        })
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores an invitation and its `invitation_created` event (inside the caller's transaction).
pub(crate) async fn insert_invitation(
    conn: &mut crate::Conn,
    new: &partneros_domain::organizations::model::NewInvitation,
) -> Result<Invitation, diesel::result::Error> {
    use diesel_async::RunQueryDsl;
    let inv = &new.invitation;
    let row: InvitationRow = diesel::insert_into(invitations::table)
        .values(InvitationRow {
            id: inv.id.as_uuid(),
            organization_id: inv.organization_id.as_uuid(),
            email: inv.email.clone(),
            role: inv.role.as_str().to_owned(),
            partner_id: inv.partner_id.map(|p| p.as_uuid()),
            token_hash: new.token.hash.as_bytes().to_vec(),
            invited_by: new.invited_by.map(|u| u.as_uuid()),
            expires_at: inv.expires_at,
            accepted_at: None,
            created_at: inv.created_at,
            revoked_at: None,
            user_id: inv.user_id.map(|u| u.as_uuid()),
        })
        .returning(InvitationRow::as_returning())
        .get_result(conn)
        .await?;
    // The event names the invitation; its token exists only in the mail to the invitee.
    record_event(
        conn,
        Some(inv.organization_id),
        partneros_domain::outbox::EventType::InvitationCreated,
        inv.id.as_uuid(),
        serde_json::json!({
            "invitationId": inv.id,
            "email": inv.email,
            "role": inv.role.as_str(),
            "partnerId": inv.partner_id,
            "expiresAt": partneros_domain::shared::time::format_timestamp(&inv.expires_at),
        }),
        inv.created_at,
    )
    .await?;
    row.into_invitation()
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}
