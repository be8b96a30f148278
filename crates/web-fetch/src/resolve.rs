//! Name resolution as a port, so that the guard sees every address before any connection and
//! tests can map names to local fixture servers.

use async_trait::async_trait;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

/// Resolves a host name to its addresses.
#[async_trait]
pub trait Resolver: Send + Sync {
    /// Every address of `host` (an ASCII name, never an IP literal).
    ///
    /// # Errors
    /// An I/O error when the name does not resolve; the fetch then ends as `failed`.
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`getaddrinfo` through `tokio::net::lookup_host`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let addrs = tokio::net::lookup_host((host, 0)).await?;
        Ok(addrs.map(|a| a.ip()).collect())
    }
}

/// A fixed map from names to addresses; any other name does not resolve.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `host` (case-insensitively) to `addrs`.
    #[must_use]
    pub fn with(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.hosts
            .insert(host.to_ascii_lowercase(), addrs.into_iter().collect());
        self
    }
}

#[async_trait]
impl Resolver for StaticResolver {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.hosts
            .get(&host.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("unknown host {host}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[tokio::test]
    async fn static_resolver_maps_known_names_only() {
        let r = StaticResolver::new().with("Acme.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
        assert_eq!(
            r.resolve("acme.TEST").await.expect("known"),
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
        );
        assert_eq!(
            r.resolve("other.test").await.expect_err("unknown").kind(),
            io::ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn system_resolver_resolves_localhost() {
        let addrs = SystemResolver
            .resolve("localhost")
            .await
            .expect("localhost");
        assert!(addrs.iter().all(IpAddr::is_loopback), "{addrs:?}");
    }
}
