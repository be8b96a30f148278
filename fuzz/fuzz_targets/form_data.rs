//! `applications::answers::Answers::parse`: a public, anonymous submission (`formData`,
//! `acceptedAgreements`) checked against a form definition.
//!
//! The form is fixed (one field of every type, a second email field, a required and an optional
//! agreement) unless a JSON input brings its own `fields`/`agreements`/`content`, which are then
//! checked too (`parse_fields`, `parse_agreements`, `parse_content` accept what they serialize
//! back to, unchanged).
//!
//! JSON inputs: `{"formData": …, "acceptedAgreements": …, "required": [fieldKey…], "fields": …,
//! "agreements": …, "content": …}` (every key optional), or any other JSON as `formData` with the
//! required agreement accepted. Other bytes build a submission with `arbitrary`.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use partneros_domain::applications::{answers, form as application};
use partneros_domain::applications::answers::Answers;
use partneros_domain::applications::countries::COUNTRY_CODES;
use partneros_domain::applications::form::{AgreementSection, FieldType, FormField};
use partneros_domain::shared::values::Email;
use partneros_fuzz::{object, string, value};
use serde_json::{Value, json};

const REQUIRED_ID: &str = "0190a6f2-7c1e-7b2a-9d3e-1a2b3c4d5e6f";
const OPTIONAL_ID: &str = "0190a6f2-7c1e-7b2a-9d3e-1a2b3c4d5e70";

const KEYS: &[&str] = &[
    "companyName",
    "about",
    "email",
    "website",
    "phone",
    "employees",
    "tier",
    "regions",
    "terms",
    "country",
    "billingEmail",
];
const WORDS: &[&str] = &[
    "Acme",
    "Gold",
    "Silver",
    "[x]",
    "EMEA",
    "APAC",
    "North America",
    "[\"EMEA\",\"APAC\"]",
    "[\"EMEA\",\"EMEA\"]",
    "true",
    "false",
    "DE",
    "de",
    "uk",
    "jane@example.com",
    "Jane.Doe@Bücher.de",
    "a@b",
    "https://acme.com/x",
    "HTTP://[::1]:8080",
    "http://a_b.c:99999",
    "+49 (30) 123-4567",
    "12345",
    "42",
    "-12.5e3",
    "1e400",
    "NaN",
    "inf",
    ".5",
    "5.",
    "",
    " ",
    "\u{0}",
    "line\nbreak",
    REQUIRED_ID,
    OPTIONAL_ID,
];

static FORM: LazyLock<(Vec<FormField>, Vec<AgreementSection>)> = LazyLock::new(|| {
    let fields = application::parse_fields(&json!([
        {"fieldKey": "companyName", "label": "Company", "type": "text", "required": true, "maxLength": 40},
        {"fieldKey": "about", "label": "About", "type": "textarea"},
        {"fieldKey": "email", "label": "Email", "type": "email", "required": true},
        {"fieldKey": "website", "label": "Website", "type": "url"},
        {"fieldKey": "phone", "label": "Phone", "type": "phone"},
        {"fieldKey": "employees", "label": "Employees", "type": "number"},
        {"fieldKey": "tier", "label": "Tier", "type": "select", "options": ["Gold", "Silver", "[x]"]},
        {"fieldKey": "regions", "label": "Regions", "type": "multiselect", "options": ["EMEA", "APAC", "North America"]},
        {"fieldKey": "terms", "label": "I agree", "type": "checkbox"},
        {"fieldKey": "country", "label": "Country", "type": "country"},
        {"fieldKey": "billingEmail", "label": "Billing email", "type": "email", "maxLength": 80},
    ]))
    .expect("the fixed form is valid");
    let agreements = application::parse_agreements(&json!([
        {"id": REQUIRED_ID, "title": "Partner terms", "body": "You agree."},
        {"id": OPTIONAL_ID, "title": "Marketing", "body": "News, sometimes.", "required": false},
    ]))
    .expect("the fixed agreements are valid");
    (fields, agreements)
});

fn required(fields: &mut [FormField], keys: impl IntoIterator<Item = String>) {
    for key in keys {
        if let Some(f) = fields.iter_mut().find(|f| f.field_key == key) {
            f.required = true;
        }
    }
}

/// Definitions in a JSON input replace the fixed ones when valid, and round-trip.
fn definitions(v: &Value, fields: &mut Vec<FormField>, agreements: &mut Vec<AgreementSection>) {
    if let Some(raw) = v.get("fields")
        && let Ok(parsed) = application::parse_fields(raw)
    {
        let again = application::parse_fields(&serde_json::to_value(&parsed).unwrap());
        assert_eq!(again.as_ref(), Ok(&parsed), "fields do not round-trip");
        *fields = parsed;
    }
    if let Some(raw) = v.get("agreements")
        && let Ok(parsed) = application::parse_agreements(raw)
    {
        let again = application::parse_agreements(&serde_json::to_value(&parsed).unwrap());
        assert_eq!(again.as_ref(), Ok(&parsed), "agreements do not round-trip");
        *agreements = parsed;
    }
    if let Some(raw) = v.get("content")
        && let Ok(parsed) = application::parse_content(raw)
    {
        let again = application::parse_content(&serde_json::to_value(&parsed).unwrap());
        assert_eq!(again.as_ref(), Ok(&parsed), "content does not round-trip");
        assert!(!parsed.confirmation().is_empty());
    }
}

fn check_answer(field: &FormField, v: &Value) {
    let key = &field.field_key;
    match field.field_type {
        FieldType::Multiselect => {
            let items = v
                .as_array()
                .unwrap_or_else(|| panic!("{key}: {v} is not an array"));
            assert!(!items.is_empty(), "{key}: empty multiselect stored");
            for (i, item) in items.iter().enumerate() {
                let s = item
                    .as_str()
                    .unwrap_or_else(|| panic!("{key}: {item} not a string"));
                assert!(
                    field.options.iter().any(|o| o == s),
                    "{key}: {s:?} is no option"
                );
                assert!(!items[..i].contains(item), "{key}: {s:?} repeated");
            }
        }
        FieldType::Checkbox => {
            let s = v.as_str().unwrap_or_default();
            assert!(s == "true" || s == "false", "{key}: checkbox stored as {v}");
            assert!(
                !field.required || s == "true",
                "{key}: required checkbox not checked"
            );
        }
        t => {
            let s = v
                .as_str()
                .unwrap_or_else(|| panic!("{key}: {v} is not a string"));
            assert!(!s.is_empty() && s.trim() == s, "{key}: {s:?} not trimmed");
            assert!(
                s.chars().count() <= field.max_chars(),
                "{key}: {s:?} too long"
            );
            assert!(
                !s.chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')),
                "{key}: {s:?} has control characters"
            );
            match t {
                FieldType::Email => assert!(Email::parse(s).is_ok(), "{key}: {s:?}"),
                FieldType::Url => {
                    let lower = s.to_ascii_lowercase();
                    assert!(
                        (lower.starts_with("https://") || lower.starts_with("http://"))
                            && !s.chars().any(char::is_whitespace),
                        "{key}: {s:?} is no http(s) URL"
                    );
                }
                FieldType::Phone => {
                    let digits = s.chars().filter(char::is_ascii_digit).count();
                    assert!((6..=20).contains(&digits), "{key}: {s:?}");
                    assert!(
                        s.chars()
                            .all(|c| c.is_ascii_digit() || " +-().".contains(c)),
                        "{key}: {s:?}"
                    );
                }
                FieldType::Number => {
                    assert!(s.parse::<f64>().is_ok_and(f64::is_finite), "{key}: {s:?}");
                    assert!(
                        s.bytes()
                            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)),
                        "{key}: {s:?} is no plain decimal"
                    );
                }
                FieldType::Country => {
                    assert!(
                        COUNTRY_CODES.contains(&s),
                        "{key}: {s:?} is no country code"
                    )
                }
                FieldType::Select => {
                    assert!(field.options.iter().any(|o| o == s), "{key}: {s:?}")
                }
                _ => {}
            }
        }
    }
}

fn check(
    fields: &[FormField],
    agreements: &[AgreementSection],
    form_data: &Value,
    accepted: &Value,
) {
    let result = answers::Answers::parse(fields, agreements, form_data, accepted);
    let valid: Answers = match result {
        Ok(valid) => valid,
        Err(errors) => {
            assert!(!errors.0.is_empty());
            for e in &errors.0 {
                assert!(
                    e.field == "formData"
                        || e.field.starts_with("formData.")
                        || e.field == "acceptedAgreements"
                        || e.field.starts_with("acceptedAgreements["),
                    "unexpected error path {:?}",
                    e.field
                );
            }
            if let Value::Object(data) = form_data {
                for key in data
                    .keys()
                    .filter(|k| !fields.iter().any(|f| &f.field_key == *k))
                {
                    let path = format!("formData.{key}");
                    assert!(
                        errors.0.iter().any(|e| e.field == path),
                        "{path} not reported"
                    );
                }
            }
            return;
        }
    };

    let data = form_data
        .as_object()
        .expect("accepted formData that is not an object");
    for key in data.keys() {
        assert!(
            fields.iter().any(|f| &f.field_key == key),
            "unknown key {key:?} accepted"
        );
    }
    for (key, v) in &valid.values {
        assert!(data.contains_key(key), "{key:?} stored but not sent");
        let field = fields.iter().find(|f| &f.field_key == key).unwrap();
        check_answer(field, v);
    }
    for field in fields.iter().filter(|f| f.required) {
        assert!(
            valid.values.contains_key(&field.field_key),
            "{} missing",
            field.field_key
        );
    }
    let first_email = fields
        .iter()
        .find(|f| f.field_type == FieldType::Email)
        .and_then(|f| valid.values.get(&f.field_key))
        .and_then(Value::as_str)
        .map(str::to_lowercase);
    assert_eq!(
        valid.email, first_email,
        "email is not the first email answer"
    );

    for (i, id) in valid.accepted_agreements.iter().enumerate() {
        assert!(
            agreements.iter().any(|a| a.id == *id),
            "{id} is no agreement"
        );
        assert!(
            !valid.accepted_agreements[..i].contains(id),
            "{id} repeated"
        );
    }
    for a in agreements.iter().filter(|a| a.required) {
        assert!(
            valid.accepted_agreements.contains(&a.id),
            "required {} missing",
            a.id
        );
    }

    // What was stored is a valid submission that normalizes to itself.
    let stored = Value::Object(valid.values.clone());
    let ids = Value::Array(
        valid
            .accepted_agreements
            .iter()
            .map(|id| Value::String(id.to_string()))
            .collect(),
    );
    let again = answers::Answers::parse(fields, agreements, &stored, &ids);
    assert_eq!(again.as_ref(), Ok(&valid), "validation is not idempotent");
}

fuzz_target!(|data: &[u8]| {
    let (mut fields, mut agreements) = FORM.clone();
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        let envelope = v.as_object().is_some_and(|o| {
            [
                "formData",
                "acceptedAgreements",
                "fields",
                "agreements",
                "content",
            ]
            .iter()
            .any(|k| o.contains_key(*k))
        });
        if envelope {
            definitions(&v, &mut fields, &mut agreements);
            if let Some(Value::Array(keys)) = v.get("required") {
                required(
                    &mut fields,
                    keys.iter().filter_map(Value::as_str).map(str::to_owned),
                );
            }
            let form_data = v.get("formData").cloned().unwrap_or(Value::Null);
            let accepted = v.get("acceptedAgreements").cloned().unwrap_or(Value::Null);
            check(&fields, &agreements, &form_data, &accepted);
        } else {
            check(&fields, &agreements, &v, &json!([REQUIRED_ID]));
        }
        return;
    }

    let mut u = Unstructured::new(data);
    let Ok(mask) = u.arbitrary::<u16>() else {
        return;
    };
    for (i, f) in fields.iter_mut().enumerate() {
        f.required = mask & (1 << i) != 0;
    }
    let form_data = match u.ratio(1, 16) {
        Ok(true) => value(&mut u, WORDS, 0).unwrap_or(Value::Null),
        _ => Value::Object(object(&mut u, KEYS, WORDS, 1).unwrap_or_default()),
    };
    let n = u.int_in_range(0..=4).unwrap_or(0);
    let accepted = Value::Array(
        (0..n)
            .map(|_| match u.ratio(1, 6) {
                Ok(true) => value(&mut u, WORDS, 2).unwrap_or(Value::Null),
                _ => Value::String(
                    string(
                        &mut u,
                        &[
                            REQUIRED_ID,
                            OPTIONAL_ID,
                            "0190A6F2-7C1E-7B2A-9D3E-1A2B3C4D5E6F",
                        ],
                    )
                    .unwrap_or_default(),
                ),
            })
            .collect(),
    );
    check(&fields, &agreements, &form_data, &accepted);
});
