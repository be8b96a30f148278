//! `IdealProfileInput::validate`: an organization's ideal partner profile
//! (`PUT /api/organization/ideal-partner-profile`).
//!
//! Accepted profiles are bounded (≤ 50 targets of ≤ 100 clean characters, distinct, ISO 639-1
//! languages, weights within 0..=10, a consistent employee range), survive their JSON storage,
//! and are accepted back unchanged when a client PUTs what it GOT; scoring with them gives
//! 0..=100.
//!
//! Input: the JSON request body, or other bytes that build an input with `arbitrary`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use partneros_domain::analysis::ideal::{IdealProfileInput, MAX_TARGETS};
use partneros_domain::analysis::sanitize::sanitize;
use partneros_domain::analysis::scoring::{Dimension, IdealPartnerProfile, MAX_WEIGHT, score};
use partneros_fuzz::{check_fit, distinct_ignoring_case, is_clean, string};
use serde_json::{Value, json};

const WORDS: &[&str] = &[
    "Software",
    "software",
    "Fintech",
    "EMEA",
    "emea",
    "DACH",
    "Asia Pacific",
    "Germany",
    "uk",
    "de",
    "US",
    "Gulf region",
    "en",
    "en-GB",
    "pt_BR",
    "German",
    "Deutsch",
    "Klingon",
    "eng",
    "Implementation",
    "<b>CRM</b>",
    "&amp;",
    "&amp;amp;lt;",
    "&lt;b&gt;",
    "&nbsp;",
    " ",
    "",
    "\u{0}",
    "\u{a0}x",
    "ÄÖÜ",
];

fn strings(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<String>> {
    let n = if u.ratio(1, 50)? {
        u.int_in_range(0..=60)?
    } else {
        u.int_in_range(0..=6)?
    };
    (0..n).map(|_| string(u, WORDS)).collect()
}

fn weight(u: &mut Unstructured<'_>) -> arbitrary::Result<Option<f64>> {
    Ok(match u.int_in_range(0..=3)? {
        0 => None,
        1 => Some(f64::from(u.int_in_range(0u8..=11)?)),
        2 => Some(f64::from(u.int_in_range(0u16..=1000)?) / 100.0),
        _ => Some(u.arbitrary()?),
    })
}

fn bound(u: &mut Unstructured<'_>) -> arbitrary::Result<Option<i64>> {
    Ok(match u.int_in_range(0..=3)? {
        0 => None,
        1 => Some(u.int_in_range(0..=20_000)?),
        2 => Some(u.int_in_range(9_999_990..=10_000_010)?),
        _ => Some(i64::arbitrary(u)?),
    })
}

fn input(u: &mut Unstructured<'_>) -> arbitrary::Result<IdealProfileInput> {
    Ok(IdealProfileInput {
        target_industries: strings(u)?,
        target_regions: strings(u)?,
        target_languages: strings(u)?,
        employee_range: if u.arbitrary()? {
            Some((bound(u)?, bound(u)?))
        } else {
            None
        },
        sought_services: strings(u)?,
        weights: [weight(u)?, weight(u)?, weight(u)?, weight(u)?, weight(u)?],
    })
}

/// What a client that GOT the profile PUTs back.
fn as_input(p: &IdealPartnerProfile) -> IdealProfileInput {
    IdealProfileInput {
        target_industries: p.target_industries.clone(),
        target_regions: p.target_regions.clone(),
        target_languages: p.target_languages.clone(),
        employee_range: p.employee_range.map(|r| (r.min, r.max)),
        sought_services: p.sought_services.clone(),
        weights: [
            Some(p.weights.industry_fit),
            Some(p.weights.market_overlap),
            Some(p.weights.language_coverage),
            Some(p.weights.company_size_fit),
            Some(p.weights.service_complementarity),
        ],
    }
}

fn check(p: &IdealPartnerProfile) {
    for (field, items) in [
        ("targetIndustries", &p.target_industries),
        ("targetRegions", &p.target_regions),
        ("targetLanguages", &p.target_languages),
        ("soughtServices", &p.sought_services),
    ] {
        assert!(items.len() <= MAX_TARGETS, "{field}: {} items", items.len());
        assert!(
            distinct_ignoring_case(items),
            "{field}: duplicates in {items:?}"
        );
        for s in items {
            assert!(is_clean(s, 100), "{field}: {s:?}");
        }
    }
    for l in &p.target_languages {
        assert!(
            l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase()),
            "language {l:?}"
        );
    }
    if let Some(r) = p.employee_range {
        for v in [r.min, r.max].into_iter().flatten() {
            assert!((1..=10_000_000).contains(&v), "employee bound {v}");
        }
        if let (Some(a), Some(b)) = (r.min, r.max) {
            assert!(a <= b, "employee range {a}..{b}");
        }
    }
    let w = p.weights;
    for v in [
        w.industry_fit,
        w.market_overlap,
        w.language_coverage,
        w.company_size_fit,
        w.service_complementarity,
    ] {
        assert!(
            v.is_finite() && (0.0..=MAX_WEIGHT).contains(&v),
            "weight {v}"
        );
    }

    let stored = serde_json::to_string(p).unwrap();
    let back: IdealPartnerProfile = serde_json::from_str(&stored).unwrap();
    // serde_json parses floats with best-effort precision by default (its `float_roundtrip`
    // feature is off in this workspace), so a weight may come back an ULP or two off
    // (`3.3803678514012e-310` is read as `3.38036785140118e-310`). Weights are never negative,
    // so the distance in ULPs is the distance of the bit patterns.
    let (bw, pw) = (back.weights, p.weights);
    let weights_close = [
        (bw.industry_fit, pw.industry_fit),
        (bw.market_overlap, pw.market_overlap),
        (bw.language_coverage, pw.language_coverage),
        (bw.company_size_fit, pw.company_size_fit),
        (bw.service_complementarity, pw.service_complementarity),
    ]
    .into_iter()
    .all(|(a, b)| a.to_bits().abs_diff(b.to_bits()) <= 2);
    assert!(
        weights_close
            && IdealPartnerProfile {
                weights: p.weights,
                ..back
            } == *p,
        "the JSON round trip changed the profile: {stored}"
    );

    let again = as_input(p).validate();
    assert_eq!(
        again.as_ref(),
        Ok(p),
        "PUT of the GOT profile is refused or changes it"
    );

    let partner = sanitize(&json!({
        "industry": "Software", "employees": 120, "regions": ["DACH", "US", "Gulf region"],
        "languages": ["en", "de"], "services": ["Implementation", "Managed services"],
        "confidence": "high"
    }));
    check_fit(&score(&partner, p));
    check_fit(&score(&sanitize(&json!({})), p));
}

/// The request body's shape (`{targetIndustries, targetRegions, targetLanguages, employeeRange:
/// {min, max}, soughtServices, weights: {industryFit, …}}`), read leniently so that JSON seeds
/// and their mutations reach the validator.
fn from_json(v: &Value) -> IdealProfileInput {
    let list = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let range = v.get("employeeRange").filter(|r| r.is_object()).map(|r| {
        (
            r.get("min").and_then(Value::as_i64),
            r.get("max").and_then(Value::as_i64),
        )
    });
    let weights = Dimension::ALL.map(|d| {
        v.get("weights")
            .and_then(|w| w.get(d.key()))
            .and_then(Value::as_f64)
    });
    IdealProfileInput {
        target_industries: list("targetIndustries"),
        target_regions: list("targetRegions"),
        target_languages: list("targetLanguages"),
        employee_range: range,
        sought_services: list("soughtServices"),
        weights,
    }
}

fuzz_target!(|data: &[u8]| {
    let input = match serde_json::from_slice::<Value>(data) {
        Ok(v) => from_json(&v),
        Err(_) => {
            let mut u = Unstructured::new(data);
            let Ok(input) = input(&mut u) else {
                return;
            };
            input
        }
    };
    if let Ok(profile) = input.validate() {
        check(&profile);
    }
});
