//! `legal::parse_roles` and `legal::parse_fields`: the `roles` and `fields` multipart parts of
//! a legal template upload (JSON text from the client).
//!
//! Input: UTF-8 `roles` JSON, a newline, `fields` JSON (without a newline everything is
//! `fields`, checked against the roles `["Partner","PartnerOS"]`). Other bytes build placements
//! with `arbitrary`. Accepted roles and placements obey every documented bound and parse back
//! from their own JSON unchanged (coordinates to within serde_json's float parsing precision).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use partneros_domain::legal::model::{MAX_FIELDS, MAX_ROLES, parse_fields, parse_roles};
use partneros_domain::legal::ports::FieldPlacement;
use partneros_fuzz::{object, value};
use serde_json::Value;

const KEYS: &[&str] = &[
    "name", "type", "role", "required", "page", "x", "y", "width", "height",
];
const WORDS: &[&str] = &[
    "Partner",
    "PartnerOS",
    " Partner ",
    "partner",
    "signature",
    "initials",
    "date",
    "text",
    "number",
    "checkbox",
    "image",
    "stamp",
    "Sign here",
];

fn default_roles() -> Vec<String> {
    vec!["Partner".into(), "PartnerOS".into()]
}

fn check_roles(raw: &str) -> Option<Vec<String>> {
    let roles = parse_roles(raw).ok()?;
    assert!(
        (1..=MAX_ROLES).contains(&roles.len()),
        "{} roles",
        roles.len()
    );
    for (i, r) in roles.iter().enumerate() {
        assert!(
            !r.is_empty() && r.trim() == r && r.chars().count() <= 100,
            "role {r:?}"
        );
        assert!(
            roles[..i]
                .iter()
                .all(|o| o.to_lowercase() != r.to_lowercase()),
            "duplicate role {r:?}"
        );
    }
    let again = parse_roles(&serde_json::to_string(&roles).unwrap());
    assert_eq!(again.as_ref(), Ok(&roles), "roles do not round-trip");
    Some(roles)
}

fn check_fields(raw: &str, roles: &[String]) {
    let result = parse_fields(raw, roles);
    let fields = match result {
        Ok(fields) => fields,
        Err(errors) => {
            assert!(!errors.0.is_empty());
            assert!(
                errors.0.iter().all(|e| e.field.starts_with("fields")),
                "{errors}"
            );
            return;
        }
    };
    let items = serde_json::from_str::<Value>(raw).unwrap();
    assert_eq!(
        fields.len(),
        items.as_array().unwrap().len(),
        "an item was dropped"
    );
    assert!(fields.len() <= MAX_FIELDS);
    for f in &fields {
        assert!(!f.name.is_empty() && f.name.trim() == f.name && f.name.chars().count() <= 200);
        assert!(
            roles.contains(&f.role),
            "role {:?} not among {roles:?}",
            f.role
        );
        assert!((1..=10_000).contains(&f.page), "page {}", f.page);
        for v in [f.x, f.y, f.width, f.height] {
            assert!(v.is_finite() && (0.0..=1.0).contains(&v), "{f:?}");
        }
        assert!(f.width > 0.0 && f.height > 0.0, "{f:?}");
        assert!(
            f.x + f.width <= 1.0 + 1e-9 && f.y + f.height <= 1.0 + 1e-9,
            "{f:?}"
        );
    }
    let json = serde_json::to_string(&fields).unwrap();
    let again = parse_fields(&json, roles)
        .unwrap_or_else(|e| panic!("placements do not parse back from {json}: {e}"));
    assert!(
        again.len() == fields.len() && again.iter().zip(&fields).all(|(a, b)| same(a, b)),
        "placements do not round-trip: {fields:?} became {again:?}"
    );
}

/// serde_json parses floats with best-effort precision by default (its `float_roundtrip`
/// feature is off in this workspace), so a coordinate may come back an ULP or two off
/// (`1.4347467612885207e-95` is read as `…209e-95`). Coordinates are never negative, so the
/// distance in ULPs is the distance of the bit patterns.
fn same_float(a: f64, b: f64) -> bool {
    a.to_bits().abs_diff(b.to_bits()) <= 2
}

fn same(a: &FieldPlacement, b: &FieldPlacement) -> bool {
    (&a.name, a.field_type, &a.role, a.required, a.page)
        == (&b.name, b.field_type, &b.role, b.required, b.page)
        && [
            (a.x, b.x),
            (a.y, b.y),
            (a.width, b.width),
            (a.height, b.height),
        ]
        .into_iter()
        .all(|(a, b)| same_float(a, b))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (roles_raw, fields_raw) = text.split_once('\n').unwrap_or(("", text));
        let roles = check_roles(roles_raw).unwrap_or_else(default_roles);
        check_fields(fields_raw, &roles);
        return;
    }
    let mut u = Unstructured::new(data);
    let n = u.int_in_range(0..=6).unwrap_or(0);
    let items: Vec<Value> = (0..n)
        .map(|_| match u.ratio(1, 10) {
            Ok(true) => value(&mut u, WORDS, 1).unwrap_or(Value::Null),
            _ => Value::Object(object(&mut u, KEYS, WORDS, 2).unwrap_or_default()),
        })
        .collect();
    check_fields(&Value::Array(items).to_string(), &default_roles());
});
