//! schema.org `Organization` data of JSON-LD blocks. Lenient: anything malformed or unexpected is
//! skipped, never an error.

use super::text::bounded;
use partneros_domain::analysis::site::{EmployeeCount, JsonLdOrganization};
use serde_json::{Map, Value};
use std::collections::VecDeque;

const NAME_MAX: usize = 300;
const DESCRIPTION_MAX: usize = 1_000;
const VALUE_MAX: usize = 100;
const VALUES_MAX: usize = 50;
/// JSON nodes looked at per block, and organizations compared per page.
const NODES_MAX: usize = 10_000;
const CANDIDATES_MAX: usize = 20;

/// schema.org types that are `Organization` or one of its subtypes, besides those recognised by
/// their suffix (`…Organization`, `…Business`, `…Service` but `Service` itself, `…Store`).
const ORGANIZATION_TYPES: &[&str] = &[
    "organization",
    "corporation",
    "localbusiness",
    "professionalservice",
    "onlinebusiness",
    "onlinestore",
    "ngo",
    "airline",
    "consortium",
    "cooperative",
    "librarysystem",
    "performinggroup",
    "project",
    "fundingscheme",
    "workersunion",
    "searchrescueorganization",
    "store",
    "restaurant",
    "hotel",
    "dentist",
    "physician",
    "attorney",
    "notary",
    "bank",
    "insuranceagency",
    "realestateagent",
    "travelagency",
    "employmentagency",
    "internetcafe",
    "library",
    "childcare",
    "dryclean",
];

/// The richest organization described by the JSON-LD blocks (the first when equally rich).
pub(crate) fn organization<'a>(
    blocks: impl IntoIterator<Item = &'a str>,
) -> Option<JsonLdOrganization> {
    let mut best: Option<(usize, JsonLdOrganization)> = None;
    let mut candidates = 0;
    for block in blocks {
        let Ok(value) = serde_json::from_str::<Value>(strip_wrappers(block)) else {
            tracing::debug!("skipping malformed JSON-LD");
            continue;
        };
        for node in organization_nodes(&value) {
            let org = read_organization(node);
            let richness = richness(&org);
            if best.as_ref().is_none_or(|(r, _)| richness > *r) {
                best = Some((richness, org));
            }
            candidates += 1;
            if candidates >= CANDIDATES_MAX {
                return best.map(|(_, o)| o);
            }
        }
    }
    best.map(|(_, o)| o)
}

/// Some sites wrap the JSON in an HTML comment or CDATA section.
fn strip_wrappers(block: &str) -> &str {
    let mut s = block.trim();
    for (open, close) in [
        ("<!--", "-->"),
        ("//<![CDATA[", "//]]>"),
        ("<![CDATA[", "]]>"),
    ] {
        if let Some(inner) = s.strip_prefix(open) {
            s = inner.strip_suffix(close).unwrap_or(inner).trim();
        }
    }
    s
}

/// Organization nodes, breadth first (so top-level and `@graph` nodes come before nested ones).
fn organization_nodes(root: &Value) -> Vec<&Map<String, Value>> {
    let mut found = Vec::new();
    let mut queue = VecDeque::from([root]);
    let mut seen = 0;
    while let Some(value) = queue.pop_front() {
        seen += 1;
        if seen > NODES_MAX || found.len() >= CANDIDATES_MAX {
            break;
        }
        match value {
            Value::Array(items) => queue.extend(items),
            Value::Object(map) => {
                if map.get("@type").is_some_and(is_organization_type) {
                    found.push(map);
                }
                queue.extend(map.values().filter(|v| v.is_array() || v.is_object()));
            }
            _ => {}
        }
    }
    found
}

fn is_organization_type(t: &Value) -> bool {
    match t {
        Value::String(s) => is_organization_name(s),
        Value::Array(items) => items.iter().any(is_organization_type),
        _ => false,
    }
}

fn is_organization_name(raw: &str) -> bool {
    // `Organization`, `schema:Organization`, `https://schema.org/Organization`.
    let name = raw.rsplit(['/', ':', '#']).next().unwrap_or(raw).trim();
    let lower = name.to_ascii_lowercase();
    ORGANIZATION_TYPES.contains(&lower.as_str())
        || lower.ends_with("organization")
        || lower.ends_with("business")
        || (lower.ends_with("service") && lower != "service")
        || lower.ends_with("store")
}

fn read_organization(node: &Map<String, Value>) -> JsonLdOrganization {
    let mut countries = Vec::new();
    for key in ["address", "location"] {
        if let Some(v) = node.get(key) {
            address_countries(v, &mut countries, 0);
        }
    }
    let mut area_served = Vec::new();
    if let Some(v) = node.get("areaServed") {
        named_values(v, &["name"], &mut area_served);
    }
    let mut languages = Vec::new();
    if let Some(v) = node.get("knowsLanguage") {
        named_values(v, &["name", "alternateName"], &mut languages);
    }
    JsonLdOrganization {
        name: node
            .get("name")
            .and_then(first_text)
            .and_then(|s| bounded(&s, NAME_MAX)),
        description: node
            .get("description")
            .and_then(first_text)
            .and_then(|s| bounded(&s, DESCRIPTION_MAX)),
        employees: node.get("numberOfEmployees").and_then(employees),
        countries,
        area_served,
        languages,
    }
}

fn richness(org: &JsonLdOrganization) -> usize {
    usize::from(org.name.is_some())
        + usize::from(org.description.is_some())
        + usize::from(org.employees.is_some())
        + usize::from(!org.countries.is_empty())
        + usize::from(!org.area_served.is_empty())
        + usize::from(!org.languages.is_empty())
}

/// A string, the first string of an array, or a JSON-LD value object `{"@value": …}`.
fn first_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.iter().find_map(first_text),
        Value::Object(map) => map.get("@value").and_then(first_text),
        _ => None,
    }
}

/// `addressCountry` of a `PostalAddress`, an array of them, or a `Place` with an `address`.
fn address_countries(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 3 {
        return;
    }
    match v {
        Value::Array(items) => {
            for item in items {
                address_countries(item, out, depth + 1);
            }
        }
        Value::Object(map) => {
            if let Some(country) = map.get("addressCountry") {
                named_values(country, &["name", "alternateName"], out);
            }
            if let Some(address) = map.get("address") {
                address_countries(address, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Strings, arrays of strings, or objects named by the first of `keys` they have (`Place`,
/// `Country`, `Language`…), de-duplicated case-insensitively and bounded.
fn named_values(v: &Value, keys: &[&str], out: &mut Vec<String>) {
    match v {
        Value::String(s) => push_value(out, s),
        Value::Array(items) => {
            for item in items.iter().take(VALUES_MAX * 2) {
                if matches!(item, Value::String(_) | Value::Object(_)) {
                    named_values(item, keys, out);
                }
            }
        }
        Value::Object(map) => {
            if let Some(name) = keys.iter().find_map(|k| map.get(*k).and_then(first_text)) {
                push_value(out, &name);
            }
        }
        _ => {}
    }
}

fn push_value(out: &mut Vec<String>, raw: &str) {
    if out.len() >= VALUES_MAX {
        return;
    }
    if let Some(v) = bounded(raw, VALUE_MAX)
        && !out.iter().any(|o| o.eq_ignore_ascii_case(&v))
    {
        out.push(v);
    }
}

/// `numberOfEmployees`: a number, a numeric string (`"1,200"`, `"50-100"`, `"500+"`), or a
/// `QuantitativeValue` with `value`, `minValue`, `maxValue`.
fn employees(v: &Value) -> Option<EmployeeCount> {
    let count = match v {
        Value::Number(_) => EmployeeCount {
            value: count(v),
            ..EmployeeCount::default()
        },
        Value::String(s) => parse_count_text(s),
        Value::Array(items) => return items.iter().find_map(employees),
        Value::Object(map) => {
            let field = |k: &str| map.get(k).and_then(count);
            let mut c = EmployeeCount {
                value: field("value"),
                min: field("minValue"),
                max: field("maxValue"),
            };
            if c == EmployeeCount::default()
                && let Some(Value::String(s)) = map.get("value")
            {
                c = parse_count_text(s);
            }
            c
        }
        _ => EmployeeCount::default(),
    };
    (count != EmployeeCount::default()).then_some(count)
}

/// A non-negative headcount: a number (rounded) or a string holding exactly one.
fn count(v: &Value) -> Option<i64> {
    const MAX: f64 = 1e9;
    match v {
        Value::Number(n) => {
            let f = n.as_f64()?;
            ((0.0..=MAX).contains(&f)).then(|| f.round() as i64)
        }
        Value::String(s) => {
            let c = parse_count_text(s);
            c.value
        }
        _ => None,
    }
}

fn parse_count_text(s: &str) -> EmployeeCount {
    let numbers = numbers_in(s);
    let open_ended = s.trim_end().ends_with('+');
    match numbers.as_slice() {
        [n] if open_ended => EmployeeCount {
            min: Some(*n),
            ..EmployeeCount::default()
        },
        [n] => EmployeeCount {
            value: Some(*n),
            ..EmployeeCount::default()
        },
        [a, b] if a <= b => EmployeeCount {
            value: None,
            min: Some(*a),
            max: Some(*b),
        },
        _ => EmployeeCount::default(),
    }
}

/// Non-negative integers in `s`, with `,`, `.`, `'`, `_` or no-break spaces as thousands
/// separators (`1,200`, `1.200`); a `-` between digits is a range, not a sign.
fn numbers_in(s: &str) -> Vec<i64> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next_is_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
        match (c, current.as_mut()) {
            (d, Some(buf)) if d.is_ascii_digit() => buf.push(d),
            (d, None) if d.is_ascii_digit() => current = Some(d.to_string()),
            (',' | '.' | '\'' | '_' | '\u{202f}' | '\u{a0}', Some(_)) if next_is_digit => {}
            _ => {
                if let Some(buf) = current.take() {
                    out.extend(buf.parse::<i64>().ok().filter(|n| *n <= 1_000_000_000));
                }
            }
        }
        if out.len() > 2 {
            return Vec::new();
        }
    }
    if let Some(buf) = current {
        out.extend(buf.parse::<i64>().ok().filter(|n| *n <= 1_000_000_000));
    }
    if s.trim_start().starts_with('-') {
        return Vec::new();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(block: &str) -> Option<JsonLdOrganization> {
        organization([block])
    }

    fn employees_of(json: &str) -> Option<EmployeeCount> {
        employees(&serde_json::from_str(json).expect("json"))
    }

    fn ec(value: Option<i64>, min: Option<i64>, max: Option<i64>) -> EmployeeCount {
        EmployeeCount { value, min, max }
    }

    #[test]
    fn a_full_organization() {
        let got = org(r#"{
            "@context": "https://schema.org",
            "@type": "Organization",
            "name": "  Acme   GmbH ",
            "description": "Cloud consulting.",
            "numberOfEmployees": {"@type": "QuantitativeValue", "minValue": 50, "maxValue": "200"},
            "address": {"@type": "PostalAddress", "addressCountry": "DE"},
            "areaServed": ["Germany", {"@type": "Country", "name": "Austria"}, "germany"],
            "knowsLanguage": [{"@type": "Language", "name": "German", "alternateName": "de"}, "en"]
        }"#);
        assert_eq!(
            got,
            Some(JsonLdOrganization {
                name: Some("Acme GmbH".into()),
                description: Some("Cloud consulting.".into()),
                employees: Some(ec(None, Some(50), Some(200))),
                countries: vec!["DE".into()],
                area_served: vec!["Germany".into(), "Austria".into()],
                languages: vec!["German".into(), "en".into()],
            })
        );
    }

    #[test]
    fn graph_arrays_type_arrays_and_subtypes_are_found() {
        let graph = r#"{"@context": "https://schema.org", "@graph": [
            {"@type": "WebSite", "name": "Site"},
            {"@type": ["ProfessionalService", "Thing"], "name": "Pro"}]}"#;
        assert_eq!(org(graph).and_then(|o| o.name).as_deref(), Some("Pro"));
        let array = r#"[{"@type": "BreadcrumbList"}, {"@type": "Corporation", "name": "Corp"}]"#;
        assert_eq!(org(array).and_then(|o| o.name).as_deref(), Some("Corp"));
        for t in [
            "LocalBusiness",
            "OnlineBusiness",
            "https://schema.org/Organization",
            "schema:NGO",
            "EducationalOrganization",
            "FinancialService",
            "ElectronicsStore",
        ] {
            let block = format!(r#"{{"@type": "{t}", "name": "X"}}"#);
            assert!(org(&block).is_some(), "{t}");
        }
        for t in ["Service", "Product", "WebPage", "Person"] {
            let block = format!(r#"{{"@type": "{t}", "name": "X"}}"#);
            assert_eq!(org(&block), None, "{t}");
        }
    }

    #[test]
    fn nested_organizations_are_found_and_the_richest_wins() {
        let nested =
            r#"{"@type": "WebPage", "publisher": {"@type": "Organization", "name": "Pub"}}"#;
        assert_eq!(org(nested).and_then(|o| o.name).as_deref(), Some("Pub"));
        let two = [
            r#"{"@type": "Organization", "name": "Thin"}"#,
            r#"{"@type": "Organization", "name": "Rich", "numberOfEmployees": 12}"#,
        ];
        assert_eq!(
            organization(two).and_then(|o| o.name).as_deref(),
            Some("Rich")
        );
    }

    #[test]
    fn malformed_blocks_are_skipped() {
        let blocks = [
            "{ not json",
            r#"{"@type": "Organization", "name": "Trailing",}"#,
            "",
            r#"<!-- {"@type": "Organization", "name": "Commented"} -->"#,
        ];
        assert_eq!(
            organization(blocks).and_then(|o| o.name).as_deref(),
            Some("Commented")
        );
        assert_eq!(org(r#"{"@type": 42, "name": "x"}"#), None);
        assert_eq!(org("[1, 2, null]"), None);
        // Odd field types are ignored, not errors.
        assert_eq!(
            org(
                r#"{"@type": "Organization", "name": {"x": 1}, "address": 5, "areaServed": 3,
                "knowsLanguage": null, "numberOfEmployees": true}"#
            ),
            Some(JsonLdOrganization::default())
        );
    }

    #[test]
    fn number_of_employees_in_every_form() {
        assert_eq!(employees_of("250"), Some(ec(Some(250), None, None)));
        assert_eq!(employees_of("12.6"), Some(ec(Some(13), None, None)));
        assert_eq!(employees_of(r#""1,200""#), Some(ec(Some(1200), None, None)));
        assert_eq!(employees_of(r#""1.200""#), Some(ec(Some(1200), None, None)));
        assert_eq!(
            employees_of(r#""50-100""#),
            Some(ec(None, Some(50), Some(100)))
        );
        assert_eq!(
            employees_of(r#""10 to 49""#),
            Some(ec(None, Some(10), Some(49)))
        );
        assert_eq!(employees_of(r#""500+""#), Some(ec(None, Some(500), None)));
        assert_eq!(
            employees_of(r#"{"@type": "QuantitativeValue", "value": 42}"#),
            Some(ec(Some(42), None, None))
        );
        assert_eq!(
            employees_of(r#"{"value": "42", "minValue": "10", "maxValue": 99}"#),
            Some(ec(Some(42), Some(10), Some(99)))
        );
        assert_eq!(
            employees_of(r#"{"value": "11-50"}"#),
            Some(ec(None, Some(11), Some(50)))
        );
        assert_eq!(
            employees_of(r#"[{"value": 7}]"#),
            Some(ec(Some(7), None, None))
        );
        for bad in [
            "-5",
            r#""-5""#,
            r#""many""#,
            r#""100-50""#,
            r#""1 2 3""#,
            "1e12",
            "null",
            r#"{"unitText": "people"}"#,
        ] {
            assert_eq!(employees_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn addresses_countries_places_and_languages() {
        let got = org(r#"{"@type": "LocalBusiness",
            "address": [{"addressCountry": {"@type": "Country", "name": "Germany"}},
                        {"addressCountry": "AT"}, {"addressLocality": "Bern"}, "Free text"],
            "location": {"@type": "Place", "address": {"addressCountry": "CH"}},
            "areaServed": {"@type": "Place", "name": "DACH"},
            "knowsLanguage": {"@type": "Language", "alternateName": "fr"}}"#)
        .expect("an organization");
        assert_eq!(got.countries, ["Germany", "AT", "CH"]);
        assert_eq!(got.area_served, ["DACH"]);
        assert_eq!(got.languages, ["fr"]);
        let single =
            org(r#"{"@type": "Organization", "areaServed": "Europe", "knowsLanguage": "de"}"#)
                .expect("an organization");
        assert_eq!(single.area_served, ["Europe"]);
        assert_eq!(single.languages, ["de"]);
    }

    #[test]
    fn values_are_bounded() {
        let many: Vec<String> = (0..200).map(|i| format!("\"Region {i}\"")).collect();
        let block = format!(
            r#"{{"@type": "Organization", "name": "{}", "areaServed": [{}]}}"#,
            "n".repeat(1000),
            many.join(",")
        );
        let got = org(&block).expect("an organization");
        assert_eq!(got.name.map(|n| n.chars().count()), Some(NAME_MAX));
        assert_eq!(got.area_served.len(), VALUES_MAX);
    }
}
