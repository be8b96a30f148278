//! The port that makes one delivery attempt: a signed `POST` of an event to an endpoint.
//!
//! The adapter signs as the Standard Webhooks specification says (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature` with one `v1,<base64 HMAC-SHA256>` per secret over
//! `id.timestamp.body`), goes through the SSRF guard, and never follows redirects.

use crate::shared::secret::Secret;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use std::time::Duration;

/// The prefix of a signing secret, as Standard Webhooks writes them.
pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret: `whsec_` followed by the base64 of the HMAC key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningSecret(Secret);

impl SigningSecret {
    /// 24 random bytes, as Svix and the Standard Webhooks libraries generate them.
    pub fn generate() -> Self {
        let mut key = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(Secret::new(format!(
            "{SECRET_PREFIX}{}",
            STANDARD.encode(key)
        )))
    }

    /// A stored secret. `None` unless it is `whsec_` and base64.
    pub fn parse(value: &str) -> Option<Self> {
        let key = value.strip_prefix(SECRET_PREFIX)?;
        STANDARD.decode(key).ok().filter(|k| !k.is_empty())?;
        Some(Self(Secret::new(value)))
    }

    /// The HMAC key (the base64 after the prefix, decoded).
    pub fn key(&self) -> Vec<u8> {
        let b64 = &self.0.expose()[SECRET_PREFIX.len()..];
        STANDARD.decode(b64).unwrap_or_default()
    }

    /// The full `whsec_…` string, for the one answer that shows it and for storage.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// One attempt to deliver one message to one endpoint.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// The endpoint's URL (already validated when the endpoint was saved; the guard checks it
    /// again, with the addresses it resolves to now).
    pub url: String,
    /// `webhook-id`: the same for every attempt of one message, so receivers can deduplicate.
    pub message_id: String,
    /// `webhook-timestamp`: the time of this attempt.
    pub timestamp: DateTime<Utc>,
    /// The JSON body `{type, timestamp, data}`, exactly as signed and sent.
    pub body: String,
    /// Every secret the endpoint currently signs with (more than one while a rotation's overlap
    /// window is open); one signature each.
    pub secrets: Vec<SigningSecret>,
}

/// Why an attempt did not get a 2xx answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptFailure {
    /// The guard refused the URL or every address it resolves to; nothing was connected to.
    Blocked(String),
    /// The name did not resolve, or no connection could be made.
    Unreachable(String),
    /// No complete answer within the connect or total timeout.
    Timeout,
    /// An answer that is not 2xx (redirects included: they are not followed).
    Status(u16),
}

impl AttemptFailure {
    /// A short text for the delivery log.
    pub fn describe(&self) -> String {
        match self {
            Self::Blocked(why) => format!("blocked: {why}"),
            Self::Unreachable(why) => format!("unreachable: {why}"),
            Self::Timeout => "timed out".to_owned(),
            Self::Status(code) => format!("HTTP {code}"),
        }
    }
}

/// What an attempt produced, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// From the start of the attempt to the end of the answer (or the failure).
    pub latency: Duration,
    /// The first bytes of the answer's body (at most [`RESPONSE_PREFIX_BYTES`]), lossy UTF-8.
    pub response_prefix: String,
    /// `None` when the endpoint answered 2xx.
    pub failure: Option<AttemptFailure>,
}

impl AttemptOutcome {
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }
}

/// How much of an answer the delivery log keeps.
pub const RESPONSE_PREFIX_BYTES: usize = 1024;

/// Makes one attempt. Never retries, never follows redirects; every failure is an outcome.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn deliver(&self, request: &WebhookRequest) -> AttemptOutcome;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_and_carry_24_byte_keys() {
        let s = SigningSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(s.key().len(), 24);
        assert_eq!(SigningSecret::parse(s.expose()), Some(s.clone()));
        assert_ne!(SigningSecret::generate(), s);
        assert_eq!(SigningSecret::parse("whsec_not base64!"), None);
        assert_eq!(SigningSecret::parse("sk_abc"), None);
    }
}
