//! Single-use account tokens mailed to a user: the sign-up's email verification link and the
//! password reset link.
//!
//! A request stores a token row without a token and, in the same transaction, the event that
//! asks the outbox relay to mail it. The relay's handler mints the token when it sends the mail
//! (only its hash is stored), so no token is ever in the outbox, a queue or a log. A token works
//! once, until it expires.

use crate::StoreError;
use crate::identity::model::User;
use crate::outbox::EventType;
use crate::shared::ids::{UserId, UserTokenId};
use crate::shared::secret::TokenHash;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

/// How long a verification link works.
pub const VERIFY_EMAIL_TTL: Duration = Duration::hours(48);
/// How long a password reset link works.
pub const RESET_PASSWORD_TTL: Duration = Duration::hours(1);

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    /// The `user_tokens.purpose` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "verify_email" => Some(Self::VerifyEmail),
            "reset_password" => Some(Self::ResetPassword),
            _ => None,
        }
    }

    pub const fn ttl(self) -> Duration {
        match self {
            Self::VerifyEmail => VERIFY_EMAIL_TTL,
            Self::ResetPassword => RESET_PASSWORD_TTL,
        }
    }

    /// The minted token's prefix, which tells a reader of a link what it is for.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::VerifyEmail => "pv_",
            Self::ResetPassword => "pr_",
        }
    }

    /// The event that asks for the mail.
    pub const fn event(self) -> EventType {
        match self {
            Self::VerifyEmail => EventType::EmailVerificationRequested,
            Self::ResetPassword => EventType::PasswordResetRequested,
        }
    }
}

/// A token requested for a user, stored before it is minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserToken {
    pub id: UserTokenId,
    pub user_id: UserId,
    pub purpose: TokenPurpose,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl NewUserToken {
    pub fn new(user_id: UserId, purpose: TokenPurpose, now: DateTime<Utc>) -> Self {
        Self {
            id: UserTokenId::generate(),
            user_id,
            purpose,
            expires_at: now + purpose.ttl(),
            created_at: now,
        }
    }

    /// The payload of its event: the row's id, never a token.
    pub fn event_payload(&self) -> serde_json::Value {
        serde_json::json!({ "userTokenId": self.id })
    }
}

/// A minted token's row: whom to mail, and until when the link works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedToken {
    pub user: User,
    pub purpose: TokenPurpose,
    pub expires_at: DateTime<Utc>,
}

/// Account tokens. A token is *live* while it has been minted, is unused and `now` is before
/// its expiry.
///
/// Every method returns [`StoreError`]: `Unavailable` when the database cannot be reached,
/// `Unexpected` for anything else.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UserTokenStore: Send + Sync {
    /// Stores the token row (no hash yet) and its event (`purpose.event()`, aggregate the user,
    /// payload [`NewUserToken::event_payload`]) in one transaction.
    async fn request_token(&self, token: NewUserToken) -> Result<(), StoreError>;

    /// Gives an unused, unexpired token row its hash (replacing one minted before, so only the
    /// newest mail's link works). `Ok(None)` when the row is unknown, used or expired: there is
    /// nothing to mail then.
    async fn mint_token(
        &self,
        id: UserTokenId,
        hash: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<MintedToken>, StoreError>;

    /// The user of a live token of this purpose (a cheap check before costly work such as
    /// hashing a new password); `Ok(None)` when there is none.
    async fn find_live_token(
        &self,
        hash: TokenHash,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError>;

    /// Atomically uses a live verification token, marks its user's email verified and retires
    /// the user's other verification tokens. `Ok(None)` when the token is not live (of two
    /// concurrent uses, one wins).
    async fn verify_email(
        &self,
        hash: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError>;

    /// Atomically uses a live reset token: sets the user's password hash, marks the email
    /// verified (the link proved the address), revokes every session of the user and retires
    /// the user's other reset tokens. `Ok(None)` when the token is not live (of two concurrent
    /// uses, one wins).
    async fn reset_password(
        &self,
        hash: TokenHash,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip_and_expire_as_documented() {
        for p in [TokenPurpose::VerifyEmail, TokenPurpose::ResetPassword] {
            assert_eq!(TokenPurpose::parse(p.as_str()), Some(p));
            assert_eq!(p.event().webhook_type(), None, "internal events only");
        }
        assert_eq!(TokenPurpose::parse("other"), None);
        let now = Utc::now();
        let t = NewUserToken::new(UserId::generate(), TokenPurpose::ResetPassword, now);
        assert_eq!(t.expires_at - now, Duration::hours(1));
        assert_eq!(
            t.event_payload(),
            serde_json::json!({"userTokenId": t.id.to_string()})
        );
        let t = NewUserToken::new(UserId::generate(), TokenPurpose::VerifyEmail, now);
        assert_eq!(t.expires_at - now, Duration::hours(48));
    }
}
