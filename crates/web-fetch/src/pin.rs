//! Clients pinned to addresses the guard has checked: their own name resolution is disabled, so
//! the only addresses they can connect to are the ones handed to them.
//!
//! Shared with other adapters that send requests to URLs chosen by customers (webhook delivery),
//! so that the guard is applied one way everywhere.

use crate::guard::Target;
use std::net::SocketAddr;
use std::sync::Arc;
use url::{Host, Url};

/// A client builder that can reach only `addrs` (checked by [`Fetcher::checked_addrs`]) for the
/// target's host: no proxy, no redirects followed, no `Referer`, no idle connection kept, and
/// resolution of any other name fails. Callers add their own timeouts and User-Agent.
///
/// [`Fetcher::checked_addrs`]: crate::Fetcher::checked_addrs
pub fn pinned_client(target: &Target, addrs: &[SocketAddr]) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .pool_max_idle_per_host(0)
        .dns_resolver(Arc::new(NoResolution));
    match &target.host {
        Host::Domain(name) => builder.resolve_to_addrs(name, addrs),
        // An IP literal is connected to as is; the guard has checked it.
        Host::Ipv4(_) | Host::Ipv6(_) => builder,
    }
}

/// `url` with the port the target connects to. They differ only when the configured port of a
/// scheme is not its usual one (tests); `None` for a URL that cannot carry a port.
pub fn request_url(url: &Url, target: &Target) -> Option<Url> {
    let mut request_url = url.clone();
    if url.port_or_known_default() != Some(target.port) {
        request_url.set_port(Some(target.port)).ok()?;
    }
    Some(request_url)
}

/// The resolver of pinned clients: overrides hold the checked addresses; anything else must not
/// resolve.
struct NoResolution;

impl reqwest::dns::Resolve for NoResolution {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            Err(format!("{name}: resolution outside the SSRF guard is disabled").into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: Host<String>, port: u16) -> Target {
        Target { host, port }
    }

    #[test]
    fn request_url_carries_the_target_port_only_when_it_differs() {
        let url = Url::parse("https://hooks.example.com/in?x=1").expect("url");
        let same = request_url(&url, &target(Host::Domain("hooks.example.com".into()), 443));
        assert_eq!(same.as_ref(), Some(&url));
        let other = request_url(
            &url,
            &target(Host::Domain("hooks.example.com".into()), 8443),
        );
        assert_eq!(
            other.map(String::from).as_deref(),
            Some("https://hooks.example.com:8443/in?x=1")
        );
    }
}
