//! Which linked pages of the home page describe the company.

use crate::extract::Link;
use percent_encoding::percent_decode_str;
use url::Url;

/// Words of a path or anchor text, by category in order of preference.
const CATEGORIES: &[&[&str]] = &[
    // about
    &[
        "about",
        "über uns",
        "über-uns",
        "ueber-uns",
        "uber-uns",
        "a-propos",
        "à propos",
        "qui-sommes-nous",
        "chi-siamo",
        "sobre",
        "quienes-somos",
        "over-ons",
        "om-oss",
    ],
    // company
    &[
        "company",
        "unternehmen",
        "entreprise",
        "empresa",
        "azienda",
        "bedrijf",
        "who-we-are",
        "who we are",
    ],
    // services
    &[
        "service",
        "leistungen",
        "dienstleistung",
        "servicios",
        "servizi",
        "what-we-do",
        "what we do",
    ],
    // solutions
    &["solution", "lösung", "loesung", "soluciones", "soluzioni"],
    // partners
    &["partner"],
    // contact
    &[
        "contact",
        "kontakt",
        "contacto",
        "contatti",
        "impressum",
        "imprint",
    ],
];

/// Pages that match a category word but say nothing about the company.
const EXCLUDED: &[&str] = &[
    "privacy",
    "terms",
    "cookie",
    "login",
    "log-in",
    "signin",
    "sign-in",
    "signup",
    "sign-up",
    "register",
    "cart",
    "checkout",
    "datenschutz",
    "agb",
    "careers",
    "jobs",
];

const NOT_PAGES: &[&str] = &[
    ".pdf", ".jpg", ".jpeg", ".png", ".gif", ".svg", ".webp", ".zip", ".mp4", ".mp3", ".css",
    ".js", ".xml", ".ico", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx",
];

/// Up to `max` same-site links describing the company: first the best link of each category in
/// order (about, company, services, solutions, partners, contact), then the other matches.
pub fn company_pages(domain: &str, home: &Url, links: &[Link], max: usize) -> Vec<Url> {
    let mut seen = vec![page_key(home)];
    let mut candidates: Vec<(usize, &Url)> = Vec::new();
    for link in links {
        if !same_site(domain, home, &link.url) {
            continue;
        }
        let key = page_key(&link.url);
        if seen.contains(&key) {
            continue;
        }
        let path = percent_decode_str(link.url.path())
            .decode_utf8_lossy()
            .to_lowercase();
        if NOT_PAGES.iter().any(|ext| path.ends_with(ext)) {
            continue;
        }
        let text = link.text.to_lowercase();
        if EXCLUDED
            .iter()
            .any(|w| path.contains(w) || text.contains(w))
        {
            continue;
        }
        let category = CATEGORIES
            .iter()
            .position(|words| words.iter().any(|w| path.contains(w) || text.contains(w)));
        if let Some(category) = category {
            seen.push(key);
            candidates.push((category, &link.url));
        }
    }
    let mut picked: Vec<usize> = Vec::new();
    for category in 0..CATEGORIES.len() {
        if let Some(i) = candidates.iter().position(|(c, _)| *c == category) {
            picked.push(i);
        }
    }
    picked.truncate(max);
    let mut rest: Vec<usize> = (0..candidates.len())
        .filter(|i| !picked.contains(i))
        .collect();
    rest.sort_by_key(|i| candidates[*i].0);
    picked.extend(rest);
    picked.truncate(max);
    // Keep the preferred order: category first, then document order.
    picked.sort_by_key(|i| (candidates[*i].0, *i));
    picked
        .into_iter()
        .map(|i| candidates[i].1.clone())
        .collect()
}

/// The partner's domain or one of its subdomains (`www.` included), or the host the home page
/// finally came from (after a redirect to another domain) or its `www.` variant.
pub fn same_site(domain: &str, home: &Url, url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    let bare = |h: &str| h.strip_prefix("www.").unwrap_or(h).to_owned();
    let domain = domain.to_ascii_lowercase();
    host == domain
        || host.ends_with(&format!(".{domain}"))
        || home
            .host_str()
            .is_some_and(|h| bare(&h.to_ascii_lowercase()) == bare(&host))
}

/// The same page whatever the scheme, `www.`, trailing slash or fragment.
fn page_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let path = url.path().trim_end_matches('/');
    match url.query() {
        Some(q) => format!("{host}{path}?{q}"),
        None => format!("{host}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(url: &str, text: &str) -> Link {
        Link {
            url: Url::parse(url).expect("a URL"),
            text: text.to_owned(),
        }
    }

    fn picks(links: &[Link]) -> Vec<String> {
        let home = Url::parse("https://acme.test/").expect("home");
        company_pages("acme.test", &home, links, 4)
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn picks_one_per_category_in_order_of_preference() {
        let links = [
            link("https://acme.test/contact", "Contact"),
            link("https://acme.test/blog", "Blog"),
            link("https://acme.test/partners", "Partners"),
            link("https://acme.test/what", "Our services"),
            link("https://acme.test/team", "About us"),
            link("https://acme.test/about/history", "History"),
            link("https://acme.test/solutions/cloud", "Cloud"),
        ];
        assert_eq!(
            picks(&links),
            [
                "https://acme.test/team",
                "https://acme.test/what",
                "https://acme.test/solutions/cloud",
                "https://acme.test/partners",
            ]
        );
    }

    #[test]
    fn fills_remaining_slots_with_other_matches() {
        let links = [
            link("https://acme.test/about/history", "History"),
            link("https://acme.test/about", "About"),
            link("https://acme.test/kontakt", "Kontakt"),
            link("https://acme.test/about/team", "Team"),
        ];
        assert_eq!(
            picks(&links),
            [
                "https://acme.test/about/history",
                "https://acme.test/about",
                "https://acme.test/about/team",
                "https://acme.test/kontakt",
            ]
        );
    }

    #[test]
    fn skips_other_sites_duplicates_assets_and_legal_pages() {
        let links = [
            link("https://other.test/about", "About"),
            link("https://acme.test.evil.test/about", "About"),
            link("https://acme.test/", "About"),
            link("https://acme.test/about.pdf", "About (PDF)"),
            link("https://acme.test/privacy", "Privacy & contact"),
            link("https://acme.test/terms-of-service", "Terms"),
            link("https://acme.test/careers", "Company careers"),
            link("http://www.acme.test/about/", "About"),
            link("https://acme.test/about", "About us"),
            link("https://shop.acme.test/%C3%BCber-uns", "Wir"),
        ];
        assert_eq!(
            picks(&links),
            [
                "http://www.acme.test/about/",
                "https://shop.acme.test/%C3%BCber-uns"
            ]
        );
    }

    #[test]
    fn same_site_includes_www_subdomains_and_the_final_home_host() {
        let home = Url::parse("https://www.acme-group.test/").expect("home");
        let yes = |u: &str| same_site("acme.test", &home, &Url::parse(u).expect("url"));
        assert!(yes("https://acme.test/a"));
        assert!(yes("https://www.acme.test/a"));
        assert!(yes("https://eu.acme.test/a"));
        assert!(yes("https://acme-group.test/a"));
        assert!(yes("https://www.acme-group.test/a"));
        assert!(!yes("https://notacme.test/a"));
        assert!(!yes("https://acme.test.evil.test/a"));
        assert!(!yes("https://cdn.acme-group.test/a"));
    }
}
