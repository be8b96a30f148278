//! Account tokens (email verification, password reset): requested rows, minted hashes, and
//! their single use.

use crate::Database;
use crate::error::ResultExt;
use crate::models::{TxError, UserRow, corrupt, record_event};
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use partneros_domain::identity::model::User;
use partneros_domain::identity::tokens::{MintedToken, NewUserToken, TokenPurpose, UserTokenStore};
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::{UserId, UserTokenId};
use partneros_domain::shared::secret::TokenHash;
use uuid::Uuid;

/// Stores a requested token (no hash yet) and the event that has it mailed, on `conn` (inside
/// the caller's transaction).
pub(crate) async fn insert_request(
    conn: &mut crate::Conn,
    token: &NewUserToken,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(user_tokens::table)
        .values((
            user_tokens::id.eq(token.id.as_uuid()),
            user_tokens::user_id.eq(token.user_id.as_uuid()),
            user_tokens::purpose.eq(token.purpose.as_str()),
            user_tokens::expires_at.eq(token.expires_at),
            user_tokens::created_at.eq(token.created_at),
        ))
        .execute(conn)
        .await?;
    record_event(
        conn,
        None,
        token.purpose.event(),
        token.user_id.as_uuid(),
        token.event_payload(),
        token.created_at,
    )
    .await
}

/// Marks a live token of `purpose` used; its user's id, or `None` when it is not live. The row
/// lock makes one of two concurrent uses wait and then find it used.
async fn consume(
    conn: &mut crate::Conn,
    hash: TokenHash,
    purpose: TokenPurpose,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, diesel::result::Error> {
    diesel::update(
        user_tokens::table
            .filter(user_tokens::token_hash.eq(hash.as_bytes().as_slice()))
            .filter(user_tokens::purpose.eq(purpose.as_str()))
            .filter(user_tokens::used_at.is_null())
            .filter(user_tokens::expires_at.gt(now)),
    )
    .set(user_tokens::used_at.eq(now))
    .returning(user_tokens::user_id)
    .get_result(conn)
    .await
    .optional()
}

/// Retires the user's unused tokens of `purpose` (all purposes when `None`).
async fn retire(
    conn: &mut crate::Conn,
    user: Uuid,
    purpose: Option<TokenPurpose>,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    let mut query = diesel::update(user_tokens::table)
        .filter(user_tokens::user_id.eq(user))
        .filter(user_tokens::used_at.is_null())
        .into_boxed();
    if let Some(p) = purpose {
        query = query.filter(user_tokens::purpose.eq(p.as_str()));
    }
    query
        .set(user_tokens::used_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the user's address verified, unless it is already.
pub(crate) async fn mark_verified(
    conn: &mut crate::Conn,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    diesel::update(
        users::table
            .find(user)
            .filter(users::email_verified_at.is_null()),
    )
    .set((users::email_verified_at.eq(now), users::updated_at.eq(now)))
    .execute(conn)
    .await?;
    Ok(())
}

async fn load_user(conn: &mut crate::Conn, id: Uuid) -> Result<UserRow, diesel::result::Error> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
}

#[async_trait]
impl UserTokenStore for Database {
    async fn request_token(&self, token: NewUserToken) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, TxError, _>(async move |conn| {
            insert_request(conn, &token).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn mint_token(
        &self,
        id: UserTokenId,
        hash: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<MintedToken>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<(Uuid, String, DateTime<Utc>)> = diesel::update(
            user_tokens::table
                .find(id.as_uuid())
                .filter(user_tokens::used_at.is_null())
                .filter(user_tokens::expires_at.gt(now)),
        )
        .set(user_tokens::token_hash.eq(hash.as_bytes().as_slice()))
        .returning((
            user_tokens::user_id,
            user_tokens::purpose,
            user_tokens::expires_at,
        ))
        .get_result(&mut conn)
        .await
        .optional()
        .store()?;
        let Some((user, purpose, expires_at)) = row else {
            return Ok(None);
        };
        let purpose =
            TokenPurpose::parse(&purpose).ok_or_else(|| corrupt("token purpose", &purpose))?;
        // The row cascades with its user, so the user is there.
        let user = load_user(&mut conn, user).await.store()?;
        Ok(Some(MintedToken {
            user: user.into_user(),
            purpose,
            expires_at,
        }))
    }

    async fn find_live_token(
        &self,
        hash: TokenHash,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        let mut conn = self.conn().await?;
        let user: Option<Uuid> = user_tokens::table
            .filter(user_tokens::token_hash.eq(hash.as_bytes().as_slice()))
            .filter(user_tokens::purpose.eq(purpose.as_str()))
            .filter(user_tokens::used_at.is_null())
            .filter(user_tokens::expires_at.gt(now))
            .select(user_tokens::user_id)
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        Ok(user.map(UserId::from_uuid))
    }

    async fn verify_email(
        &self,
        hash: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn().await?;
        let user = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let Some(user) = consume(conn, hash, TokenPurpose::VerifyEmail, now).await? else {
                    return Ok(None);
                };
                mark_verified(conn, user, now).await?;
                retire(conn, user, Some(TokenPurpose::VerifyEmail), now).await?;
                Ok(Some(load_user(conn, user).await?))
            })
            .await?;
        Ok(user.map(UserRow::into_user))
    }

    async fn reset_password(
        &self,
        hash: TokenHash,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn().await?;
        let user = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let Some(user) = consume(conn, hash, TokenPurpose::ResetPassword, now).await?
                else {
                    return Ok(None);
                };
                diesel::update(users::table.find(user))
                    .set((
                        users::password_hash.eq(&password_hash),
                        users::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                mark_verified(conn, user, now).await?;
                // Whoever knew the old password is signed out everywhere.
                diesel::update(
                    sessions::table
                        .filter(sessions::user_id.eq(user))
                        .filter(sessions::revoked_at.is_null()),
                )
                .set(sessions::revoked_at.eq(now))
                .execute(conn)
                .await?;
                // The address is verified now, and other reset links are moot.
                retire(conn, user, None, now).await?;
                Ok(Some(load_user(conn, user).await?))
            })
            .await?;
        Ok(user.map(UserRow::into_user))
    }
}
