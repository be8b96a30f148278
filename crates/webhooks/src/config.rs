//! The sender's configuration.

use partneros_web_fetch::{GuardPolicy, Resolver, SystemResolver};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The User-Agent of every delivery.
pub const USER_AGENT: &str = concat!(
    "PartnerOS-Webhooks/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/partneros; webhook delivery)"
);

/// How much of an answer is read at most; the connection is dropped past it.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How the sender resolves, which addresses it may reach, and how long it waits.
///
/// The defaults are the production ones: the system resolver, the strict guard, https only on
/// port 443, 5 s to connect, 15 s for the whole attempt, 64 KiB of answer read at most.
#[derive(Clone)]
pub struct WebhookSenderConfig {
    /// Resolves host names; every address it returns is checked by the guard.
    pub resolver: Arc<dyn Resolver>,
    /// The guard's allow-list: exact socket addresses treated as public (empty, i.e. strict, by
    /// default; only tests and local development put anything here).
    pub policy: GuardPolicy,
    /// Whether `http` URLs are delivered to (tests and local development); `false` refuses them
    /// as blocked.
    pub allow_http: bool,
    /// The port `http` URLs connect to when they name none (80). Also an allowed explicit port.
    pub http_port: u16,
    /// The port `https` URLs connect to when they name none (443). Also an allowed explicit port.
    pub https_port: u16,
    /// Establishing the connection, TLS included (5 s).
    pub connect_timeout: Duration,
    /// The whole attempt: resolution, connection, request and the answer read (15 s).
    pub total_timeout: Duration,
    /// The most of an answer's body read ([`MAX_RESPONSE_BYTES`]); the first
    /// [`RESPONSE_PREFIX_BYTES`](partneros_domain::webhooks::sender::RESPONSE_PREFIX_BYTES) of it
    /// are kept.
    pub max_response_bytes: usize,
    /// Sent with every delivery ([`USER_AGENT`]).
    pub user_agent: String,
}

impl Default for WebhookSenderConfig {
    fn default() -> Self {
        Self {
            resolver: Arc::new(SystemResolver),
            policy: GuardPolicy::default(),
            allow_http: false,
            http_port: 80,
            https_port: 443,
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(15),
            max_response_bytes: MAX_RESPONSE_BYTES,
            user_agent: USER_AGENT.to_owned(),
        }
    }
}

impl fmt::Debug for WebhookSenderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSenderConfig")
            .field("policy", &self.policy)
            .field("allow_http", &self.allow_http)
            .field("http_port", &self.http_port)
            .field("https_port", &self.https_port)
            .field("connect_timeout", &self.connect_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_production_ones() {
        let c = WebhookSenderConfig::default();
        assert!(c.policy.allow.is_empty());
        assert!(!c.allow_http);
        assert_eq!((c.http_port, c.https_port), (80, 443));
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.total_timeout, Duration::from_secs(15));
        assert_eq!(c.max_response_bytes, 64 * 1024);
        assert!(c.user_agent.starts_with("PartnerOS-Webhooks/0.1"));
    }
}
