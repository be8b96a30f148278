//! Ports of identity: users and sessions, API keys and password hashing.
//!
//! Every storage port returns [`StoreError`]: `Unavailable` when the database cannot be reached
//! or no connection is free in time, `Unexpected` for anything else the adapter cannot explain;
//! the variants a method must use beyond those are listed under its `# Errors`.

use crate::StoreError;
use crate::identity::model::{ApiKey, NewApiKey};
use crate::identity::model::{
    Credential, NewSession, NewUser, Principal, Session, User, UserWithPassword,
};
use crate::identity::tokens::NewUserToken;
use crate::shared::ids::{ApiKeyId, OrganizationId, SessionId, UserId};
use crate::shared::secret::Secret;
use crate::shared::values::Email;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Users and sessions.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Stores a new user and, when given, their first session and their verification token
    /// request (with its event, as [`UserTokenStore::request_token`] does), in one transaction.
    ///
    /// # Errors
    /// `Conflict` when the email is taken (case-insensitively).
    ///
    /// [`UserTokenStore::request_token`]: crate::identity::tokens::UserTokenStore::request_token
    async fn create_user(
        &self,
        user: NewUser,
        session: Option<NewSession>,
        verification: Option<NewUserToken>,
    ) -> Result<User, StoreError>;

    async fn find_user_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserWithPassword>, StoreError>;

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError>;

    async fn count_users(&self) -> Result<i64, StoreError>;

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError>;

    /// Resolves a presented credential at `now`: a live (not revoked, not expired) session with
    /// the caller's membership in its active organization, or a live API key. Slides the
    /// session's inactivity expiry when it was last seen more than a minute ago.
    /// `Ok(None)` for an unknown, expired or revoked credential.
    async fn authenticate(
        &self,
        credential: Credential,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError>;

    async fn find_session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;

    async fn revoke_session(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Makes `organization` the session's active organization.
    /// `Ok(false)` when the user is not a member of it (nothing changes then).
    async fn set_active_organization(
        &self,
        session: SessionId,
        user: UserId,
        organization: OrganizationId,
    ) -> Result<bool, StoreError>;
}

/// Organization API keys.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn create_api_key(&self, key: NewApiKey) -> Result<(), StoreError>;
    async fn list_api_keys(&self, organization: OrganizationId) -> Result<Vec<ApiKey>, StoreError>;
    /// `Ok(false)` when there is no live key with that id in the organization.
    async fn revoke_api_key(
        &self,
        organization: OrganizationId,
        id: ApiKeyId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// Every hashing slot stayed busy for the adapter's whole wait: the server is saturated
    /// with password work (a flood of sign-ins), so the caller should come back shortly.
    #[error("the server is busy checking passwords; retry shortly")]
    Busy,
    #[error("password hashing failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl crate::shared::error::Classify for HashingError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            Self::Busy => crate::ErrorKind::Unavailable,
            Self::Failed(_) => crate::ErrorKind::Internal,
        }
    }
    fn retry_after(&self) -> Option<u64> {
        matches!(self, Self::Busy).then_some(1)
    }
}

/// Password hashing (argon2id in production).
///
/// # Errors
/// `Busy` when no hashing slot frees up within the adapter's wait (memory and CPU spent on
/// password work are bounded); `Failed` for anything else.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: Secret) -> Result<String, HashingError>;
    /// `Ok(false)` for a wrong password or an unparsable hash.
    async fn verify(&self, password: Secret, hash: String) -> Result<bool, HashingError>;
}
