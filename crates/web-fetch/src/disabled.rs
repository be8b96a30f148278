//! The scraper of a deployment that reads no partner websites (`ANALYSIS_SCRAPE=false`).

use async_trait::async_trait;
use partneros_domain::analysis::site::{SiteSnapshot, WebScraper};
use partneros_domain::partners::web_domain::PartnerDomain;

/// Reads nothing and sends nothing: every analysis goes on with what is already known.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScraping;

#[async_trait]
impl WebScraper for NoScraping {
    async fn scrape(&self, _domain: &PartnerDomain) -> SiteSnapshot {
        SiteSnapshot::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_is_read() {
        let d = PartnerDomain::parse("acme.com").unwrap();
        assert_eq!(NoScraping.scrape(&d).await, SiteSnapshot::default());
    }
}
