//! The deterministic enricher used when no language model is configured: it fills only what the
//! site's own structured data and text support (JSON-LD, meta tags, `lang`/`hreflang`, a keyword
//! industry classifier) and leaves the rest empty, always with `confidence: "low"`.

use super::ladders::employees_range_of;
use super::model::Subject;
use super::profile::{Confidence, EnrichedProfile};
use super::sanitize::{MAX_DESCRIPTION, MAX_EMPLOYEES, MAX_LIST_ITEMS, languages, regions};
use super::site::{EmployeeCount, SiteSnapshot};
use super::text::clean_text;

/// Industries and the words that suggest them (English and a few German and French ones).
const INDUSTRIES: [(&str, &[&str]); 12] = [
    (
        "Cybersecurity",
        &[
            "cybersecurity",
            "security",
            "threat",
            "firewall",
            "zero trust",
            "siem",
            "sicherheit",
            "sécurité",
        ],
    ),
    (
        "Financial Services",
        &[
            "bank",
            "banking",
            "fintech",
            "payments",
            "insurance",
            "finance",
            "investment",
            "lending",
            "versicherung",
        ],
    ),
    (
        "Healthcare",
        &[
            "healthcare",
            "health",
            "medical",
            "clinic",
            "patient",
            "pharma",
            "hospital",
            "gesundheit",
        ],
    ),
    (
        "Marketing & Advertising",
        &[
            "marketing",
            "advertising",
            "seo",
            "agency",
            "campaign",
            "branding",
            "werbung",
        ],
    ),
    (
        "E-commerce & Retail",
        &[
            "ecommerce",
            "e-commerce",
            "retail",
            "online shop",
            "marketplace",
            "webshop",
        ],
    ),
    (
        "Data & Analytics",
        &[
            "analytics",
            "business intelligence",
            "data warehouse",
            "machine learning",
            "dashboards",
        ],
    ),
    (
        "IT Services & Consulting",
        &[
            "consulting",
            "consultancy",
            "it services",
            "system integrator",
            "digital transformation",
            "beratung",
            "conseil",
        ],
    ),
    (
        "Software",
        &["software", "saas", "platform", "cloud", "api", "app"],
    ),
    (
        "Manufacturing",
        &[
            "manufacturing",
            "industrial",
            "factory",
            "machinery",
            "fertigung",
            "maschinenbau",
        ],
    ),
    (
        "Logistics",
        &[
            "logistics",
            "shipping",
            "freight",
            "supply chain",
            "warehouse",
            "logistik",
        ],
    ),
    (
        "Education",
        &[
            "education",
            "e-learning",
            "school",
            "university",
            "courses",
            "bildung",
        ],
    ),
    (
        "Telecommunications",
        &[
            "telecom",
            "telecommunications",
            "connectivity",
            "5g",
            "broadband",
        ],
    ),
];

/// Services and the words that suggest them.
const SERVICES: [(&str, &[&str]); 10] = [
    (
        "Consulting",
        &["consulting", "consultancy", "advisory", "beratung"],
    ),
    (
        "Implementation",
        &["implementation", "implementierung", "rollout", "deployment"],
    ),
    (
        "Integration",
        &["integration", "integrations", "integrator"],
    ),
    (
        "Managed services",
        &["managed services", "managed service", "outsourcing"],
    ),
    ("Support", &["support", "helpdesk", "help desk"]),
    (
        "Training",
        &["training", "workshops", "schulung", "certification"],
    ),
    (
        "Custom development",
        &[
            "custom development",
            "software development",
            "development services",
            "entwicklung",
        ],
    ),
    ("Cloud migration", &["cloud migration", "migration"]),
    (
        "Security audits",
        &["penetration testing", "security audit", "audits"],
    ),
    (
        "Reselling",
        &["reseller", "resale", "distribution", "licensing"],
    ),
];

/// Occurrences of `needle` in `hay` (both lowercase) at word boundaries.
fn count_word(hay: &str, needle: &str) -> usize {
    let mut n = 0;
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before = hay[..start].chars().next_back();
        let after = hay[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            n += 1;
        }
        from = end;
    }
    n
}

/// The text the classifier reads: prominent text (titles, descriptions, headings) counts three
/// times as much as body text.
struct Corpus {
    prominent: String,
    body: String,
}

impl Corpus {
    fn of(site: &SiteSnapshot) -> Self {
        let mut prominent = String::new();
        let mut body = String::new();
        for p in &site.pages {
            for t in [&p.title, &p.meta_description, &p.og_description]
                .into_iter()
                .flatten()
            {
                prominent.push_str(t);
                prominent.push(' ');
            }
            if let Some(d) = p.organization.as_ref().and_then(|o| o.description.as_ref()) {
                prominent.push_str(d);
                prominent.push(' ');
            }
            for h in &p.headings {
                prominent.push_str(h);
                prominent.push(' ');
            }
            body.push_str(&p.text);
            body.push(' ');
        }
        Self {
            prominent: prominent.to_lowercase(),
            body: body.to_lowercase(),
        }
    }

    fn weight(&self, words: &[&str]) -> usize {
        words
            .iter()
            .map(|w| 3 * count_word(&self.prominent, w) + count_word(&self.body, w))
            .sum()
    }
}

/// The industry the words point to most, if they point clearly enough (a weight of 3: one
/// prominent mention or three in the body). Ties go to the earlier, more specific entry.
pub fn classify_industry(site: &SiteSnapshot) -> Option<&'static str> {
    let corpus = Corpus::of(site);
    let mut best: Option<(&str, usize)> = None;
    for (industry, words) in INDUSTRIES {
        let w = corpus.weight(words);
        if w >= 3 && best.is_none_or(|(_, b)| w > b) {
            best = Some((industry, w));
        }
    }
    best.map(|(i, _)| i)
}

fn services(site: &SiteSnapshot) -> Vec<String> {
    let corpus = Corpus::of(site);
    SERVICES
        .iter()
        .filter(|(_, words)| corpus.weight(words) >= 3)
        .map(|(s, _)| (*s).to_owned())
        .take(MAX_LIST_ITEMS)
        .collect()
}

fn headcount(count: &EmployeeCount) -> Option<i64> {
    let n = match (count.value, count.min, count.max) {
        (Some(v), _, _) => v,
        (None, Some(lo), Some(hi)) if hi >= lo => {
            ((lo.max(1) as f64) * (hi as f64)).sqrt().round() as i64
        }
        (None, Some(lo), None) => lo,
        (None, None, Some(hi)) => hi,
        _ => return None,
    };
    (1..=MAX_EMPLOYEES).contains(&n).then_some(n)
}

/// The profile a site supports on its own.
pub fn enrich(subject: &Subject, site: &SiteSnapshot) -> EnrichedProfile {
    let org = site.pages.iter().find_map(|p| p.organization.as_ref());
    let home = site.home();
    let description = home
        .and_then(|h| h.meta_description.as_ref().or(h.og_description.as_ref()))
        .or_else(|| org.and_then(|o| o.description.as_ref()))
        .and_then(|d| clean_text(d, MAX_DESCRIPTION));
    let employees = org
        .and_then(|o| o.employees.as_ref())
        .and_then(headcount)
        .and_then(|n| i32::try_from(n).ok());
    let mut places: Vec<&str> = Vec::new();
    for o in site.pages.iter().filter_map(|p| p.organization.as_ref()) {
        places.extend(o.countries.iter().map(String::as_str));
        places.extend(o.area_served.iter().map(String::as_str));
    }
    let mut langs: Vec<&str> = Vec::new();
    for p in &site.pages {
        langs.extend(p.lang.as_deref());
        langs.extend(p.hreflangs.iter().map(String::as_str));
        if let Some(o) = &p.organization {
            langs.extend(o.languages.iter().map(String::as_str));
        }
    }
    let industry = classify_industry(site).map(str::to_owned);
    let regions = regions(places);
    let languages = languages(langs);
    let summary = summary(subject, site, industry.as_deref(), employees);
    EnrichedProfile {
        industry,
        description,
        employees,
        employees_range: employees
            .and_then(|n| employees_range_of(n.into()))
            .map(str::to_owned),
        company_revenue: None,
        regions,
        languages,
        services: services(site),
        products: Vec::new(),
        strengths: Vec::new(),
        risks: Vec::new(),
        summary: Some(summary),
        confidence: Confidence::Low,
    }
}

fn summary(
    subject: &Subject,
    site: &SiteSnapshot,
    industry: Option<&str>,
    employees: Option<i32>,
) -> String {
    let who = match subject {
        Subject::Domain(d) | Subject::Name(d) => d,
    };
    if site.pages.is_empty() {
        return match subject {
            Subject::Domain(_) => {
                format!("{who}: the website could not be read, so little is known.")
            }
            Subject::Name(_) => {
                format!("{who}: no domain is known, so only the name was considered.")
            }
        };
    }
    let mut facts = Vec::new();
    if let Some(i) = industry {
        facts.push(format!("likely {i}"));
    }
    if let Some(n) = employees {
        facts.push(format!("about {n} employees"));
    }
    let pages = site.pages.len();
    let from = format!(
        "from {pages} page{} of its website, without a language model",
        if pages == 1 { "" } else { "s" }
    );
    if facts.is_empty() {
        format!("{who}: profile derived {from}.")
    } else {
        format!("{who}: {}; derived {from}.", facts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::site::{JsonLdOrganization, PageExtract};

    fn page(title: &str, text: &str) -> PageExtract {
        PageExtract {
            url: "https://acme.com/".into(),
            title: Some(title.into()),
            text: text.into(),
            ..Default::default()
        }
    }

    #[test]
    fn structured_data_fills_size_markets_and_languages() {
        let mut home = page("Acme Cloud Software", "We build software for teams.");
        home.lang = Some("en-US".into());
        home.hreflangs = vec!["de".into(), "fr-CA".into(), "x-default".into()];
        home.meta_description = Some("Acme makes <b>CRM</b> software.".into());
        home.organization = Some(JsonLdOrganization {
            employees: Some(EmployeeCount {
                value: None,
                min: Some(51),
                max: Some(200),
            }),
            countries: vec!["DE".into()],
            area_served: vec!["Europe".into(), "United States".into()],
            languages: vec!["Spanish".into()],
            ..Default::default()
        });
        let site = SiteSnapshot {
            pages: vec![home],
            sources: vec![],
        };
        let p = enrich(&Subject::Domain("acme.com".into()), &site);
        assert_eq!(p.industry.as_deref(), Some("Software"));
        assert_eq!(p.description.as_deref(), Some("Acme makes CRM software."));
        assert_eq!(p.employees, Some(101));
        assert_eq!(p.employees_range.as_deref(), Some("51-200"));
        assert_eq!(p.regions, vec!["DE", "Europe", "US"]);
        assert_eq!(p.languages, vec!["en", "de", "fr", "es"]);
        assert_eq!(p.confidence, Confidence::Low);
        assert_eq!(p.company_revenue, None);
        assert_eq!(
            p.summary.as_deref(),
            Some(
                "acme.com: likely Software, about 101 employees; derived from 1 page of its \
                 website, without a language model."
            )
        );
    }

    #[test]
    fn industry_needs_clear_evidence() {
        let site = SiteSnapshot {
            pages: vec![page("Welcome", "We like our customers a lot.")],
            sources: vec![],
        };
        assert_eq!(classify_industry(&site), None);
        let site = SiteSnapshot {
            pages: vec![page(
                "Müller Beratung",
                "Beratung für den Mittelstand. Unsere Beratung hilft.",
            )],
            sources: vec![],
        };
        assert_eq!(classify_industry(&site), Some("IT Services & Consulting"));
        // Words inside other words do not count ("apple" is not "app").
        assert_eq!(count_word("apple app apps app.", "app"), 2);
    }

    #[test]
    fn an_unreadable_site_yields_little_and_says_so() {
        let p = enrich(
            &Subject::Domain("acme.com".into()),
            &SiteSnapshot::default(),
        );
        assert_eq!(p.industry, None);
        assert!(p.regions.is_empty());
        assert!(p.summary.unwrap().contains("could not be read"));
        let p = enrich(&Subject::Name("Acme".into()), &SiteSnapshot::default());
        assert!(p.summary.unwrap().contains("only the name"));
    }

    #[test]
    fn services_come_from_repeated_or_prominent_mentions() {
        let mut home = page("Acme", "Implementation, implementation and implementation.");
        home.headings = vec!["Training for your team".into()];
        let site = SiteSnapshot {
            pages: vec![home],
            sources: vec![],
        };
        assert_eq!(services(&site), vec!["Implementation", "Training"]);
    }
}
