//! Users and sessions, and the credential resolution every request goes through.

use crate::Database;
use crate::error::ResultExt;
use crate::models::{TxError, UserRow, parse_role};
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use partneros_domain::StoreError;
use partneros_domain::identity::{
    ActiveMembership, Credential, NewSession, NewUser, Principal, SESSION_IDLE,
    SESSION_TOUCH_INTERVAL, Session, User, UserWithPassword,
};
use partneros_domain::ids::*;
use partneros_domain::ports::IdentityStore;
use partneros_domain::values::Email;
use uuid::Uuid;

diesel::define_sql_function!(fn lower(x: Text) -> Text);

#[derive(QueryableByName)]
struct SessionAuthRow {
    #[diesel(sql_type = SqlUuid)]
    session_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    role: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    partner_id: Option<Uuid>,
}

#[derive(QueryableByName)]
struct ApiKeyAuthRow {
    #[diesel(sql_type = SqlUuid)]
    key_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    organization_id: Uuid,
    #[diesel(sql_type = Text)]
    role: String,
}

/// A live session and the membership in its active organization, sliding the inactivity
/// expiry at most once per touch interval (the data-modifying CTE writes nothing otherwise).
const SESSION_AUTH_SQL: &str = "
WITH s AS (
    SELECT id, user_id, active_organization_id, last_seen_at, absolute_expires_at
    FROM sessions
    WHERE token_hash = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2
), touched AS (
    UPDATE sessions SET last_seen_at = $2, idle_expires_at = LEAST($3, sessions.absolute_expires_at)
    FROM s WHERE sessions.id = s.id AND s.last_seen_at < $4
    RETURNING sessions.id
)
SELECT s.id AS session_id, s.user_id, m.organization_id, m.role, m.partner_id
FROM s LEFT JOIN members m ON m.user_id = s.user_id AND m.organization_id = s.active_organization_id";

const API_KEY_AUTH_SQL: &str = "
WITH k AS (
    SELECT id, organization_id, role, last_used_at FROM api_keys
    WHERE token_hash = $1 AND revoked_at IS NULL
), touched AS (
    UPDATE api_keys SET last_used_at = $2 FROM k
    WHERE api_keys.id = k.id AND (k.last_used_at IS NULL OR k.last_used_at < $3)
    RETURNING api_keys.id
)
SELECT k.id AS key_id, k.organization_id, k.role FROM k";

/// Resolves a credential on `conn`; shared by [`IdentityStore::authenticate`] and the
/// single-round-trip partner read.
pub(crate) async fn authenticate_on<C>(
    conn: &mut C,
    credential: Credential,
    now: DateTime<Utc>,
) -> Result<Option<Principal>, StoreError>
where
    C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg> + Send,
{
    let stale = now - SESSION_TOUCH_INTERVAL;
    match credential {
        Credential::Session(hash) => {
            let row: Option<SessionAuthRow> = diesel::sql_query(SESSION_AUTH_SQL)
                .bind::<Bytea, _>(hash.as_bytes().as_slice())
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(now + SESSION_IDLE)
                .bind::<Timestamptz, _>(stale)
                .get_result(conn)
                .await
                .optional()
                .store()?;
            let Some(row) = row else { return Ok(None) };
            let membership = match (row.organization_id, row.role) {
                (Some(org), Some(role)) => Some(ActiveMembership {
                    organization_id: OrganizationId::from_uuid(org),
                    role: parse_role(&role)?,
                    partner_id: row.partner_id.map(PartnerId::from_uuid),
                }),
                _ => None,
            };
            Ok(Some(Principal::User {
                user_id: UserId::from_uuid(row.user_id),
                session_id: SessionId::from_uuid(row.session_id),
                membership,
            }))
        }
        Credential::ApiKey(hash) => {
            let row: Option<ApiKeyAuthRow> = diesel::sql_query(API_KEY_AUTH_SQL)
                .bind::<Bytea, _>(hash.as_bytes().as_slice())
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(stale)
                .get_result(conn)
                .await
                .optional()
                .store()?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(Principal::ApiKey {
                key_id: ApiKeyId::from_uuid(row.key_id),
                membership: ActiveMembership {
                    organization_id: OrganizationId::from_uuid(row.organization_id),
                    role: parse_role(&row.role)?,
                    partner_id: None,
                },
            }))
        }
    }
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
    }
}

pub(crate) async fn insert_session(
    conn: &mut AsyncPgConnection,
    s: &NewSession,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(sessions::table)
        .values(SessionInsert::from(s))
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn find_user_by_email_on(
    conn: &mut AsyncPgConnection,
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
        let is_member = members::table
            .filter(members::organization_id.eq(organization.as_uuid()))
            .filter(members::user_id.eq(user.as_uuid()));
        let updated = diesel::update(sessions::table.find(session.as_uuid()))
            .filter(diesel::dsl::exists(is_member))
            .set(sessions::active_organization_id.eq(organization.as_uuid()))
            .execute(&mut conn)
            .await
            .store()?;
        Ok(updated == 1)
    }
}
