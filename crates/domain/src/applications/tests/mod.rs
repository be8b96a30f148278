//! Tests of the form definition and of answer validation.

use super::answers::*;
use super::countries::COUNTRY_CODES;
use super::form::*;
use crate::shared::error::ValidationErrors;
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

fn paths(e: ValidationErrors) -> Vec<String> {
    e.0.into_iter().map(|f| f.field).collect()
}

fn form() -> Vec<FormField> {
    parse_fields(&json!([
        {"fieldKey": "name", "label": "Name", "type": "text", "required": true},
        {"fieldKey": "bio", "label": "About you", "type": "textarea"},
        {"fieldKey": "email", "label": "Email", "type": "email", "required": true},
        {"fieldKey": "altEmail", "label": "Other email", "type": "email"},
        {"fieldKey": "website", "label": "Website", "type": "url"},
        {"fieldKey": "phone", "label": "Phone", "type": "phone"},
        {"fieldKey": "employees", "label": "Employees", "type": "number"},
        {"fieldKey": "tier", "label": "Tier", "type": "select", "options": ["Gold", "Silver"]},
        {"fieldKey": "regions", "label": "Regions", "type": "multiselect", "options": ["EU", "US", "APAC"]},
        {"fieldKey": "newsletter", "label": "Newsletter", "type": "checkbox"},
        {"fieldKey": "country", "label": "Country", "type": "country"},
        {"fieldKey": "code", "label": "Code", "type": "text", "maxLength": 5},
        {"fieldKey": "essay", "label": "Essay", "type": "textarea", "maxLength": 8000}
    ]))
    .unwrap()
}

fn sections() -> Vec<AgreementSection> {
    parse_agreements(&json!([
        {"title": "Terms", "body": "You agree."},
        {"title": "Marketing", "body": "We may write.", "required": false}
    ]))
    .unwrap()
}

fn minimal() -> serde_json::Map<String, Value> {
    json!({"name": "Jane", "email": "jane@example.com"})
        .as_object()
        .cloned()
        .unwrap()
}

/// Submits the minimal valid answers plus `key: value`.
fn with(key: &str, value: Value) -> Result<Answers, ValidationErrors> {
    let mut data = minimal();
    data.insert(key.to_owned(), value);
    Answers::parse(&form(), &[], &Value::Object(data), &json!([]))
}

fn accepts(key: &str, value: Value, stored: Value) {
    let got = with(key, value.clone()).unwrap_or_else(|e| panic!("{key}={value}: {e}"));
    assert_eq!(got.values.get(key), Some(&stored), "{key}={value}");
}

fn refuses(key: &str, value: Value) {
    let err = with(key, value.clone()).expect_err(&format!("{key}={value} was accepted"));
    assert_eq!(paths(err), [format!("formData.{key}")], "{key}={value}");
}

mod answers;
mod form;
mod properties;
