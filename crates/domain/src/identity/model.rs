//! Users, sessions, API keys and the authenticated principal.

use crate::identity::role::Role;
use crate::shared::ids::{ApiKeyId, OrganizationId, PartnerId, SessionId, UserId};
use crate::shared::secret::{IssuedToken, TokenHash};
use crate::shared::values::Email;
use chrono::{DateTime, Duration, Utc};

/// Prefix of session tokens.
pub const SESSION_TOKEN_PREFIX: &str = "ps_";
/// Prefix of organization API keys.
pub const API_KEY_PREFIX: &str = "pk_";

/// Sliding inactivity limit of a session.
pub const SESSION_IDLE: Duration = Duration::days(7);
/// Absolute lifetime of a session.
pub const SESSION_ABSOLUTE: Duration = Duration::days(30);
/// How stale `last_seen_at` may get before a request slides the expiry; bounds writes to one a
/// minute per session instead of one per request.
pub const SESSION_TOUCH_INTERVAL: Duration = Duration::minutes(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub has_password: bool,
    /// Whether the account proved it receives mail at its address: through sign-up's
    /// verification link, a password reset or an invitation link. Accounts made by operators
    /// (bootstrap, demo, CLI) are verified from the start.
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user with the stored password hash, for sign-in only.
#[derive(Debug, Clone)]
pub struct UserWithPassword {
    pub user: User,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub active_organization_id: Option<OrganizationId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A session about to be stored, with the token that will be handed to the client once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub token: IssuedToken,
    pub active_organization_id: Option<OrganizationId>,
    pub created_at: DateTime<Utc>,
    pub idle_expires_at: DateTime<Utc>,
    pub absolute_expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

impl NewSession {
    pub fn start(
        user_id: UserId,
        active_organization_id: Option<OrganizationId>,
        now: DateTime<Utc>,
        client: &ClientInfo,
    ) -> Self {
        Self {
            id: SessionId::generate(),
            user_id,
            token: IssuedToken::generate(SESSION_TOKEN_PREFIX),
            active_organization_id,
            created_at: now,
            idle_expires_at: now + SESSION_IDLE,
            absolute_expires_at: now + SESSION_ABSOLUTE,
            user_agent: client.user_agent.clone(),
            ip_address: client.ip_address.clone(),
        }
    }

    pub fn session(&self) -> Session {
        Session {
            id: self.id,
            user_id: self.user_id,
            active_organization_id: self.active_organization_id,
            created_at: self.created_at,
            expires_at: self.idle_expires_at.min(self.absolute_expires_at),
        }
    }
}

/// What the client told us about itself; kept on the session for the user's own review.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

impl ClientInfo {
    /// The client's address as a rate-limit key (see [`address_key`]); `unknown` without one.
    pub fn address_key(&self) -> String {
        self.ip_address
            .as_deref()
            .and_then(|a| a.parse().ok())
            .map_or_else(|| "unknown".to_owned(), address_key)
    }
}

/// The key under which per-address limits count a client: an IPv4 address as it is (also when
/// it arrives IPv4-mapped), an IPv6 address by its /64 — one subscriber's or host's network, which
/// hands its owner 2^64 addresses to rotate through.
pub fn address_key(ip: std::net::IpAddr) -> String {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A bearer credential as presented: a session token or an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session(TokenHash),
    ApiKey(TokenHash),
}

impl Credential {
    /// Classifies a presented token by its prefix; anything unknown is tried as a session.
    pub fn from_token(token: &str) -> Self {
        if token.starts_with(API_KEY_PREFIX) {
            Credential::ApiKey(TokenHash::of(token))
        } else {
            Credential::Session(TokenHash::of(token))
        }
    }
}

/// Who is calling: a signed-in user (through a session) or an organization API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User {
        user_id: UserId,
        session_id: SessionId,
        /// The active organization and the user's role in it; `None` when the session has no
        /// active organization or the user is no longer a member of it.
        membership: Option<ActiveMembership>,
    },
    ApiKey {
        key_id: ApiKeyId,
        membership: ActiveMembership,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveMembership {
    pub organization_id: OrganizationId,
    pub role: Role,
    /// For `partner`-role users: the partner record they belong to.
    pub partner_id: Option<PartnerId>,
}

impl Principal {
    pub fn membership(&self) -> Option<&ActiveMembership> {
        match self {
            Principal::User { membership, .. } => membership.as_ref(),
            Principal::ApiKey { membership, .. } => Some(membership),
        }
    }
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Principal::User { user_id, .. } => Some(*user_id),
            Principal::ApiKey { .. } => None,
        }
    }

    /// Who acts, as a rate-limit key: the user, or the API key.
    pub fn actor_key(&self) -> String {
        match self {
            Principal::User { user_id, .. } => format!("user:{user_id}"),
            Principal::ApiKey { key_id, .. } => format!("key:{key_id}"),
        }
    }
}

/// A sign-up request after validation.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub password_hash: Option<String>,
    /// Verified at `created_at` (an account an operator or an invitation link made), or
    /// waiting for its verification link (sign-up) or its invitation (a partner contact).
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
}

/// An organization API key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub role: Role,
    /// The first characters of the key, to recognise it in a list.
    pub prefix: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub key: ApiKey,
    pub token: IssuedToken,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_ipv4_as_is() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            key("2001:db8:1:2::"),
            "one /64 is one client"
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        let client = ClientInfo {
            user_agent: None,
            ip_address: Some("2001:db8:1:2::9".into()),
        };
        assert_eq!(client.address_key(), "2001:db8:1:2::/64");
        assert_eq!(ClientInfo::default().address_key(), "unknown");
    }
}
