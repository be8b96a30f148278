//! What one HTML page says about a company: a pure function of its URL and markup.

mod jsonld;
mod nesting;
mod text;

pub use text::truncate;

use partneros_domain::analysis::site::PageExtract;
use scraper::{ElementRef, Html, Selector};
use std::sync::LazyLock;
use text::{bounded, element_text, sel};
use url::Url;

/// Characters of `<title>` and `og:site_name`.
pub const TITLE_MAX: usize = 300;
/// Characters of the meta and Open Graph descriptions.
pub const DESCRIPTION_MAX: usize = 1_000;
/// Headings kept, and characters of each.
pub const HEADINGS_MAX: usize = 50;
pub const HEADING_MAX: usize = 200;
/// Visible text of one page (the scraper bounds the snapshot further).
pub const PAGE_TEXT_MAX: usize = 12_000;
/// `hreflang` values kept, and links kept.
pub const HREFLANGS_MAX: usize = 50;
pub const LINKS_MAX: usize = 500;
const LANG_MAX: usize = 35;
const LINK_TEXT_MAX: usize = 200;

/// A link of the page: absolute http(s) URL without fragment, and its anchor text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub url: Url,
    pub text: String,
}

static TITLE: LazyLock<Selector> = LazyLock::new(|| sel("title"));
static META: LazyLock<Selector> = LazyLock::new(|| sel("meta[content]"));
static ALTERNATE: LazyLock<Selector> = LazyLock::new(|| sel("link[hreflang]"));
static JSON_LD: LazyLock<Selector> = LazyLock::new(|| sel("script[type]"));
static HEADINGS: LazyLock<Selector> = LazyLock::new(|| sel("h1, h2, h3"));
static ANCHORS: LazyLock<Selector> = LazyLock::new(|| sel("a[href]"));
static BASE: LazyLock<Selector> = LazyLock::new(|| sel("base[href]"));

/// Extracts `html`, fetched from `url`, and lists its links.
/// Documents nested deeper than a few hundred levels are cut there first (see `nesting`).
pub fn page(url: &Url, html: &str) -> (PageExtract, Vec<Link>) {
    let doc = Html::parse_document(nesting::bounded_nesting(html, nesting::MAX_NESTING));
    let extract = PageExtract {
        url: url.to_string(),
        title: doc
            .select(&TITLE)
            .next()
            .and_then(|t| element_text(t, TITLE_MAX)),
        meta_description: meta(&doc, "description", DESCRIPTION_MAX),
        og_description: meta(&doc, "og:description", DESCRIPTION_MAX),
        og_site_name: meta(&doc, "og:site_name", TITLE_MAX),
        lang: lang(&doc),
        hreflangs: hreflangs(&doc),
        organization: jsonld::organization(json_ld_blocks(&doc).iter().map(String::as_str)),
        headings: headings(&doc),
        text: text::visible(&doc, PAGE_TEXT_MAX),
    };
    let links = links(&doc, url);
    (extract, links)
}

/// The first non-empty `content` of a `<meta name|property=key>`.
fn meta(doc: &Html, key: &str, max: usize) -> Option<String> {
    doc.select(&META).find_map(|m| {
        let e = m.value();
        let named = [e.attr("name"), e.attr("property")]
            .into_iter()
            .flatten()
            .any(|n| n.trim().eq_ignore_ascii_case(key));
        if named {
            e.attr("content").and_then(|c| bounded(c, max))
        } else {
            None
        }
    })
}

fn lang(doc: &Html) -> Option<String> {
    let html = doc.root_element();
    let e = html.value();
    e.attr("lang")
        .or_else(|| e.attr("xml:lang"))
        .and_then(|l| bounded(l, LANG_MAX))
}

fn hreflangs(doc: &Html) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for link in doc.select(&ALTERNATE) {
        let e = link.value();
        let alternate = e.attr("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("alternate"))
        });
        let Some(value) = e.attr("hreflang").and_then(|h| bounded(h, LANG_MAX)) else {
            continue;
        };
        // `x-default` names no language.
        if alternate
            && !value.eq_ignore_ascii_case("x-default")
            && !out.iter().any(|o| o.eq_ignore_ascii_case(&value))
        {
            out.push(value);
            if out.len() >= HREFLANGS_MAX {
                break;
            }
        }
    }
    out
}

fn json_ld_blocks(doc: &Html) -> Vec<String> {
    doc.select(&JSON_LD)
        .filter(|s| {
            s.value().attr("type").is_some_and(|t| {
                t.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .eq_ignore_ascii_case("application/ld+json")
            })
        })
        .map(|s| s.text().collect())
        .collect()
}

fn headings(doc: &Html) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in doc.select(&HEADINGS) {
        if let Some(t) = element_text(h, HEADING_MAX)
            && !out.contains(&t)
        {
            out.push(t);
            if out.len() >= HEADINGS_MAX {
                break;
            }
        }
    }
    out
}

fn links(doc: &Html, url: &Url) -> Vec<Link> {
    let base = doc
        .select(&BASE)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| url.join(href.trim()).ok())
        .filter(is_web)
        .unwrap_or_else(|| url.clone());
    let mut out: Vec<Link> = Vec::new();
    for a in doc.select(&ANCHORS) {
        let Some(mut target) = a
            .value()
            .attr("href")
            .and_then(|href| base.join(href.trim()).ok())
            .filter(is_web)
        else {
            continue;
        };
        target.set_fragment(None);
        let text = anchor_text(a);
        if !out.iter().any(|l| l.url == target && l.text == text) {
            out.push(Link { url: target, text });
            if out.len() >= LINKS_MAX {
                break;
            }
        }
    }
    out
}

fn anchor_text(a: ElementRef<'_>) -> String {
    element_text(a, LINK_TEXT_MAX)
        .or_else(|| {
            let e = a.value();
            e.attr("aria-label")
                .or_else(|| e.attr("title"))
                .and_then(|t| bounded(t, LINK_TEXT_MAX))
        })
        .unwrap_or_default()
}

fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

#[cfg(test)]
mod tests;
