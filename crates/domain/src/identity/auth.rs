//! Sign-up, sign-in, sign-out, sessions and the first account.

use crate::StoreError;
use crate::identity::model::{
    ClientInfo, Credential, NewSession, NewUser, Principal, Session, User,
};
use crate::identity::password::Password;
use crate::identity::ports::{HashingError, IdentityStore, PasswordHasher};
use crate::identity::tokens::{NewUserToken, TokenPurpose};
use crate::organizations::model::NewOrganization;
use crate::organizations::ports::OrganizationStore;
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::shared::ids::{OrganizationId, UserId};
use crate::shared::rate_limit::{RateDecision, RateLimiter};
use crate::shared::secret::Secret;
use crate::shared::slug::Slug;
use crate::shared::values::{BoundedText, Email};
use chrono::Duration;
use std::sync::{Arc, Mutex};

/// Sign-in attempts allowed per email within [`SIGN_IN_WINDOW`] (a success forgives them).
pub const SIGN_IN_FAILURES: u32 = 5;
pub const SIGN_IN_WINDOW: Duration = Duration::minutes(15);
pub const SIGN_UP_WINDOW: Duration = Duration::hours(1);
/// How long an unsettled sign-in reservation counts (longer than any sign-in takes).
pub const SIGN_IN_LEASE: Duration = Duration::minutes(2);

/// Per-client-address limits of the password endpoints (IPv6 clients count by their /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLimits {
    /// Sign-in attempts per address within [`SIGN_IN_WINDOW`], whatever the email.
    pub sign_ins_per_address: u32,
    /// Sign-ups per address within [`SIGN_UP_WINDOW`].
    pub sign_ups_per_address: u32,
    /// Password reset requests per address within an hour, whatever the email.
    pub password_resets_per_address: u32,
}

impl Default for AuthLimits {
    fn default() -> Self {
        Self {
            sign_ins_per_address: 30,
            sign_ups_per_address: 10,
            password_resets_per_address: 20,
        }
    }
}

/// A signed-in user: the session and the token that names it (shown once).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub token: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("sign-up is disabled on this server")]
    Disabled,
    #[error("too many sign-ups from this address; try again later")]
    Throttled { retry_after_secs: u64 },
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(StoreError),
}

impl Classify for SignUpError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::Validation,
            Self::Disabled => ErrorKind::Forbidden,
            Self::Throttled { .. } => ErrorKind::RateLimited,
            Self::EmailTaken => ErrorKind::Conflict,
            Self::Hashing(e) => e.kind(),
            Self::Store(e) => e.kind(),
        }
    }
    fn details(&self) -> &[FieldError] {
        match self {
            Self::Invalid(v) => &v.0,
            _ => &[],
        }
    }
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Throttled { retry_after_secs } => Some(*retry_after_secs),
            Self::Hashing(e) => e.retry_after(),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("too many sign-in attempts for this email or from this address; try again later")]
    Throttled { retry_after_secs: u64 },
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for SignInError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::Validation,
            Self::InvalidCredentials => ErrorKind::Unauthorized,
            Self::Throttled { .. } => ErrorKind::RateLimited,
            Self::Hashing(e) => e.kind(),
            Self::Store(e) => e.kind(),
        }
    }
    fn details(&self) -> &[FieldError] {
        match self {
            Self::Invalid(v) => &v.0,
            _ => &[],
        }
    }
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Throttled { retry_after_secs } => Some(*retry_after_secs),
            Self::Hashing(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Failures of calls made with a credential (get-session, sign-out, set-active).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("authentication required: the session is missing, unknown, expired or revoked")]
    Unauthorized,
    #[error("this needs a user session, not an API key")]
    NotASession,
    #[error("no such organization among your memberships")]
    OrganizationNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for SessionError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Unauthorized => ErrorKind::Unauthorized,
            Self::NotASession => ErrorKind::Forbidden,
            Self::OrganizationNotFound => ErrorKind::NotFound,
            Self::Store(e) => e.kind(),
        }
    }
}

/// The first account on an empty database.
#[derive(Debug, Clone)]
pub struct FirstAccount {
    pub email: Email,
    pub password: Password,
    pub name: String,
    pub organization_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct AuthService {
    identity: Arc<dyn IdentityStore>,
    organizations: Arc<dyn OrganizationStore>,
    hasher: Arc<dyn PasswordHasher>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
    signup_enabled: bool,
    limits: AuthLimits,
    /// Sign-in reservations whose release failed (the database was away): released before the
    /// next reservation, so an outage leaves no attempt counted that was not a guess.
    unreleased: Mutex<Vec<(String, chrono::DateTime<chrono::Utc>)>>,
    /// A hash verified against when the email is unknown, so both failures take as long.
    dummy_hash: Mutex<Option<String>>,
}

impl AuthService {
    pub fn new(
        identity: Arc<dyn IdentityStore>,
        organizations: Arc<dyn OrganizationStore>,
        hasher: Arc<dyn PasswordHasher>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
        signup_enabled: bool,
        limits: AuthLimits,
    ) -> Self {
        Self {
            identity,
            organizations,
            hasher,
            limiter,
            clock,
            signup_enabled,
            limits,
            unreleased: Mutex::new(Vec::new()),
            dummy_hash: Mutex::new(None),
        }
    }

    pub fn signup_enabled(&self) -> bool {
        self.signup_enabled
    }

    /// Creates an unverified account, signed in, and asks for its verification mail (a token
    /// row and its event, in the same transaction). Until the link is used, the account cannot
    /// create organizations or accept invitations while signed in.
    pub async fn sign_up(
        &self,
        name: &str,
        email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<SignedIn, SignUpError> {
        if !self.signup_enabled {
            return Err(SignUpError::Disabled);
        }
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", BoundedText::<200>::parse(name));
        let email = errors.check("email", Email::parse(email));
        let password = errors.check("password", Password::parse(password));
        let (Some(name), Some(email), Some(password)) = (name, email, password) else {
            return Err(SignUpError::Invalid(errors));
        };
        let now = self.clock.now();
        // Counted before the expensive hash, so a flood from one network is cheap to refuse.
        if let RateDecision::Limited { retry_after_secs } = self
            .limiter
            .hit(
                &format!("sign-up:{}", client.address_key()),
                self.limits.sign_ups_per_address,
                SIGN_UP_WINDOW,
                now,
            )
            .await
            .map_err(SignUpError::Store)?
        {
            return Err(SignUpError::Throttled { retry_after_secs });
        }
        let hash = self.hasher.hash(password.secret().clone()).await?;
        let user = NewUser {
            id: UserId::generate(),
            email,
            name: name.into_inner(),
            password_hash: Some(hash),
            email_verified: false,
            created_at: now,
        };
        let session = NewSession::start(user.id, None, now, client);
        let token = session.token.token.clone();
        let session_view = session.session();
        let verification = NewUserToken::new(user.id, TokenPurpose::VerifyEmail, now);
        let user = self
            .identity
            .create_user(user, Some(session), Some(verification))
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => SignUpError::EmailTaken,
                e => SignUpError::Store(e),
            })?;
        Ok(SignedIn {
            user,
            session: session_view,
            token,
        })
    }

    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<SignedIn, SignInError> {
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", Email::parse(email));
        if password.is_empty() {
            errors.push("password", "must not be empty");
        }
        let Some(email) = email.filter(|_| errors.is_empty()) else {
            return Err(SignInError::Invalid(errors));
        };
        let now = self.clock.now();
        // Every attempt counts against its address. Against the account, each attempt reserves
        // its place before the password is checked, so a burst of concurrent guesses gets no
        // more than the limit between them (check-then-record would let the whole burst through
        // the check); the reservation then stays as a failure only for a wrong password.
        let address = format!("sign-in-address:{}", client.address_key());
        if let RateDecision::Limited { retry_after_secs } = self
            .limiter
            .hit(
                &address,
                self.limits.sign_ins_per_address,
                SIGN_IN_WINDOW,
                now,
            )
            .await?
        {
            return Err(SignInError::Throttled { retry_after_secs });
        }
        let account = format!("sign-in:{}", email.normalized());
        self.release_deferred().await?;
        if let RateDecision::Limited { retry_after_secs } = self
            .limiter
            .reserve(
                &account,
                SIGN_IN_FAILURES,
                SIGN_IN_WINDOW,
                SIGN_IN_LEASE,
                now,
            )
            .await?
        {
            return Err(SignInError::Throttled { retry_after_secs });
        }
        let user = match self.check_password(&email, password).await {
            Ok(Some(user)) => user,
            Ok(None) => {
                if let Err(e) = self.limiter.settle(&account, now, true).await {
                    // Still counted until its lease ends.
                    tracing::warn!(error = %e, "recording a failed sign-in failed");
                }
                return Err(SignInError::InvalidCredentials);
            }
            Err(e) => {
                // No verdict on the password: not a guess. With the database failing, releasing
                // now would only wait on it again; the next reservation releases it.
                if matches!(e, SignInError::Store(_)) {
                    self.defer_release(account, now);
                } else {
                    self.release(account, now).await;
                }
                return Err(e);
            }
        };
        // The account's owner is back: their earlier mistakes no longer count against them.
        if let Err(e) = self.limiter.clear(&account).await {
            self.defer_release(account, now);
            return Err(e.into());
        }
        let active = self.default_organization(user.id).await?;
        let session = NewSession::start(user.id, active, now, client);
        let token = session.token.token.clone();
        let view = session.session();
        self.identity.create_session(session).await?;
        Ok(SignedIn {
            user,
            session: view,
            token,
        })
    }

    /// Releases a reservation that turned out not to be a guess; if the store cannot be reached,
    /// it is deferred.
    async fn release(&self, bucket: String, at: chrono::DateTime<chrono::Utc>) {
        if let Err(e) = self.limiter.settle(&bucket, at, false).await {
            tracing::warn!(error = %e, "releasing a sign-in reservation failed; retried later");
            self.defer_release(bucket, at);
        }
    }

    /// Keeps a reservation to release before the next one (it lapses with its lease anyway).
    fn defer_release(&self, bucket: String, at: chrono::DateTime<chrono::Utc>) {
        self.unreleased.lock().expect("poisoned").push((bucket, at));
    }

    /// Releases the deferred reservations; stops at the first failure (the store is still away,
    /// so the sign-in fails with it rather than waiting on it once per reservation).
    async fn release_deferred(&self) -> Result<(), StoreError> {
        let mut pending = std::mem::take(&mut *self.unreleased.lock().expect("poisoned"));
        while let Some((bucket, at)) = pending.pop() {
            if let Err(e) = self.limiter.settle(&bucket, at, false).await {
                pending.push((bucket, at));
                self.unreleased.lock().expect("poisoned").extend(pending);
                return Err(e);
            }
        }
        Ok(())
    }

    /// The account when the password is its own; `None` for a wrong password or an unknown
    /// email, which costs the same hash verification.
    async fn check_password(
        &self,
        email: &Email,
        password: &str,
    ) -> Result<Option<User>, SignInError> {
        let found = self.identity.find_user_by_email(email).await?;
        let secret = Secret::new(password);
        let verified = match found.as_ref().and_then(|u| u.password_hash.clone()) {
            Some(hash) => self.hasher.verify(secret, hash).await?,
            None => {
                let dummy = self.dummy_hash().await?;
                let _ = self.hasher.verify(secret, dummy).await?;
                false
            }
        };
        Ok(found.filter(|_| verified).map(|f| f.user))
    }

    async fn default_organization(
        &self,
        user: UserId,
    ) -> Result<Option<OrganizationId>, StoreError> {
        let memberships = self.organizations.list_memberships(user).await?;
        Ok(memberships.first().map(|m| m.organization.id))
    }

    async fn dummy_hash(&self) -> Result<String, HashingError> {
        if let Some(h) = self.dummy_hash.lock().expect("poisoned").clone() {
            return Ok(h);
        }
        let h = self.hasher.hash(Secret::new("not-a-real-password")).await?;
        *self.dummy_hash.lock().expect("poisoned") = Some(h.clone());
        Ok(h)
    }

    /// Resolves a credential; `Unauthorized` for anything not live.
    pub async fn authenticate(&self, credential: Credential) -> Result<Principal, SessionError> {
        self.identity
            .authenticate(credential, self.clock.now())
            .await?
            .ok_or(SessionError::Unauthorized)
    }

    pub async fn current_session(
        &self,
        principal: &Principal,
    ) -> Result<(User, Session), SessionError> {
        let Principal::User {
            user_id,
            session_id,
            ..
        } = principal
        else {
            return Err(SessionError::NotASession);
        };
        let user = self.identity.find_user(*user_id).await?;
        let session = self.identity.find_session(*session_id).await?;
        match (user, session) {
            (Some(u), Some(s)) => Ok((u, s)),
            _ => Err(SessionError::Unauthorized),
        }
    }

    pub async fn sign_out(&self, principal: &Principal) -> Result<(), SessionError> {
        let Principal::User { session_id, .. } = principal else {
            return Err(SessionError::NotASession);
        };
        self.identity
            .revoke_session(*session_id, self.clock.now())
            .await?;
        Ok(())
    }

    pub async fn set_active_organization(
        &self,
        principal: &Principal,
        organization: OrganizationId,
    ) -> Result<(User, Session), SessionError> {
        let Principal::User {
            user_id,
            session_id,
            ..
        } = principal
        else {
            return Err(SessionError::NotASession);
        };
        if !self
            .identity
            .set_active_organization(*session_id, *user_id, organization)
            .await?
        {
            return Err(SessionError::OrganizationNotFound);
        }
        self.current_session(principal).await
    }

    /// Creates `account` and its organization when the database has no user yet.
    /// `Ok(false)` when users exist (the account is then ignored); safe to race.
    pub async fn bootstrap(&self, account: &FirstAccount) -> Result<bool, BootstrapError> {
        if self.identity.count_users().await? > 0 {
            return Ok(false);
        }
        let now = self.clock.now();
        let hash = self.hasher.hash(account.password.secret().clone()).await?;
        let user = NewUser {
            id: UserId::generate(),
            email: account.email.clone(),
            name: account.name.clone(),
            password_hash: Some(hash),
            // The operator chose the address.
            email_verified: true,
            created_at: now,
        };
        let user = match self.identity.create_user(user, None, None).await {
            Ok(u) => u,
            // Another instance bootstrapped at the same moment.
            Err(StoreError::Conflict(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let slug = Slug::from_name(&account.organization_name);
        let org = NewOrganization {
            id: OrganizationId::generate(),
            name: account.organization_name.clone(),
            slug,
            slug_chosen: false,
            created_at: now,
        };
        self.organizations
            .create_organization(org, user.id, None)
            .await?;
        Ok(true)
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
