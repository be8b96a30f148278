//! What the scraper read of a partner's website, and the port that reads it.

use crate::partners::web_domain::PartnerDomain;
use async_trait::async_trait;

/// How one fetch of the analysis ended (reported in `aiInsights.sources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceStatus {
    /// Read and used.
    Fetched,
    /// Refused by the SSRF guard before any connection (private address, bad port or scheme).
    Blocked,
    /// Unreachable, timed out, not HTML, too large, or an error status.
    Failed,
    /// The site's robots.txt disallows it for our User-Agent.
    RobotsDisallowed,
}

/// One URL the analysis tried.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub url: String,
    pub status: SourceStatus,
}

/// `numberOfEmployees` of schema.org: a number or a `QuantitativeValue` range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmployeeCount {
    pub value: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// The schema.org `Organization` (or subtype) data of a page's JSON-LD.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JsonLdOrganization {
    pub name: Option<String>,
    pub description: Option<String>,
    pub employees: Option<EmployeeCount>,
    /// `address.addressCountry` values (names or ISO codes, as written).
    pub countries: Vec<String>,
    /// `areaServed` values (names or codes, as written).
    pub area_served: Vec<String>,
    /// `knowsLanguage` values (codes or names, as written).
    pub languages: Vec<String>,
}

/// What one HTML page yielded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageExtract {
    pub url: String,
    pub title: Option<String>,
    pub meta_description: Option<String>,
    pub og_description: Option<String>,
    pub og_site_name: Option<String>,
    /// `<html lang>`, as written (e.g. `en-US`).
    pub lang: Option<String>,
    /// `hreflang` of `<link rel="alternate">` elements, as written (e.g. `de`, `fr-CA`).
    pub hreflangs: Vec<String>,
    pub organization: Option<JsonLdOrganization>,
    /// `h1`..`h3` texts.
    pub headings: Vec<String>,
    /// Main visible text, whitespace collapsed.
    pub text: String,
}

/// Everything read of one site: the home page first, then the company pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SiteSnapshot {
    pub pages: Vec<PageExtract>,
    /// Every URL tried, in order, with how it ended.
    pub sources: Vec<Source>,
}

impl SiteSnapshot {
    pub fn home(&self) -> Option<&PageExtract> {
        self.pages.first()
    }
}

/// Reads a partner's public website for the analysis.
///
/// # Errors
/// None: a site that is refused, unreachable or not HTML is not an error. The snapshot then has
/// fewer (or no) pages and says why in `sources` (`blocked`, `failed`, `robots_disallowed`).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebScraper: Send + Sync {
    /// The home page (https, then http) and up to 4 same-site company pages, with the visible
    /// text bounded in all (about 12 000 characters).
    async fn scrape(&self, domain: &PartnerDomain) -> SiteSnapshot;
}
