//! Turning a model's JSON answer into a validated [`EnrichedProfile`]: unknown labels dropped,
//! headcounts bounded, arrays de-duplicated and cut, HTML stripped. Never fails: what cannot be
//! used is left out.

use super::ladders::{employees_range_bounds, employees_range_of, revenue_label};
use super::profile::{Confidence, EnrichedProfile, Insight};
use super::text::{clean_list, clean_text, language_code, region};
use serde_json::Value;

pub const MAX_DESCRIPTION: usize = 500;
pub const MAX_SUMMARY: usize = 1000;
pub const MAX_INDUSTRY: usize = 120;
pub const MAX_LIST_ITEMS: usize = 20;
pub const MAX_ITEM_CHARS: usize = 100;
pub const MAX_INSIGHTS: usize = 8;
/// No company has more staff than this; larger numbers are not estimates but noise.
pub const MAX_EMPLOYEES: i64 = 5_000_000;
/// How many array items are looked at at all (a 10 000-item array costs no more than this).
const SCAN_LIMIT: usize = 200;

fn string<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn strings<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flat_map(|a| a.iter().take(SCAN_LIMIT))
        .filter_map(Value::as_str)
}

/// A headcount from a number or a numeric string (`"1,200"`); `None` when absent, not a
/// number, below 1 or implausibly large.
pub fn headcount(v: &Value) -> Option<i32> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.round() as i64)
        }),
        Value::String(s) => {
            let digits: String = s.chars().filter(|c| *c != ',' && *c != '_').collect();
            digits.trim().parse::<i64>().ok()
        }
        _ => None,
    }?;
    if (1..=MAX_EMPLOYEES).contains(&n) {
        i32::try_from(n).ok()
    } else {
        None
    }
}

fn insights(v: &Value, key: &str) -> Vec<Insight> {
    let mut out: Vec<Insight> = Vec::new();
    let items = v.get(key).and_then(Value::as_array);
    for item in items.into_iter().flat_map(|a| a.iter().take(SCAN_LIMIT)) {
        if out.len() >= MAX_INSIGHTS {
            break;
        }
        let (label, description) = match item {
            Value::String(s) => (clean_text(s, MAX_ITEM_CHARS), None),
            Value::Object(_) => (
                string(item, "label").and_then(|s| clean_text(s, MAX_ITEM_CHARS)),
                string(item, "description").and_then(|s| clean_text(s, 300)),
            ),
            _ => (None, None),
        };
        if let Some(label) = label
            && !out.iter().any(|o| o.label.eq_ignore_ascii_case(&label))
        {
            out.push(Insight {
                description: description.unwrap_or_else(|| label.clone()),
                label,
            });
        }
    }
    out
}

/// Languages as ISO 639-1 codes, de-duplicated and bounded.
pub fn languages<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let codes: Vec<String> = raw.into_iter().filter_map(language_code).collect();
    clean_list(codes.iter().map(String::as_str), MAX_LIST_ITEMS, 2)
}

/// Regions as codes or canonical names, de-duplicated and bounded.
pub fn regions<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let names: Vec<String> = raw.into_iter().filter_map(region).collect();
    clean_list(names.iter().map(String::as_str), MAX_LIST_ITEMS, 60)
}

/// The validated profile of a model's answer.
pub fn sanitize(content: &Value) -> EnrichedProfile {
    let employees = content.get("employees").and_then(headcount);
    let stated_range = string(content, "employeesRange")
        .and_then(employees_range_bounds)
        .map(|(label, _, _)| label);
    // A headcount decides the range; a stated range stands when there is no headcount.
    let employees_range = employees
        .and_then(|n| employees_range_of(n.into()))
        .or(stated_range)
        .map(str::to_owned);
    EnrichedProfile {
        industry: string(content, "industry").and_then(|s| clean_text(s, MAX_INDUSTRY)),
        description: string(content, "description").and_then(|s| clean_text(s, MAX_DESCRIPTION)),
        employees,
        employees_range,
        company_revenue: string(content, "companyRevenue")
            .and_then(revenue_label)
            .map(str::to_owned),
        regions: regions(strings(content, "regions")),
        languages: languages(strings(content, "languages")),
        services: clean_list(strings(content, "services"), MAX_LIST_ITEMS, MAX_ITEM_CHARS),
        products: clean_list(strings(content, "products"), MAX_LIST_ITEMS, MAX_ITEM_CHARS),
        strengths: insights(content, "strengths"),
        risks: insights(content, "risks"),
        summary: string(content, "summary").and_then(|s| clean_text(s, MAX_SUMMARY)),
        confidence: string(content, "confidence")
            .and_then(Confidence::parse)
            .unwrap_or(Confidence::Low),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_good_answer_is_kept() {
        let p = sanitize(&json!({
            "industry": "Software", "description": "Builds CRM software.",
            "employees": 120, "employeesRange": "51-200", "companyRevenue": "$10M-$50M",
            "regions": ["North America", "de"], "languages": ["en", "de-DE"],
            "services": ["Implementation"], "products": ["Acme CRM"],
            "strengths": [{"label": "Strong CRM", "description": "Mature product."}],
            "risks": [], "summary": "A CRM vendor.", "confidence": "high"
        }));
        assert_eq!(p.industry.as_deref(), Some("Software"));
        assert_eq!(p.employees, Some(120));
        assert_eq!(p.employees_range.as_deref(), Some("51-200"));
        assert_eq!(p.company_revenue.as_deref(), Some("$10M-$50M"));
        assert_eq!(p.regions, vec!["North America", "DE"]);
        assert_eq!(p.languages, vec!["en", "de"]);
        assert_eq!(p.strengths[0].label, "Strong CRM");
        assert_eq!(p.confidence, Confidence::High);
    }

    #[test]
    fn out_of_range_values_are_clamped_or_dropped() {
        let huge: Vec<String> = (0..10_000).map(|i| format!("service {i}")).collect();
        let p = sanitize(&json!({
            "industry": "<script>alert(1)</script><b>Fintech</b>",
            "description": "x".repeat(5000),
            "employees": -40, "employeesRange": "a few", "companyRevenue": "$3 trillion",
            "regions": huge, "languages": ["Klingon", "EN", "en"],
            "services": huge, "products": [1, 2, null],
            "strengths": "not a list", "summary": "<p>ok</p>", "confidence": "certain"
        }));
        assert_eq!(p.industry.as_deref(), Some("alert(1) Fintech"));
        assert_eq!(p.description.unwrap().chars().count(), MAX_DESCRIPTION);
        assert_eq!(p.employees, None);
        assert_eq!(p.employees_range, None);
        assert_eq!(p.company_revenue, None);
        assert_eq!(p.regions.len(), MAX_LIST_ITEMS);
        assert_eq!(p.services.len(), MAX_LIST_ITEMS);
        assert_eq!(p.languages, vec!["en"]);
        assert!(p.products.is_empty());
        assert!(p.strengths.is_empty());
        assert_eq!(p.summary.as_deref(), Some("ok"));
        assert_eq!(p.confidence, Confidence::Low);
    }

    #[test]
    fn a_headcount_decides_the_range() {
        let p = sanitize(&json!({"employees": "1,500", "employeesRange": "1-10"}));
        assert_eq!(p.employees, Some(1500));
        assert_eq!(p.employees_range.as_deref(), Some("1001-5000"));
        let p = sanitize(&json!({"employees": 9_000_000_000u64, "employeesRange": "11–50"}));
        assert_eq!(p.employees, None);
        assert_eq!(p.employees_range.as_deref(), Some("11-50"));
        assert_eq!(sanitize(&json!({"employees": 12.6})).employees, Some(13));
    }

    #[test]
    fn anything_that_is_not_an_object_is_an_empty_profile() {
        assert_eq!(sanitize(&json!([1, 2])), EnrichedProfile::empty());
        assert_eq!(sanitize(&json!("text")), EnrichedProfile::empty());
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::hash_map(
                    prop_oneof![
                        Just("industry".to_owned()),
                        Just("employees".to_owned()),
                        Just("regions".to_owned()),
                        Just("strengths".to_owned()),
                        ".{0,8}".prop_map(String::from)
                    ],
                    inner,
                    0..8
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_yields_a_bounded_profile(v in arb_json()) {
            let p = sanitize(&v);
            prop_assert!(p.employees.is_none_or(|n| n >= 1));
            prop_assert!(p.regions.len() <= MAX_LIST_ITEMS && p.services.len() <= MAX_LIST_ITEMS);
            prop_assert!(p.strengths.len() <= MAX_INSIGHTS);
            prop_assert!(p.industry.is_none_or(|s| !s.contains('<')));
        }
    }
}
