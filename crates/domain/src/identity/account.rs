//! Email verification and password reset: asking for a mailed link, and using it.
//!
//! Asking stores a token row and its event (see [`crate::identity::tokens`]); the mail goes out
//! through the outbox relay ([`crate::identity::mail::AccountMail`]). Using a link consumes its
//! token atomically, once.

use crate::StoreError;
use crate::identity::auth::AuthLimits;
use crate::identity::model::{ClientInfo, Principal, User};
use crate::identity::password::Password;
use crate::identity::ports::{HashingError, IdentityStore, PasswordHasher};
use crate::identity::tokens::{NewUserToken, TokenPurpose, UserTokenStore};
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::shared::rate_limit::{RateDecision, RateLimiter};
use crate::shared::secret::TokenHash;
use crate::shared::values::Email;
use chrono::Duration;
use std::sync::Arc;

/// Verification mails one account may ask for within [`MAIL_WINDOW`] (sign-up's first one
/// aside).
pub const VERIFICATION_RESENDS: u32 = 3;
/// Password reset requests for one email within [`MAIL_WINDOW`], whether or not it has an
/// account.
pub const PASSWORD_RESETS_PER_EMAIL: u32 = 3;
pub const MAIL_WINDOW: Duration = Duration::hours(1);

/// Longer than any token this service mints: a longer one is refused without a look-up.
const MAX_TOKEN_LEN: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("the link is unknown, used or expired; ask for a new one")]
    InvalidToken,
    #[error("this email address is already verified")]
    AlreadyVerified,
    #[error("this needs a user session, not an API key")]
    NotASession,
    #[error("authentication required: the session is missing, unknown, expired or revoked")]
    Unauthorized,
    #[error("too many requests for this email or from this address; try again later")]
    Throttled { retry_after_secs: u64 },
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for AccountError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::Validation,
            Self::InvalidToken => ErrorKind::InvalidToken,
            Self::AlreadyVerified => ErrorKind::Conflict,
            Self::NotASession => ErrorKind::Forbidden,
            Self::Unauthorized => ErrorKind::Unauthorized,
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

pub struct AccountService {
    identity: Arc<dyn IdentityStore>,
    tokens: Arc<dyn UserTokenStore>,
    hasher: Arc<dyn PasswordHasher>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
    limits: AuthLimits,
}

impl AccountService {
    pub fn new(
        identity: Arc<dyn IdentityStore>,
        tokens: Arc<dyn UserTokenStore>,
        hasher: Arc<dyn PasswordHasher>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
        limits: AuthLimits,
    ) -> Self {
        Self {
            identity,
            tokens,
            hasher,
            limiter,
            clock,
            limits,
        }
    }

    /// Uses a verification link's token: the account's address is verified.
    pub async fn verify_email(&self, token: &str) -> Result<User, AccountError> {
        let hash = token_hash(token)?;
        self.tokens
            .verify_email(hash, self.clock.now())
            .await?
            .ok_or(AccountError::InvalidToken)
    }

    /// Mails the signed-in, unverified account a new verification link (the earlier ones keep
    /// working until they expire or one is used).
    pub async fn resend_verification(&self, principal: &Principal) -> Result<(), AccountError> {
        let Principal::User { user_id, .. } = principal else {
            return Err(AccountError::NotASession);
        };
        let user = self
            .identity
            .find_user(*user_id)
            .await?
            .ok_or(AccountError::Unauthorized)?;
        if user.email_verified {
            return Err(AccountError::AlreadyVerified);
        }
        let now = self.clock.now();
        self.throttle(
            &format!("verify-email:{user_id}"),
            VERIFICATION_RESENDS,
            now,
        )
        .await?;
        self.tokens
            .request_token(NewUserToken::new(*user_id, TokenPurpose::VerifyEmail, now))
            .await?;
        Ok(())
    }

    /// Mails a password reset link to the account of `email`, if there is one. The caller's
    /// answer is the same either way (only the limits, counted for any email, may refuse).
    pub async fn request_password_reset(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), AccountError> {
        let email = Email::parse(email)
            .map_err(|e| AccountError::Invalid(ValidationErrors::single("email", e.to_string())))?;
        let now = self.clock.now();
        self.throttle(
            &format!("password-reset-address:{}", client.address_key()),
            self.limits.password_resets_per_address,
            now,
        )
        .await?;
        self.throttle(
            &format!("password-reset:{}", email.normalized()),
            PASSWORD_RESETS_PER_EMAIL,
            now,
        )
        .await?;
        if let Some(found) = self.identity.find_user_by_email(&email).await? {
            self.tokens
                .request_token(NewUserToken::new(
                    found.user.id,
                    TokenPurpose::ResetPassword,
                    now,
                ))
                .await?;
        }
        Ok(())
    }

    /// Uses a reset link's token: sets the new password, verifies the address and signs the
    /// account out everywhere.
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        password: &str,
    ) -> Result<User, AccountError> {
        let password = Password::parse(password).map_err(|e| {
            AccountError::Invalid(ValidationErrors::single("password", e.to_string()))
        })?;
        let hash = token_hash(token)?;
        let now = self.clock.now();
        // Hashing costs; a dead token does not get that far.
        if self
            .tokens
            .find_live_token(hash, TokenPurpose::ResetPassword, now)
            .await?
            .is_none()
        {
            return Err(AccountError::InvalidToken);
        }
        let password_hash = self.hasher.hash(password.secret().clone()).await?;
        self.tokens
            .reset_password(hash, password_hash, now)
            .await?
            .ok_or(AccountError::InvalidToken)
    }

    async fn throttle(
        &self,
        bucket: &str,
        limit: u32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), AccountError> {
        match self.limiter.hit(bucket, limit, MAIL_WINDOW, now).await? {
            RateDecision::Allowed => Ok(()),
            RateDecision::Limited { retry_after_secs } => {
                Err(AccountError::Throttled { retry_after_secs })
            }
        }
    }
}

fn token_hash(token: &str) -> Result<TokenHash, AccountError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(AccountError::InvalidToken);
    }
    Ok(TokenHash::of(token))
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
