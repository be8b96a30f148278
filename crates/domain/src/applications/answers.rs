//! The public side of an application: a prospect's answers checked against the form.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::countries::COUNTRY_CODES;
use super::form::{AgreementSection, FieldType, FormField};
use super::readers::*;
use crate::shared::error::ValidationErrors;
use crate::shared::values::Email;

/// A prospect's answers that passed every rule of the form, normalized for storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Answers {
    /// Answers by field key: trimmed strings, checkboxes as `"true"`/`"false"`, multiselects as
    /// arrays of strings, countries upper case. Blank optional answers are left out.
    pub values: Map<String, Value>,
    /// The first email field's answer, lowercased: the key of the one-live-submission rule.
    pub email: Option<String>,
    /// The accepted sections, without repeats, in the order sent.
    pub accepted_agreements: Vec<Uuid>,
}

impl Answers {
    /// Validates a public submission against the form (`POST /api/partners/applications/submit` in
    /// the OpenAPI document; the answer rules are in the README's decisions).
    ///
    /// Prospects are anonymous and the form is public, so the answers are held to the definition
    /// exactly: unknown keys are refused instead of stored, and every problem is reported at once so
    /// the hosted page can mark all the fields in one round trip.
    pub fn parse(
        fields: &[FormField],
        agreements: &[AgreementSection],
        form_data: &Value,
        accepted_agreements: &Value,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut values = Map::new();
        let mut email = None;
        match form_data {
            Value::Object(data) => {
                for key in data.keys() {
                    if !fields.iter().any(|f| f.field_key == *key) {
                        errors.push(format!("formData.{key}"), "is not a field of this form");
                    }
                }
                let mut first_email = true;
                for field in fields {
                    let path = format!("formData.{}", field.field_key);
                    match answer(field, data.get(&field.field_key)) {
                        Ok(None) if field.required => errors.push(path, "is required"),
                        Ok(None) => {}
                        Ok(Some(Value::String(s)))
                            if field.required
                                && field.field_type == FieldType::Checkbox
                                && s == "false" =>
                        {
                            errors.push(path, "must be checked")
                        }
                        Ok(Some(v)) => {
                            values.insert(field.field_key.clone(), v);
                        }
                        Err(message) => errors.push(path, message),
                    }
                    if field.field_type == FieldType::Email && first_email {
                        first_email = false;
                        email = values
                            .get(&field.field_key)
                            .and_then(Value::as_str)
                            .map(str::to_lowercase);
                    }
                }
            }
            _ => errors.push("formData", "must be an object of answers by field key"),
        }
        let accepted_agreements = accepted(agreements, accepted_agreements, &mut errors);
        errors.into_result()?;
        Ok(Self {
            values,
            email,
            accepted_agreements,
        })
    }
}

/// One field's answer, normalized; `Ok(None)` when absent or blank.
fn answer(field: &FormField, raw: Option<&Value>) -> Result<Option<Value>, String> {
    let raw = match raw {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    match field.field_type {
        FieldType::Multiselect => multiselect(field, raw),
        FieldType::Checkbox => checkbox(raw),
        t => {
            let Value::String(s) = raw else {
                return Err("must be a string".into());
            };
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            // PostgreSQL's jsonb cannot hold NUL; other control characters are never typed.
            if s.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                return Err("must not contain control characters".into());
            }
            let max = field.max_chars();
            if s.chars().count() > max {
                return Err(format!("must be at most {max} characters"));
            }
            let normalized = match t {
                FieldType::Email => Email::parse(s).map(|_| s.to_owned()).map_err(|e| e.0)?,
                FieldType::Url => answer_url(s)?,
                FieldType::Phone => answer_phone(s)?,
                FieldType::Number => answer_number(s)?,
                FieldType::Country => answer_country(s)?,
                FieldType::Select if field.options.iter().any(|o| o == s) => s.to_owned(),
                FieldType::Select => return Err("must be one of the field's options".into()),
                FieldType::Text
                | FieldType::Textarea
                | FieldType::Multiselect
                | FieldType::Checkbox => s.to_owned(),
            };
            Ok(Some(Value::String(normalized)))
        }
    }
}

fn answer_url(s: &str) -> Result<String, String> {
    let ok = !s.chars().any(char::is_whitespace)
        && strip_prefix_ignore_case(s, "https://")
            .or_else(|| strip_prefix_ignore_case(s, "http://"))
            .and_then(url_host)
            .is_some();
    if ok {
        Ok(s.to_owned())
    } else {
        Err("must be an http:// or https:// URL".into())
    }
}

/// Phone numbers are written in too many national styles to parse; this only keeps out what
/// cannot be a number at all.
fn answer_phone(s: &str) -> Result<String, String> {
    let allowed = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if allowed && (6..=20).contains(&digits) {
        Ok(s.to_owned())
    } else {
        Err("must be a phone number of 6 to 20 digits".into())
    }
}

/// A plain decimal, checked by its shape first because Rust's float parser also takes `NaN`,
/// `inf` and `infinity`, which no one means as an answer.
fn answer_number(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let digits_from = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_end = digits_from(i);
    let mut mantissa_digits = int_end - i;
    i = int_end;
    if b.get(i) == Some(&b'.') {
        let frac_end = digits_from(i + 1);
        mantissa_digits += frac_end - (i + 1);
        i = frac_end;
    }
    let mut ok = mantissa_digits > 0;
    if ok && matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits_from(i);
        ok = exp_end > i;
        i = exp_end;
    }
    if ok && i == b.len() && s.parse::<f64>().is_ok_and(f64::is_finite) {
        Ok(s.to_owned())
    } else {
        Err("must be a number such as 42 or -12.5".into())
    }
}

fn answer_country(s: &str) -> Result<String, String> {
    let code = s.to_ascii_uppercase();
    if COUNTRY_CODES.binary_search(&code.as_str()).is_ok() {
        Ok(code)
    } else {
        Err("must be an ISO 3166-1 alpha-2 country code such as DE".into())
    }
}

/// Browsers post multiselects in several ways: a JSON array, a string holding one, or a single
/// option as a plain string. All three are accepted and stored as an array.
fn multiselect(field: &FormField, raw: &Value) -> Result<Option<Value>, String> {
    const NOT_A_LIST: &str = "must be a list of the field's options";
    let items: Vec<String> = match raw {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(NOT_A_LIST))
            .collect::<Result<_, _>>()?,
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                Vec::new()
            } else if s.starts_with('[') {
                serde_json::from_str(s).unwrap_or_else(|_| vec![s.to_owned()])
            } else {
                vec![s.to_owned()]
            }
        }
        _ => return Err(NOT_A_LIST.into()),
    };
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        let item = item.trim();
        if !field.options.iter().any(|o| o == item) {
            return Err(NOT_A_LIST.into());
        }
        if out.iter().any(|v| v.as_str() == Some(item)) {
            return Err("must not repeat an option".into());
        }
        out.push(Value::String(item.to_owned()));
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn checkbox(raw: &Value) -> Result<Option<Value>, String> {
    let checked = match raw {
        Value::Bool(b) => *b,
        Value::String(s) => match s.trim() {
            "" => return Ok(None),
            "true" => true,
            "false" => false,
            _ => return Err("must be true or false".into()),
        },
        _ => return Err("must be true or false".into()),
    };
    Ok(Some(Value::String(checked.to_string())))
}

fn accepted(
    agreements: &[AgreementSection],
    raw: &Value,
    errors: &mut ValidationErrors,
) -> Vec<Uuid> {
    let Value::Array(items) = raw else {
        errors.push("acceptedAgreements", "must be an array of agreement ids");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok()) {
            Some(id) if agreements.iter().any(|a| a.id == id) => {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            Some(_) => errors.push(
                format!("acceptedAgreements[{i}]"),
                "is not an agreement of this form",
            ),
            None => errors.push(
                format!("acceptedAgreements[{i}]"),
                "must be an agreement id",
            ),
        }
    }
    for section in agreements
        .iter()
        .filter(|a| a.required && !out.contains(&a.id))
    {
        errors.push(
            "acceptedAgreements",
            format!("must include the required agreement \"{}\"", section.title),
        );
    }
    out
}
