//! The scraper's configuration.

use crate::guard::{Guard, GuardPolicy};
use crate::resolve::{Resolver, SystemResolver};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The User-Agent of every request (its product token is what robots.txt groups are matched on).
pub const USER_AGENT: &str =
    "PartnerOS-Analyzer/0.1 (+https://github.com/partneros; partner enrichment)";

/// Bodies larger than this end the fetch as `failed`.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Redirects followed per fetch; one more ends it as `failed`.
pub const MAX_REDIRECTS: usize = 5;

/// Company pages fetched besides the home page.
pub const MAX_COMPANY_PAGES: usize = 4;

/// How the scraper resolves, which addresses it may reach, and how long it waits.
///
/// The defaults are the production ones: the system resolver, the strict guard, ports 80/443,
/// 10 s per fetch.
#[derive(Clone)]
pub struct ScraperConfig {
    /// Resolves host names; every address it returns is checked by the guard.
    pub resolver: Arc<dyn Resolver>,
    /// The guard's allow-list (empty, i.e. strict, by default).
    pub policy: GuardPolicy,
    /// The port `http` URLs connect to when they name none (80). Also an allowed explicit port.
    pub http_port: u16,
    /// The port `https` URLs connect to when they name none (443). Also an allowed explicit port.
    pub https_port: u16,
    /// The whole of one fetch: resolution, redirects and body (10 s).
    pub fetch_timeout: Duration,
    /// Establishing one connection, TLS included (5 s).
    pub connect_timeout: Duration,
    /// Sent with every request ([`USER_AGENT`]).
    pub user_agent: String,
}

impl Default for ScraperConfig {
    fn default() -> Self {
        Self {
            resolver: Arc::new(SystemResolver),
            policy: GuardPolicy::default(),
            http_port: 80,
            https_port: 443,
            fetch_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            user_agent: USER_AGENT.to_owned(),
        }
    }
}

impl ScraperConfig {
    /// The guard this configuration describes.
    pub fn guard(&self) -> Guard {
        Guard::new(self.policy.clone(), self.http_port, self.https_port)
    }

    /// The product token of the User-Agent (`PartnerOS-Analyzer`), matched against robots.txt.
    pub fn robots_token(&self) -> &str {
        let token = self.user_agent.split(['/', ' ']).next().unwrap_or_default();
        if token.is_empty() { "*" } else { token }
    }
}

impl fmt::Debug for ScraperConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScraperConfig")
            .field("policy", &self.policy)
            .field("http_port", &self.http_port)
            .field("https_port", &self.https_port)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_production_ones() {
        let c = ScraperConfig::default();
        assert_eq!((c.http_port, c.https_port), (80, 443));
        assert!(c.policy.allow.is_empty());
        assert_eq!(c.fetch_timeout, Duration::from_secs(10));
        assert_eq!(c.robots_token(), "PartnerOS-Analyzer");
        assert!(
            c.user_agent
                .starts_with("PartnerOS-Analyzer/0.1 (+https://")
        );
    }
}
