//! The [`WebScraper`] adapter: the home page, then the company pages, concurrently.

use crate::config::{MAX_COMPANY_PAGES, ScraperConfig};
use crate::extract::{self, Link, truncate};
use crate::fetch::{Document, FetchError, Fetcher};
use crate::links;
use crate::robots::Robots;
use async_trait::async_trait;
use partneros_domain::analysis::site::{
    PageExtract, SiteSnapshot, Source, SourceStatus, WebScraper,
};
use partneros_domain::partners::web_domain::PartnerDomain;
use url::Url;

/// Visible text of the whole snapshot, and of the home page within it.
pub const SNAPSHOT_TEXT_MAX: usize = 12_000;
pub const HOME_TEXT_MAX: usize = 6_000;

/// Reads partners' websites through the SSRF guard.
#[derive(Clone)]
pub struct Scraper {
    fetcher: Fetcher,
    robots_token: String,
}

impl Scraper {
    pub fn new(config: &ScraperConfig) -> Self {
        Self {
            fetcher: Fetcher::new(config),
            robots_token: config.robots_token().to_owned(),
        }
    }

    /// The guarded fetcher the scraper uses (for single URLs).
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// The home page (https, then http when https gave no answer) and up to
    /// [`MAX_COMPANY_PAGES`] company pages. Never fails: `sources` says how each URL ended.
    pub async fn scrape(&self, domain: &PartnerDomain) -> SiteSnapshot {
        let robots = Robots::new(&self.fetcher, &self.robots_token);
        let mut sources = Vec::new();
        let mut home = None;
        for scheme in ["https", "http"] {
            let Ok(url) = Url::parse(&format!("{scheme}://{}/", domain.as_str())) else {
                break;
            };
            let result = self.fetcher.fetch_page(&url, &robots).await;
            sources.push(source(&url, &result));
            match result {
                Ok(doc) => {
                    home = Some(doc);
                    break;
                }
                Err(e) if e.no_answer() => {
                    tracing::debug!(%url, error = %e, "home page gave no answer");
                }
                Err(e) => {
                    tracing::debug!(%url, error = %e, "home page not read");
                    break;
                }
            }
        }
        let Some(home) = home else {
            return SiteSnapshot {
                pages: Vec::new(),
                sources,
            };
        };

        let home_url = home.url.clone();
        let (home_page, found) = extract_page(home).await;
        let targets = links::company_pages(domain.as_str(), &home_url, &found, MAX_COMPANY_PAGES);
        let results = futures::future::join_all(targets.iter().map(|url| async {
            let doc = self.fetcher.fetch_page(url, &robots).await?;
            Ok::<_, FetchError>(extract_page(doc).await.0)
        }))
        .await;

        let mut pages = vec![home_page];
        for (url, result) in targets.iter().zip(results) {
            sources.push(Source {
                url: url.to_string(),
                status: result
                    .as_ref()
                    .map_or_else(FetchError::source_status, |_| SourceStatus::Fetched),
            });
            match result {
                Ok(page) => pages.push(page),
                Err(e) => tracing::debug!(%url, error = %e, "company page not read"),
            }
        }
        bound_text(&mut pages);
        SiteSnapshot { pages, sources }
    }
}

#[async_trait]
impl WebScraper for Scraper {
    async fn scrape(&self, domain: &PartnerDomain) -> SiteSnapshot {
        Scraper::scrape(self, domain).await
    }
}

/// Parsing is CPU work: it runs on the blocking pool, not on the async workers.
async fn extract_page(doc: Document) -> (PageExtract, Vec<Link>) {
    let url = doc.url.to_string();
    tokio::task::spawn_blocking(move || extract::page(&doc.url, &doc.text()))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(%url, error = %e, "page extraction failed");
            (
                PageExtract {
                    url,
                    ..PageExtract::default()
                },
                Vec::new(),
            )
        })
}

fn source(url: &Url, result: &Result<Document, FetchError>) -> Source {
    Source {
        url: url.to_string(),
        status: match result {
            Ok(_) => SourceStatus::Fetched,
            Err(e) => e.source_status(),
        },
    }
}

/// The home page keeps up to [`HOME_TEXT_MAX`] characters; the other pages share the rest of
/// [`SNAPSHOT_TEXT_MAX`], a short page leaving its unused share to the others.
fn bound_text(pages: &mut [PageExtract]) {
    let Some((home, others)) = pages.split_first_mut() else {
        return;
    };
    truncate(&mut home.text, HOME_TEXT_MAX);
    let remaining = SNAPSHOT_TEXT_MAX.saturating_sub(home.text.chars().count());
    let lengths: Vec<usize> = others.iter().map(|p| p.text.chars().count()).collect();
    for (page, share) in others.iter_mut().zip(shares(&lengths, remaining)) {
        truncate(&mut page.text, share);
    }
}

/// Water-filling: each length gets at most an equal part of what is left, shorter ones first.
fn shares(lengths: &[usize], total: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|i| lengths[*i]);
    let mut out = vec![0; lengths.len()];
    let mut left = total;
    for (n, i) in order.iter().enumerate() {
        let fair = left / (lengths.len() - n);
        out[*i] = lengths[*i].min(fair);
        left -= out[*i];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_fair_and_give_unused_parts_to_others() {
        assert_eq!(shares(&[], 100), Vec::<usize>::new());
        assert_eq!(shares(&[500, 500], 100), [50, 50]);
        assert_eq!(shares(&[10, 500, 500], 100), [10, 45, 45]);
        assert_eq!(shares(&[500, 10, 20, 500], 6000), [500, 10, 20, 500]);
        assert_eq!(shares(&[9000, 100, 9000], 6000), [2950, 100, 2950]);
    }

    #[test]
    fn the_snapshot_text_is_bounded() {
        let page = |n: usize| PageExtract {
            text: "word ".repeat(n / 5).trim_end().to_owned(),
            ..PageExtract::default()
        };
        let mut pages = vec![page(20_000), page(20_000), page(1_000), page(20_000)];
        bound_text(&mut pages);
        let lens: Vec<usize> = pages.iter().map(|p| p.text.chars().count()).collect();
        assert!(
            lens[0] <= HOME_TEXT_MAX && lens[0] > HOME_TEXT_MAX - 10,
            "{lens:?}"
        );
        assert!(lens.iter().sum::<usize>() <= SNAPSHOT_TEXT_MAX, "{lens:?}");
        assert_eq!(lens[2], 999);
        assert!(lens[1] > 2_400 && lens[3] > 2_400, "{lens:?}");

        let mut short = vec![page(100), page(100)];
        bound_text(&mut short);
        assert_eq!(short[0].text.chars().count(), 99);
        assert_eq!(short[1].text.chars().count(), 99);
    }
}
