//! Users and sessions, and the credential resolution every request goes through.

use crate::Database;
use crate::error::ResultExt;
use crate::fragments::{live_session, lower};
use crate::models::{TxError, UserRow, parse_role};
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel_async::{AsyncConnection, RunQueryDsl};
use partneros_domain::identity::model::{
    ActiveMembership, Credential, NewSession, NewUser, Principal, SESSION_IDLE,
    SESSION_TOUCH_INTERVAL, Session, User, UserWithPassword,
};
use partneros_domain::identity::ports::IdentityStore;
use partneros_domain::identity::tokens::NewUserToken;
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::*;
use partneros_domain::shared::values::Email;
use uuid::Uuid;

/// Resolves a credential on `conn`, in one statement: the live session with its user's
/// membership of the session's active organization (role and partner), or the live API key
/// with its role. What the caller may do is the domain's decision (`access`), not this
/// query's. The sliding expiry is written only when the session was last seen more than a
/// minute ago, so a busy session costs one write a minute, not one per request.
pub(crate) async fn authenticate_on(
    conn: &mut crate::Conn,
    credential: Credential,
    now: DateTime<Utc>,
) -> Result<Option<Principal>, StoreError> {
    let stale = now - SESSION_TOUCH_INTERVAL;
    match credential {
        Credential::Session(hash) => {
            type Row = (
                Uuid,
                Uuid,
                DateTime<Utc>,
                Option<Uuid>,
                Option<String>,
                Option<Uuid>,
            );
            let row: Option<Row> = sessions::table
                .left_join(
                    members::table.on(members::organization_id
                        .nullable()
                        .eq(sessions::active_organization_id)
                        .and(members::user_id.eq(sessions::user_id))),
                )
                .filter(live_session!(hash.as_bytes().as_slice(), now))
                .select((
                    sessions::id,
                    sessions::user_id,
                    sessions::last_seen_at,
                    sessions::active_organization_id,
                    members::role.nullable(),
                    members::partner_id.nullable(),
                ))
                .first(conn)
                .await
                .optional()
                .store()?;
            let Some((session_id, user_id, last_seen_at, org, role, partner_id)) = row else {
                return Ok(None);
            };
            if last_seen_at < stale {
                touch_session(conn, session_id, now).await?;
            }
            session_principal(session_id, user_id, org, role, partner_id).map(Some)
        }
        Credential::ApiKey(hash) => {
            let row: Option<(Uuid, Uuid, String, Option<DateTime<Utc>>)> = api_keys::table
                .filter(api_keys::token_hash.eq(hash.as_bytes().as_slice()))
                .filter(api_keys::revoked_at.is_null())
                .select((
                    api_keys::id,
                    api_keys::organization_id,
                    api_keys::role,
                    api_keys::last_used_at,
                ))
                .first(conn)
                .await
                .optional()
                .store()?;
            let Some((key_id, org, role, last_used_at)) = row else {
                return Ok(None);
            };
            if last_used_at.is_none_or(|t| t < stale) {
                diesel::update(api_keys::table.find(key_id))
                    .set(api_keys::last_used_at.eq(now))
                    .execute(conn)
                    .await
                    .store()?;
            }
            Ok(Some(Principal::ApiKey {
                key_id: ApiKeyId::from_uuid(key_id),
                membership: ActiveMembership {
                    organization_id: OrganizationId::from_uuid(org),
                    role: parse_role(&role)?,
                    partner_id: None,
                },
            }))
        }
    }
}

/// Slides a session's inactivity expiry (never past its absolute expiry).
pub(crate) async fn touch_session(
    conn: &mut crate::Conn,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(session_id))
        .set((
            sessions::last_seen_at.eq(now),
            sessions::idle_expires_at.eq(diesel::dsl::sql::<Timestamptz>("LEAST(")
                .bind::<Timestamptz, _>(now + SESSION_IDLE)
                .sql(", absolute_expires_at)")),
        ))
        .execute(conn)
        .await
        .store()?;
    Ok(())
}

/// The principal of a live session and its (optional) membership row.
pub(crate) fn session_principal(
    session_id: Uuid,
    user_id: Uuid,
    organization: Option<Uuid>,
    role: Option<String>,
    partner_id: Option<Uuid>,
) -> Result<Principal, StoreError> {
    let membership = match (organization, role) {
        (Some(org), Some(role)) => Some(ActiveMembership {
            organization_id: OrganizationId::from_uuid(org),
            role: parse_role(&role)?,
            partner_id: partner_id.map(PartnerId::from_uuid),
        }),
        _ => None,
    };
    Ok(Principal::User {
        user_id: UserId::from_uuid(user_id),
        session_id: SessionId::from_uuid(session_id),
        membership,
    })
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct SessionInsert {
    id: Uuid,
    token_hash: Vec<u8>,
    user_id: Uuid,
    active_organization_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    idle_expires_at: DateTime<Utc>,
    absolute_expires_at: DateTime<Utc>,
    user_agent: Option<String>,
    ip_address: Option<String>,
}

impl From<&NewSession> for SessionInsert {
    fn from(s: &NewSession) -> Self {
        Self {
            id: s.id.as_uuid(),
            token_hash: s.token.hash.as_bytes().to_vec(),
            user_id: s.user_id.as_uuid(),
            active_organization_id: s.active_organization_id.map(|o| o.as_uuid()),
            created_at: s.created_at,
            last_seen_at: s.created_at,
            idle_expires_at: s.idle_expires_at,
            absolute_expires_at: s.absolute_expires_at,
            user_agent: s
                .user_agent
                .as_deref()
                .map(|u| u.chars().take(500).collect()),
            ip_address: s.ip_address.clone(),
        }
    }
}

pub(crate) fn user_insert(u: &NewUser) -> UserRow {
    UserRow {
        id: u.id.as_uuid(),
        email: u.email.as_str().to_owned(),
        name: u.name.clone(),
        password_hash: u.password_hash.clone(),
        created_at: u.created_at,
        updated_at: u.created_at,
        email_verified_at: u.email_verified.then_some(u.created_at),
    }
}

pub(crate) async fn insert_session(
    conn: &mut crate::Conn,
    s: &NewSession,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(sessions::table)
        .values(SessionInsert::from(s))
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn find_user_by_email_on(
    conn: &mut crate::Conn,
    email: &str,
) -> Result<Option<UserRow>, diesel::result::Error> {
    users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

#[async_trait]
impl IdentityStore for Database {
    async fn create_user(
        &self,
        user: NewUser,
        session: Option<NewSession>,
        verification: Option<NewUserToken>,
    ) -> Result<User, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let row: UserRow = diesel::insert_into(users::table)
                    .values(user_insert(&user))
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .await?;
                if let Some(s) = &session {
                    insert_session(conn, s).await?;
                }
                if let Some(t) = &verification {
                    crate::user_tokens::insert_request(conn, t).await?;
                }
                Ok(row)
            })
            .await?;
        Ok(row.into_user())
    }

    async fn find_user_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserWithPassword>, StoreError> {
        let mut conn = self.conn().await?;
        let row = find_user_by_email_on(&mut conn, email.as_str())
            .await
            .store()?;
        Ok(row.map(|r| {
            let password_hash = r.password_hash.clone();
            UserWithPassword {
                user: r.into_user(),
                password_hash,
            }
        }))
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<UserRow> = users::table
            .find(id.as_uuid())
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        Ok(row.map(UserRow::into_user))
    }

    async fn count_users(&self) -> Result<i64, StoreError> {
        let mut conn = self.conn().await?;
        users::table.count().get_result(&mut conn).await.store()
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        insert_session(&mut conn, &session).await.store()
    }

    async fn authenticate(
        &self,
        credential: Credential,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError> {
        let mut conn = self.conn().await?;
        authenticate_on(&mut conn, credential, now).await
    }

    async fn find_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<(
            Uuid,
            Uuid,
            Option<Uuid>,
            DateTime<Utc>,
            DateTime<Utc>,
            DateTime<Utc>,
        )> = sessions::table
            .find(id.as_uuid())
            .select((
                sessions::id,
                sessions::user_id,
                sessions::active_organization_id,
                sessions::created_at,
                sessions::idle_expires_at,
                sessions::absolute_expires_at,
            ))
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        Ok(row.map(|(id, user, org, created, idle, absolute)| Session {
            id: SessionId::from_uuid(id),
            user_id: UserId::from_uuid(user),
            active_organization_id: org.map(OrganizationId::from_uuid),
            created_at: created,
            expires_at: idle.min(absolute),
        }))
    }

    async fn revoke_session(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::update(
            sessions::table
                .find(id.as_uuid())
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(now))
        .execute(&mut conn)
        .await
        .store()?;
        Ok(())
    }

    async fn set_active_organization(
        &self,
        session: SessionId,
        user: UserId,
        organization: OrganizationId,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        // FOR SHARE: a membership being removed meanwhile is waited for, not switched into.
        let is_member = members::table
            .filter(members::organization_id.eq(organization.as_uuid()))
            .filter(members::user_id.eq(user.as_uuid()))
            .for_share();
        let updated = diesel::update(sessions::table.find(session.as_uuid()))
            .filter(diesel::dsl::exists(is_member))
            .set(sessions::active_organization_id.eq(organization.as_uuid()))
            .execute(&mut conn)
            .await
            .store()?;
        Ok(updated == 1)
    }
}
