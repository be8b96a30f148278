//! The language model's answer, from the domain side.
//!
//! The adapter's chat-completion parser (`partneros-llm`'s `wire::parse_answer`) is
//! `pub(crate)` and reachable only through an HTTP round trip, so this target fuzzes what every
//! answer goes through next: `analysis::sanitize::sanitize` turns the model's JSON object into
//! the `EnrichedProfile` that is cached, stored on the partner and scored. It must never fail and
//! must bound everything it keeps: no HTML, ladder labels only, headcount and range consistent,
//! bounded de-duplicated lists, ISO language codes; the profile must survive the cache's JSON
//! round trip, and scoring it must give 0..=100.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use partneros_domain::analysis::EnrichedProfile;
use partneros_domain::analysis::ideal::IdealProfileInput;
use partneros_domain::analysis::ladders::{EMPLOYEE_RANGES, REVENUE_RANGES, employees_range_of};
use partneros_domain::analysis::model::ENRICHMENT_FIELDS;
use partneros_domain::analysis::sanitize::{
    MAX_DESCRIPTION, MAX_EMPLOYEES, MAX_INDUSTRY, MAX_INSIGHTS, MAX_ITEM_CHARS, MAX_LIST_ITEMS,
    MAX_SUMMARY, sanitize,
};
use partneros_domain::analysis::scoring::{IdealPartnerProfile, score};
use partneros_fuzz::{check_fit, distinct_ignoring_case, is_clean, object};
use serde_json::Value;

/// Values and nested keys; the answer's own keys (`ENRICHMENT_FIELDS`) are added to these.
const WORDS: &[&str] = &[
    "label",
    "high",
    "Medium",
    "low",
    "1-10",
    "11–50",
    "10,001+",
    "$10m - $50m",
    "<$1M",
    "1,200",
    "12.6",
    "North America",
    "de",
    "UK",
    "Germany",
    "en-US",
    "pt_BR",
    "Deutsch",
    "<b>CRM</b>",
    "&amp;lt;script&amp;gt;",
    "&nbsp;",
    "\u{0}",
    "Software",
];

static IDEAL: LazyLock<IdealPartnerProfile> = LazyLock::new(|| {
    IdealProfileInput {
        target_industries: vec!["Software".into(), "Fintech".into()],
        target_regions: vec!["EMEA".into(), "US".into()],
        target_languages: vec!["en".into(), "de".into()],
        employee_range: Some((Some(50), Some(5000))),
        sought_services: vec!["Implementation".into(), "CRM".into()],
        weights: [Some(2.0), None, Some(0.5), None, Some(10.0)],
    }
    .validate()
    .expect("the fixed ideal profile is valid")
});

fn text(field: &str, v: &Option<String>, max: usize) {
    if let Some(s) = v {
        assert!(is_clean(s, max), "{field}: {s:?}");
    }
}

fn list(field: &str, items: &[String], max_chars: usize) {
    assert!(
        items.len() <= MAX_LIST_ITEMS,
        "{field}: {} items",
        items.len()
    );
    assert!(
        distinct_ignoring_case(items),
        "{field}: duplicates in {items:?}"
    );
    for s in items {
        assert!(is_clean(s, max_chars), "{field}: {s:?}");
    }
}

fn check(p: &EnrichedProfile, object: bool) {
    if !object {
        assert_eq!(
            p,
            &EnrichedProfile::empty(),
            "a non-object answer must give nothing"
        );
    }
    text("industry", &p.industry, MAX_INDUSTRY);
    text("description", &p.description, MAX_DESCRIPTION);
    text("summary", &p.summary, MAX_SUMMARY);
    if let Some(n) = p.employees {
        assert!((1..=MAX_EMPLOYEES).contains(&i64::from(n)), "employees {n}");
        assert_eq!(
            p.employees_range.as_deref(),
            employees_range_of(n.into()),
            "range of {n}"
        );
    }
    if let Some(r) = &p.employees_range {
        assert!(
            EMPLOYEE_RANGES.iter().any(|(l, _, _)| l == r),
            "range {r:?}"
        );
    }
    if let Some(r) = &p.company_revenue {
        assert!(REVENUE_RANGES.contains(&r.as_str()), "revenue {r:?}");
    }
    list("regions", &p.regions, 60);
    list("services", &p.services, MAX_ITEM_CHARS);
    list("products", &p.products, MAX_ITEM_CHARS);
    list("languages", &p.languages, 2);
    for l in &p.languages {
        assert!(
            l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase()),
            "language {l:?}"
        );
    }
    for (field, insights) in [("strengths", &p.strengths), ("risks", &p.risks)] {
        assert!(
            insights.len() <= MAX_INSIGHTS,
            "{field}: {}",
            insights.len()
        );
        let labels: Vec<String> = insights.iter().map(|i| i.label.clone()).collect();
        assert!(distinct_ignoring_case(&labels), "{field}: {labels:?}");
        for i in insights {
            assert!(is_clean(&i.label, MAX_ITEM_CHARS), "{field}: {:?}", i.label);
            assert!(
                is_clean(&i.description, 300),
                "{field}: {:?}",
                i.description
            );
        }
    }

    let cached = serde_json::to_string(p).unwrap();
    let back: EnrichedProfile = serde_json::from_str(&cached).unwrap();
    assert_eq!(&back, p, "the cache's JSON round trip changed the profile");

    check_fit(&score(p, &IDEAL));
}

/// [`WORDS`] and the answer's keys, built once.
static ALL_WORDS: LazyLock<Vec<&str>> =
    LazyLock::new(|| WORDS.iter().copied().chain(ENRICHMENT_FIELDS).collect());

fuzz_target!(|data: &[u8]| {
    // JSON text as is; other bytes build an object with the answer's keys.
    let answer = serde_json::from_slice::<Value>(data).unwrap_or_else(|_| {
        let mut u = Unstructured::new(data);
        Value::Object(object(&mut u, &ENRICHMENT_FIELDS, &ALL_WORDS, 1).unwrap_or_default())
    });
    let profile = sanitize(&answer);
    check(&profile, answer.is_object());
});
