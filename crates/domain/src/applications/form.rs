//! Partner applications: the form an organization publishes and the checks a prospect's
//! submission must pass (pure validation; storage and the submit use case live elsewhere).
//!
//! Definitions arrive from admins and answers from anonymous prospects, both as loose JSON, so
//! everything is read from a `serde_json::Value` by hand: that way every problem is reported at
//! once with its exact path (`fields[3].fieldKey`, `formData.email`) instead of serde's first
//! error.

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::values::{Email, InvalidValue};

/// The confirmation shown after submitting when the form has none.
pub const DEFAULT_CONFIRMATION: &str =
    "Thank you! Your application has been received. We will be in touch soon.";

/// Beyond this a form stops being a form a prospect will finish.
pub const MAX_FIELDS: usize = 100;
pub const MAX_AGREEMENTS: usize = 20;
pub const MAX_OPTIONS: usize = 200;
/// The highest `maxLength` an admin may set; keeps a submission well under the 64 KiB body limit.
pub const MAX_LENGTH_LIMIT: u32 = 20_000;
/// Answer length when the field sets no `maxLength` (SPEC §5).
pub const DEFAULT_MAX_LENGTH: usize = 500;
/// Textareas hold prose, so they get a larger default.
pub const DEFAULT_TEXTAREA_MAX_LENGTH: usize = 5_000;

const FIELD_PROPERTIES: [&str; 8] = [
    "fieldKey",
    "label",
    "type",
    "required",
    "options",
    "maxLength",
    "placeholder",
    "helpText",
];
const FIELD_TYPE_EXPECTED: &str = "must be one of text, textarea, email, url, phone, number, select, \
     multiselect, checkbox, country";
const AGREEMENT_PROPERTIES: [&str; 4] = ["id", "title", "body", "required"];
const CONTENT_PROPERTIES: [&str; 4] = ["title", "description", "confirmationMessage", "bannerUrl"];

/// How a field is rendered and which answers it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Textarea,
    Email,
    Url,
    Phone,
    Number,
    Select,
    Multiselect,
    Checkbox,
    Country,
}

impl FieldType {
    pub const ALL: [FieldType; 10] = [
        Self::Text,
        Self::Textarea,
        Self::Email,
        Self::Url,
        Self::Phone,
        Self::Number,
        Self::Select,
        Self::Multiselect,
        Self::Checkbox,
        Self::Country,
    ];

    /// The name used in JSON, in the database and by the hosted form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Textarea => "textarea",
            Self::Email => "email",
            Self::Url => "url",
            Self::Phone => "phone",
            Self::Number => "number",
            Self::Select => "select",
            Self::Multiselect => "multiselect",
            Self::Checkbox => "checkbox",
            Self::Country => "country",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| InvalidValue(FIELD_TYPE_EXPECTED.into()))
    }

    /// Only choice fields have a list to choose from; options elsewhere would be silently
    /// ignored by the hosted form, so they are refused rather than stored.
    pub fn has_options(self) -> bool {
        matches!(self, Self::Select | Self::Multiselect)
    }

    /// Only free-text answers have a length worth limiting; the others are bounded by their
    /// type (an option, a country code, true/false).
    pub fn takes_max_length(self) -> bool {
        matches!(
            self,
            Self::Text | Self::Textarea | Self::Email | Self::Url | Self::Phone
        )
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One question of the form. Built only by [`parse_fields`], so a stored form is always valid;
/// serializes back to the same camelCase shape it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FormField {
    pub field_key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub required: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
}

impl FormField {
    /// The longest answer accepted, in characters: the admin's `maxLength`, else the SPEC's
    /// default, so the hosted form and the server agree on one number.
    pub fn max_chars(&self) -> usize {
        match (self.max_length, self.field_type) {
            (Some(n), _) => n as usize,
            (None, FieldType::Textarea) => DEFAULT_TEXTAREA_MAX_LENGTH,
            (None, _) => DEFAULT_MAX_LENGTH,
        }
    }
}

/// A block of terms a prospect accepts. The id is what a submission records, so it must survive
/// edits of the wording.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgreementSection {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub required: bool,
}

/// The texts and banner around the form; every part is optional so a bare form still works.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationContent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner_url: Option<String>,
}

impl ApplicationContent {
    /// What the prospect sees after submitting; never empty, so the response always says
    /// something.
    pub fn confirmation(&self) -> &str {
        self.confirmation_message
            .as_deref()
            .unwrap_or(DEFAULT_CONFIRMATION)
    }
}

/// Where an application is in its life; only a published one is reachable by the public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationStatus {
    Draft,
    Published,
    Closed,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 3] = [Self::Draft, Self::Published, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| InvalidValue("must be one of draft, published, closed".into()))
    }

    /// Drafts and closed forms answer 404 publicly, as if they did not exist, so a slug does not
    /// reveal unpublished work.
    pub fn is_public(self) -> bool {
        matches!(self, Self::Published)
    }
}

impl fmt::Display for ApplicationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The public address of a form: `[a-z0-9-]{3,64}`, so it can sit in a URL path unescaped.
pub fn parse_slug(raw: &str) -> Result<String, InvalidValue> {
    let s = raw.trim();
    let ok = (3..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(InvalidValue(
            "must be 3 to 64 characters of a-z, 0-9 and hyphens".into(),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Definition (admin side)

/// Validates the form definition sent by an admin: a JSON array of
/// `{fieldKey, label, type, required?, options?, maxLength?, placeholder?, helpText?}`
/// (camelCase keys; unknown keys refused).
///
/// Unknown keys are refused rather than dropped because a misspelt `requried` would otherwise
/// silently publish an optional field. `options` may be `null` or `[]` on non-choice fields,
/// since form builders commonly send an empty list with every field.
pub fn parse_fields(raw: &Value) -> Result<Vec<FormField>, ValidationErrors> {
    let Value::Array(items) = raw else {
        return Err(ValidationErrors::single(
            "fields",
            "must be an array of form fields",
        ));
    };
    // A draft may have no fields yet; publishing one is refused by the use case.
    if items.len() > MAX_FIELDS {
        return Err(ValidationErrors::single(
            "fields",
            format!("must have at most {MAX_FIELDS} fields"),
        ));
    }
    let mut errors = ValidationErrors::new();
    let mut keys = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(field) = parse_field(item, &format!("fields[{i}]"), &mut keys, &mut errors) {
            out.push(field);
        }
    }
    errors.into_result().map(|()| out)
}

fn parse_field<'a>(
    item: &'a Value,
    prefix: &str,
    keys: &mut HashSet<&'a str>,
    errors: &mut ValidationErrors,
) -> Option<FormField> {
    let Value::Object(obj) = item else {
        errors.push(prefix, "must be an object");
        return None;
    };
    let before = errors.0.len();
    refuse_unknown(
        obj,
        &FIELD_PROPERTIES,
        prefix,
        "is not a form field property",
        errors,
    );
    let at = |key: &str| format!("{prefix}.{key}");

    let field_key = match obj.get("fieldKey") {
        Some(Value::String(k)) if is_field_key(k) => {
            if keys.insert(k.as_str()) {
                Some(k.clone())
            } else {
                errors.push(at("fieldKey"), "is used by another field");
                None
            }
        }
        _ => {
            errors.push(
                at("fieldKey"),
                "must be a letter followed by up to 63 letters, digits or underscores",
            );
            None
        }
    };
    let label = required_text(obj.get("label"), 200, false, &at("label"), errors);
    let field_type = match obj
        .get("type")
        .and_then(Value::as_str)
        .map(FieldType::parse)
    {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            errors.push(at("type"), e.0);
            None
        }
        None => {
            errors.push(at("type"), FIELD_TYPE_EXPECTED);
            None
        }
    };
    let required = flag(obj.get("required"), false, &at("required"), errors);
    let options = match (field_type, obj.get("options")) {
        (Some(t), v) if t.has_options() => parse_options(v, &at("options"), errors),
        (Some(_), None | Some(Value::Null)) => Some(Vec::new()),
        (Some(_), Some(Value::Array(a))) if a.is_empty() => Some(Vec::new()),
        (Some(_), Some(_)) => {
            errors.push(
                at("options"),
                "is only allowed for select and multiselect fields",
            );
            None
        }
        (None, _) => None,
    };
    let max_length = match obj.get("maxLength") {
        None | Some(Value::Null) => Some(None),
        Some(v) => match (field_type, v.as_u64()) {
            (Some(t), _) if !t.takes_max_length() => {
                errors.push(
                    at("maxLength"),
                    "is only allowed for text, textarea, email, url and phone fields",
                );
                None
            }
            (_, Some(n)) if (1..=u64::from(MAX_LENGTH_LIMIT)).contains(&n) => {
                Some(u32::try_from(n).ok())
            }
            _ => {
                errors.push(
                    at("maxLength"),
                    format!("must be a whole number from 1 to {MAX_LENGTH_LIMIT}"),
                );
                None
            }
        },
    };
    let placeholder = optional_text(
        obj.get("placeholder"),
        500,
        false,
        &at("placeholder"),
        errors,
    );
    let help_text = optional_text(obj.get("helpText"), 500, true, &at("helpText"), errors);

    if errors.0.len() != before {
        return None;
    }
    Some(FormField {
        field_key: field_key?,
        label: label?,
        field_type: field_type?,
        required: required?,
        options: options?,
        max_length: max_length?,
        placeholder: placeholder?,
        help_text: help_text?,
    })
}

/// Field keys become JSON keys of every submission and column names in exports, so they are
/// kept to identifier characters.
fn is_field_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && key.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_options(
    raw: Option<&Value>,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<Vec<String>> {
    let Some(Value::Array(items)) = raw else {
        errors.push(
            path,
            "must be a list of choices for select and multiselect fields",
        );
        return None;
    };
    if items.is_empty() || items.len() > MAX_OPTIONS {
        errors.push(path, format!("must have 1 to {MAX_OPTIONS} choices"));
        return None;
    }
    let before = errors.0.len();
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (j, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{j}]");
        let Some(option) = required_text(Some(item), 200, false, &item_path, errors) else {
            continue;
        };
        // Answers are matched exactly, so two equal choices could never be told apart.
        if out.contains(&option) {
            errors.push(item_path, "is a duplicate");
        } else {
            out.push(option);
        }
    }
    (errors.0.len() == before).then_some(out)
}

/// Validates the agreement sections: a JSON array of `{id?, title, body, required?}`.
///
/// An absent id gets a new time-ordered UUID (v7); a present id is kept as is, so that when an
/// admin edits an application (the editor echoes the ids it received) the sections keep the ids
/// that earlier submissions recorded. `required` defaults to true because an agreement is
/// usually there to be agreed to.
pub fn parse_agreements(raw: &Value) -> Result<Vec<AgreementSection>, ValidationErrors> {
    let Value::Array(items) = raw else {
        return Err(ValidationErrors::single(
            "agreements",
            "must be an array of agreement sections",
        ));
    };
    if items.len() > MAX_AGREEMENTS {
        return Err(ValidationErrors::single(
            "agreements",
            format!("must have at most {MAX_AGREEMENTS} sections"),
        ));
    }
    let mut errors = ValidationErrors::new();
    let mut ids = HashSet::new();
    let mut parsed = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("agreements[{i}]");
        let Value::Object(obj) = item else {
            errors.push(prefix, "must be an object");
            continue;
        };
        let before = errors.0.len();
        refuse_unknown(
            obj,
            &AGREEMENT_PROPERTIES,
            &prefix,
            "is not an agreement property",
            &mut errors,
        );
        let id = match obj.get("id") {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => match Uuid::parse_str(s.trim()) {
                Ok(id) if ids.insert(id) => Some(Some(id)),
                Ok(_) => {
                    errors.push(format!("{prefix}.id"), "is used by another section");
                    None
                }
                Err(_) => {
                    errors.push(format!("{prefix}.id"), "must be a UUID");
                    None
                }
            },
            Some(_) => {
                errors.push(format!("{prefix}.id"), "must be a UUID");
                None
            }
        };
        let title = required_text(
            obj.get("title"),
            200,
            false,
            &format!("{prefix}.title"),
            &mut errors,
        );
        let body = required_text(
            obj.get("body"),
            20_000,
            true,
            &format!("{prefix}.body"),
            &mut errors,
        );
        let required = flag(
            obj.get("required"),
            true,
            &format!("{prefix}.required"),
            &mut errors,
        );
        if errors.0.len() == before
            && let (Some(id), Some(title), Some(body), Some(required)) = (id, title, body, required)
        {
            parsed.push((id, title, body, required));
        }
    }
    errors.into_result()?;
    Ok(parsed
        .into_iter()
        .map(|(id, title, body, required)| AgreementSection {
            id: id.unwrap_or_else(|| fresh_id(&mut ids)),
            title,
            body,
            required,
        })
        .collect())
}

/// A v7 id distinct from every id already in the form; ids are assigned after all given ids
/// are known, so a new section can never take the id of a later one.
fn fresh_id(taken: &mut HashSet<Uuid>) -> Uuid {
    loop {
        let id = Uuid::now_v7();
        if taken.insert(id) {
            return id;
        }
    }
}

/// Validates the texts around the form: `{title?, description?, confirmationMessage?,
/// bannerUrl?}`. `null` stands for "no content" since that is what a cleared editor sends.
///
/// The banner is shown on a public page, so it must come over https; plain http is allowed
/// only for the local development store.
pub fn parse_content(raw: &Value) -> Result<ApplicationContent, ValidationErrors> {
    let obj = match raw {
        Value::Null => return Ok(ApplicationContent::default()),
        Value::Object(obj) => obj,
        _ => {
            return Err(ValidationErrors::single(
                "content",
                "must be an object with title, description, confirmationMessage and bannerUrl",
            ));
        }
    };
    let mut errors = ValidationErrors::new();
    refuse_unknown(
        obj,
        &CONTENT_PROPERTIES,
        "content",
        "is not a content property",
        &mut errors,
    );
    let title = optional_text(obj.get("title"), 200, false, "content.title", &mut errors);
    let description = optional_text(
        obj.get("description"),
        5_000,
        true,
        "content.description",
        &mut errors,
    );
    let confirmation_message = optional_text(
        obj.get("confirmationMessage"),
        5_000,
        true,
        "content.confirmationMessage",
        &mut errors,
    );
    let banner_url = match optional_text(
        obj.get("bannerUrl"),
        2_048,
        false,
        "content.bannerUrl",
        &mut errors,
    ) {
        Some(Some(url)) if !is_banner_url(&url) => {
            errors.push(
                "content.bannerUrl",
                "must be an https:// URL (http:// only for localhost)",
            );
            None
        }
        other => other,
    };
    errors.into_result()?;
    Ok(ApplicationContent {
        title: title.flatten(),
        description: description.flatten(),
        confirmation_message: confirmation_message.flatten(),
        banner_url: banner_url.flatten(),
    })
}

fn is_banner_url(url: &str) -> bool {
    if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
        return url_host(rest).is_some();
    }
    if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
        return url_host(rest).is_some_and(|h| h == "localhost" || h == "127.0.0.1");
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Submission (public side)

/// A submission that passed every rule, normalized for storage.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSubmission {
    /// Answers by field key: trimmed strings, checkboxes as `"true"`/`"false"`, multiselects as
    /// arrays of strings, countries upper case. Blank optional answers are left out.
    pub values: Map<String, Value>,
    /// The first email field's answer, lowercased: the key of the one-live-submission rule.
    pub email: Option<String>,
    /// The accepted sections, without repeats, in the order sent.
    pub accepted_agreements: Vec<Uuid>,
}

/// Validates a public submission against the form (SPEC §5, Submit).
///
/// Prospects are anonymous and the form is public, so the answers are held to the definition
/// exactly: unknown keys are refused instead of stored, and every problem is reported at once so
/// the hosted page can mark all the fields in one round trip.
pub fn validate_submission(
    fields: &[FormField],
    agreements: &[AgreementSection],
    form_data: &Value,
    accepted_agreements: &Value,
) -> Result<ValidSubmission, ValidationErrors> {
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
    Ok(ValidSubmission {
        values,
        email,
        accepted_agreements,
    })
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

// ---------------------------------------------------------------------------------------------
// Shared readers

fn refuse_unknown(
    obj: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
    message: &str,
    errors: &mut ValidationErrors,
) {
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        errors.push(format!("{prefix}.{key}"), message);
    }
}

/// A boolean property; absent or `null` take the default.
fn flag(
    raw: Option<&Value>,
    default: bool,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<bool> {
    match raw {
        None | Some(Value::Null) => Some(default),
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(path, "must be true or false");
            None
        }
    }
}

/// A trimmed string property: `Some(None)` when absent, `null` or blank, `None` after an error.
/// Newlines and tabs are kept only where the text is prose (`multiline`).
fn optional_text(
    raw: Option<&Value>,
    max: usize,
    multiline: bool,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<Option<String>> {
    let s = match raw {
        None | Some(Value::Null) => return Some(None),
        Some(Value::String(s)) => s.trim(),
        Some(_) => {
            errors.push(path, "must be a string");
            return None;
        }
    };
    if s.is_empty() {
        return Some(None);
    }
    if s.chars().count() > max {
        errors.push(path, format!("must be at most {max} characters"));
        return None;
    }
    if s.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        errors.push(path, "must not contain control characters");
        return None;
    }
    Some(Some(s.to_owned()))
}

fn required_text(
    raw: Option<&Value>,
    max: usize,
    multiline: bool,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<String> {
    match optional_text(raw, max, multiline, path, errors) {
        Some(Some(s)) => Some(s),
        Some(None) => {
            errors.push(path, format!("must be 1 to {max} characters"));
            None
        }
        None => None,
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

/// The host of what follows `scheme://`, lowercased, or `None` when there is none. Deliberately
/// small: no credentials (they only serve to disguise the real host), an optional numeric port,
/// and host characters that can appear in a DNS name, an IPv4 or a bracketed IPv6 address.
fn url_host(rest: &str) -> Option<String> {
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let addr = &authority[1..end];
        if addr.is_empty()
            || !addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return None;
        }
        let after = &authority[end + 1..];
        let port = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':')?)
        };
        (&authority[..=end], port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let plain_host = host.starts_with('[')
        || (!host.is_empty()
            && !host.starts_with(['.', '-'])
            && host
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_')));
    plain_host.then(|| host.to_lowercase())
}

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted for binary search.
pub const COUNTRY_CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

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
    fn with(key: &str, value: Value) -> Result<ValidSubmission, ValidationErrors> {
        let mut data = minimal();
        data.insert(key.to_owned(), value);
        validate_submission(&form(), &[], &Value::Object(data), &json!([]))
    }

    fn accepts(key: &str, value: Value, stored: Value) {
        let got = with(key, value.clone()).unwrap_or_else(|e| panic!("{key}={value}: {e}"));
        assert_eq!(got.values.get(key), Some(&stored), "{key}={value}");
    }

    fn refuses(key: &str, value: Value) {
        let err = with(key, value.clone()).expect_err(&format!("{key}={value} was accepted"));
        assert_eq!(paths(err), [format!("formData.{key}")], "{key}={value}");
    }

    // ---- field types -------------------------------------------------------------------------

    #[test]
    fn field_type_names_round_trip() {
        for t in FieldType::ALL {
            assert_eq!(FieldType::parse(t.as_str()), Ok(t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        assert!(FieldType::parse("Text").is_err());
        assert!(FieldType::parse("date").is_err());
        for s in ApplicationStatus::ALL {
            assert_eq!(ApplicationStatus::parse(s.as_str()), Ok(s));
        }
        assert!(ApplicationStatus::parse("archived").is_err());
        assert!(ApplicationStatus::Published.is_public() && !ApplicationStatus::Closed.is_public());
    }

    #[test]
    fn text_and_textarea_are_trimmed() {
        accepts("name", json!("  Jane Doe "), json!("Jane Doe"));
        accepts(
            "bio",
            json!("line one\nline two"),
            json!("line one\nline two"),
        );
        refuses("name", json!(42));
        refuses("bio", json!("nul \u{0} byte"));
    }

    #[test]
    fn email_fields() {
        accepts(
            "altEmail",
            json!(" Jane@Example.com "),
            json!("Jane@Example.com"),
        );
        for bad in ["jane", "jane@", "a b@c.com", "jane@localhost"] {
            refuses("altEmail", json!(bad));
        }
    }

    #[test]
    fn url_fields() {
        for ok in [
            "https://acme.com",
            "http://acme.com/path?q=1#x",
            "HTTPS://Acme.com:8443/",
            "https://[::1]:80/x",
            "https://bücher.de",
        ] {
            accepts("website", json!(ok), json!(ok));
        }
        for bad in [
            "acme.com",
            "ftp://acme.com",
            "https://",
            "https:///path",
            "https://acme .com",
            "https://a.com/x y",
            "https://user@acme.com",
            "https://acme.com:port",
            "javascript:alert(1)",
        ] {
            refuses("website", json!(bad));
        }
    }

    #[test]
    fn phone_fields() {
        for ok in [
            "+1 (555) 123-4567",
            "030.1234567",
            "123456",
            "+49 30 12345678901234",
        ] {
            accepts("phone", json!(ok), json!(ok));
        }
        for bad in [
            "12345",
            "call me",
            "+1 555 123 4567 ext 2",
            "123456789012345678901",
        ] {
            refuses("phone", json!(bad));
        }
    }

    #[test]
    fn number_fields() {
        for ok in ["42", "-12.5", "+3", "1e3", "2.5E-4", ".5", "7.", "0"] {
            accepts("employees", json!(ok), json!(ok));
        }
        for bad in [
            "NaN",
            "inf",
            "-infinity",
            "0x10",
            "1e999",
            "1,000",
            "1e",
            "-",
            ".",
            "e5",
            "12 apples",
        ] {
            refuses("employees", json!(bad));
        }
        refuses("employees", json!(42));
    }

    #[test]
    fn select_fields_take_one_exact_option() {
        accepts("tier", json!(" Gold "), json!("Gold"));
        refuses("tier", json!("gold"));
        refuses("tier", json!("Bronze"));
        refuses("tier", json!(["Gold"]));
    }

    #[test]
    fn multiselect_accepts_both_encodings() {
        accepts("regions", json!(["EU", "US"]), json!(["EU", "US"]));
        accepts("regions", json!("[\"APAC\",\"EU\"]"), json!(["APAC", "EU"]));
        accepts("regions", json!("EU"), json!(["EU"]));
        accepts("regions", json!([" US "]), json!(["US"]));
        for bad in [
            json!(["EU", "EU"]),
            json!("[\"EU\",\"EU\"]"),
            json!(["Mars"]),
            json!(["EU", 3]),
            json!("[\"EU\""),
            json!(7),
            json!({"EU": true}),
        ] {
            refuses("regions", bad);
        }
        let got = with("regions", json!([])).unwrap();
        assert!(!got.values.contains_key("regions"));
    }

    #[test]
    fn checkbox_forms() {
        accepts("newsletter", json!("true"), json!("true"));
        accepts("newsletter", json!(" false "), json!("false"));
        accepts("newsletter", json!(true), json!("true"));
        accepts("newsletter", json!(false), json!("false"));
        for bad in [json!("yes"), json!("TRUE"), json!(1), json!("on")] {
            refuses("newsletter", bad);
        }
    }

    #[test]
    fn required_checkbox_must_be_true() {
        let fields = parse_fields(&json!([
            {"fieldKey": "consent", "label": "I agree", "type": "checkbox", "required": true}
        ]))
        .unwrap();
        let run = |v: Value| validate_submission(&fields, &[], &json!({"consent": v}), &json!([]));
        assert!(run(json!("true")).is_ok());
        assert!(run(json!(true)).is_ok());
        for bad in [json!("false"), json!(false), json!(""), Value::Null] {
            assert_eq!(paths(run(bad).unwrap_err()), ["formData.consent"]);
        }
    }

    #[test]
    fn countries_are_normalized_to_upper_case() {
        accepts("country", json!("DE"), json!("DE"));
        accepts("country", json!(" us "), json!("US"));
        accepts("country", json!("gB"), json!("GB"));
        for bad in ["XK", "UK", "EU", "DEU", "Germany", "D", "ÄB"] {
            refuses("country", json!(bad));
        }
    }

    #[test]
    fn country_list_is_complete_and_sorted() {
        assert_eq!(COUNTRY_CODES.len(), 249);
        assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(
            COUNTRY_CODES
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    // ---- presence, lengths, keys -------------------------------------------------------------

    #[test]
    fn optional_fields_may_be_absent_blank_or_null() {
        let got = validate_submission(
            &form(),
            &[],
            &json!({"name": "Jane", "email": "jane@example.com", "bio": "   ", "phone": null}),
            &json!([]),
        )
        .unwrap();
        assert_eq!(
            got.values,
            json!({"name": "Jane", "email": "jane@example.com"})
                .as_object()
                .cloned()
                .unwrap()
        );
    }

    #[test]
    fn required_fields_must_be_present_and_not_blank() {
        let err = validate_submission(
            &form(),
            &[],
            &json!({"name": "  ", "email": null}),
            &json!([]),
        )
        .unwrap_err();
        assert_eq!(paths(err), ["formData.name", "formData.email"]);
        let err = validate_submission(&form(), &[], &json!({}), &json!([])).unwrap_err();
        assert_eq!(paths(err), ["formData.name", "formData.email"]);
    }

    #[test]
    fn max_lengths_count_characters() {
        accepts("name", json!("é".repeat(500)), json!("é".repeat(500)));
        refuses("name", json!("x".repeat(501)));
        accepts("bio", json!("x".repeat(5000)), json!("x".repeat(5000)));
        refuses("bio", json!("x".repeat(5001)));
        accepts("code", json!(" abcde "), json!("abcde"));
        refuses("code", json!("abcdef"));
        accepts("essay", json!("x".repeat(8000)), json!("x".repeat(8000)));
        refuses("essay", json!("x".repeat(8001)));
    }

    #[test]
    fn unknown_keys_are_refused_and_everything_is_reported() {
        let err = validate_submission(
            &form(),
            &sections(),
            &json!({"name": "", "email": "nope", "isAdmin": "true", "tier": "Bronze"}),
            &json!([]),
        )
        .unwrap_err();
        assert_eq!(
            paths(err),
            [
                "formData.isAdmin",
                "formData.name",
                "formData.email",
                "formData.tier",
                "acceptedAgreements"
            ]
        );
    }

    #[test]
    fn form_data_must_be_an_object() {
        for bad in [json!([]), json!("name=Jane"), Value::Null] {
            let err = validate_submission(&form(), &[], &bad, &json!([])).unwrap_err();
            assert_eq!(paths(err), ["formData"]);
        }
    }

    // ---- email of the submission ----------------------------------------------------------

    #[test]
    fn the_first_email_field_in_form_order_is_the_submission_email() {
        let got = with("altEmail", json!("Other@Example.com")).unwrap();
        assert_eq!(got.email.as_deref(), Some("jane@example.com"));

        let fields = parse_fields(&json!([
            {"fieldKey": "work", "label": "Work email", "type": "email"},
            {"fieldKey": "home", "label": "Home email", "type": "email"}
        ]))
        .unwrap();
        let run = |data: Value| validate_submission(&fields, &[], &data, &json!([])).unwrap();
        assert_eq!(
            run(json!({"home": "b@x.io", "work": " A.B@X.IO "}))
                .email
                .as_deref(),
            Some("a.b@x.io")
        );
        // The first email field decides even when it is left empty.
        assert_eq!(run(json!({"home": "b@x.io"})).email, None);
        let no_email =
            parse_fields(&json!([{"fieldKey": "n", "label": "N", "type": "text"}])).unwrap();
        assert_eq!(
            validate_submission(&no_email, &[], &json!({"n": "x"}), &json!([]))
                .unwrap()
                .email,
            None
        );
    }

    // ---- agreements in a submission ---------------------------------------------------------

    #[test]
    fn accepted_agreements_rules() {
        let s = sections();
        let (terms, marketing) = (s[0].id.to_string(), s[1].id.to_string());
        let data = Value::Object(minimal());
        let run = |accepted: Value| validate_submission(&form(), &s, &data, &accepted);

        assert_eq!(run(json!([terms])).unwrap().accepted_agreements, [s[0].id]);
        assert_eq!(
            run(json!([marketing, terms, terms]))
                .unwrap()
                .accepted_agreements,
            [s[1].id, s[0].id]
        );

        let err = run(json!([marketing])).unwrap_err();
        assert_eq!(paths(err.clone()), ["acceptedAgreements"]);
        assert!(err.0[0].message.contains("\"Terms\""), "{err}");

        let unknown = Uuid::now_v7().to_string();
        assert_eq!(
            paths(run(json!([terms, unknown, "not-a-uuid", 5])).unwrap_err()),
            [
                "acceptedAgreements[1]",
                "acceptedAgreements[2]",
                "acceptedAgreements[3]"
            ]
        );
        for bad in [json!(terms), json!({"0": terms}), Value::Null] {
            assert_eq!(paths(run(bad).unwrap_err()), ["acceptedAgreements"]);
        }
        assert!(validate_submission(&form(), &[], &Value::Object(minimal()), &json!([])).is_ok());
    }

    // ---- definition: fields ---------------------------------------------------------------

    #[test]
    fn a_field_definition_parses_with_defaults() {
        let f = &parse_fields(
            &json!([{"fieldKey": "company_Name2", "label": "  Company ", "type": "text"}]),
        )
        .unwrap()[0];
        assert_eq!(f.field_key, "company_Name2");
        assert_eq!(f.label, "Company");
        assert_eq!(f.field_type, FieldType::Text);
        assert!(!f.required && f.options.is_empty());
        assert_eq!(
            (
                f.max_length,
                f.placeholder.as_deref(),
                f.help_text.as_deref()
            ),
            (None, None, None)
        );
        assert_eq!(f.max_chars(), 500);
    }

    #[test]
    fn field_definitions_serialize_back_to_their_wire_shape() {
        let fields = form();
        let wire = serde_json::to_value(&fields).unwrap();
        assert_eq!(
            wire[7],
            json!({"fieldKey": "tier", "label": "Tier", "type": "select", "required": false, "options": ["Gold", "Silver"]})
        );
        assert_eq!(parse_fields(&wire).unwrap(), fields);
    }

    fn field_error(field: Value) -> Vec<String> {
        paths(parse_fields(&json!([field])).unwrap_err())
    }

    #[test]
    fn field_keys_must_be_identifiers() {
        let long = format!("a{}", "b".repeat(63));
        assert!(parse_fields(&json!([{"fieldKey": long, "label": "L", "type": "text"}])).is_ok());
        for bad in [
            json!(""),
            json!("1abc"),
            json!("_abc"),
            json!("a-b"),
            json!("a b"),
            json!("é"),
            json!(format!("{long}c")),
            json!(3),
            Value::Null,
        ] {
            assert_eq!(
                field_error(json!({"fieldKey": bad, "label": "L", "type": "text"})),
                ["fields[0].fieldKey"],
                "{bad}"
            );
        }
    }

    #[test]
    fn field_keys_are_unique_case_sensitively() {
        let err = parse_fields(&json!([
            {"fieldKey": "email", "label": "A", "type": "email"},
            {"fieldKey": "Email", "label": "B", "type": "email"},
            {"fieldKey": "email", "label": "C", "type": "text"}
        ]))
        .unwrap_err();
        assert_eq!(paths(err), ["fields[2].fieldKey"]);
    }

    #[test]
    fn every_field_rule_reports_its_path() {
        let cases = [
            (
                json!({"fieldKey": "k", "label": "", "type": "text"}),
                "fields[0].label",
            ),
            (
                json!({"fieldKey": "k", "label": "x".repeat(201), "type": "text"}),
                "fields[0].label",
            ),
            (
                json!({"fieldKey": "k", "label": "a\nb", "type": "text"}),
                "fields[0].label",
            ),
            (json!({"fieldKey": "k", "type": "text"}), "fields[0].label"),
            (
                json!({"fieldKey": "k", "label": "L", "type": "date"}),
                "fields[0].type",
            ),
            (json!({"fieldKey": "k", "label": "L"}), "fields[0].type"),
            (
                json!({"fieldKey": "k", "label": "L", "type": "text", "required": "yes"}),
                "fields[0].required",
            ),
            (
                json!({"fieldKey": "k", "label": "L", "type": "text", "placeholder": "x".repeat(501)}),
                "fields[0].placeholder",
            ),
            (
                json!({"fieldKey": "k", "label": "L", "type": "text", "helpText": 5}),
                "fields[0].helpText",
            ),
            (
                json!({"fieldKey": "k", "label": "L", "type": "text", "hidden": true}),
                "fields[0].hidden",
            ),
            (
                json!({"fieldKey": "k", "label": "L", "type": "text", "field_key": "k"}),
                "fields[0].field_key",
            ),
            (json!("text"), "fields[0]"),
        ];
        for (field, path) in cases {
            assert_eq!(field_error(field.clone()), [path], "{field}");
        }
    }

    #[test]
    fn options_rules() {
        let ok = parse_fields(&json!([
            {"fieldKey": "s", "label": "S", "type": "select", "options": [" A ", "B"]},
            {"fieldKey": "t", "label": "T", "type": "text", "options": []},
            {"fieldKey": "u", "label": "U", "type": "text", "options": null}
        ]))
        .unwrap();
        assert_eq!(ok[0].options, ["A", "B"]);
        assert!(ok[1].options.is_empty());

        let many: Vec<String> = (0..=200).map(|i| format!("o{i}")).collect();
        let cases = [
            (
                json!({"fieldKey": "s", "label": "S", "type": "select"}),
                "fields[0].options",
            ),
            (
                json!({"fieldKey": "s", "label": "S", "type": "multiselect", "options": []}),
                "fields[0].options",
            ),
            (
                json!({"fieldKey": "s", "label": "S", "type": "select", "options": "A,B"}),
                "fields[0].options",
            ),
            (
                json!({"fieldKey": "s", "label": "S", "type": "select", "options": many}),
                "fields[0].options",
            ),
            (
                json!({"fieldKey": "s", "label": "S", "type": "select", "options": ["A", " A"]}),
                "fields[0].options[1]",
            ),
            (
                json!({"fieldKey": "s", "label": "S", "type": "select", "options": ["A", ""]}),
                "fields[0].options[1]",
            ),
            (
                json!({"fieldKey": "s", "label": "S", "type": "select", "options": ["A", 2]}),
                "fields[0].options[1]",
            ),
            (
                json!({"fieldKey": "s", "label": "S", "type": "select", "options": ["x".repeat(201)]}),
                "fields[0].options[0]",
            ),
            (
                json!({"fieldKey": "s", "label": "S", "type": "text", "options": ["A"]}),
                "fields[0].options",
            ),
            (
                json!({"fieldKey": "s", "label": "S", "type": "checkbox", "options": ["A"]}),
                "fields[0].options",
            ),
        ];
        for (field, path) in cases {
            assert_eq!(field_error(field.clone()), [path], "{field}");
        }
        let exactly_200: Vec<String> = (0..200).map(|i| format!("o{i}")).collect();
        assert!(parse_fields(&json!([{"fieldKey": "s", "label": "S", "type": "multiselect", "options": exactly_200}])).is_ok());
    }

    #[test]
    fn max_length_rules() {
        for t in ["text", "textarea", "email", "url", "phone"] {
            for n in [1, 20_000] {
                let f = parse_fields(
                    &json!([{"fieldKey": "k", "label": "L", "type": t, "maxLength": n}]),
                )
                .unwrap();
                assert_eq!(f[0].max_chars(), n as usize);
            }
        }
        for t in ["number", "select", "multiselect", "checkbox", "country"] {
            let mut field = json!({"fieldKey": "k", "label": "L", "type": t, "maxLength": 10});
            if t.ends_with("select") {
                field["options"] = json!(["A"]);
            }
            assert_eq!(field_error(field), ["fields[0].maxLength"], "{t}");
        }
        for bad in [json!(0), json!(20_001), json!(-5), json!(10.5), json!("10")] {
            assert_eq!(
                field_error(
                    json!({"fieldKey": "k", "label": "L", "type": "text", "maxLength": bad})
                ),
                ["fields[0].maxLength"],
                "{bad}"
            );
        }
    }

    #[test]
    fn field_list_size_rules() {
        assert_eq!(
            parse_fields(&json!([])).unwrap(),
            vec![],
            "a draft may have none"
        );
        assert_eq!(
            paths(parse_fields(&json!({"fieldKey": "k"})).unwrap_err()),
            ["fields"]
        );
        assert_eq!(paths(parse_fields(&Value::Null).unwrap_err()), ["fields"]);
        let field = |i: usize| json!({"fieldKey": format!("f{i}"), "label": "L", "type": "text"});
        assert!(parse_fields(&Value::Array((0..100).map(field).collect())).is_ok());
        assert_eq!(
            paths(parse_fields(&Value::Array((0..101).map(field).collect())).unwrap_err()),
            ["fields"]
        );
    }

    #[test]
    fn errors_of_several_fields_are_all_reported() {
        let err = parse_fields(&json!([
            {"fieldKey": "a", "label": "A", "type": "nope"},
            {"fieldKey": "b", "label": "B", "type": "text"},
            {"fieldKey": "c", "label": "", "type": "text", "extra": 1}
        ]))
        .unwrap_err();
        assert_eq!(
            paths(err),
            ["fields[0].type", "fields[2].extra", "fields[2].label"]
        );
    }

    // ---- definition: agreements, content, slug -------------------------------------------------

    #[test]
    fn agreement_ids_are_assigned_and_kept_stable() {
        let first = parse_agreements(&json!([
            {"title": "Terms", "body": "Body", "required": true},
            {"title": "Privacy", "body": "Body\n\nmore", "required": false}
        ]))
        .unwrap();
        assert_eq!(first.len(), 2);
        assert_ne!(first[0].id, first[1].id);
        assert_eq!(first[0].id.get_version_num(), 7);
        assert!(first[0].required && !first[1].required);

        // An edit echoes the ids it was given: they survive, new sections get new ones.
        let mut wire = serde_json::to_value(&first).unwrap();
        wire[0]["body"] = json!("Reworded body");
        wire.as_array_mut()
            .unwrap()
            .push(json!({"title": "New", "body": "Body"}));
        let edited = parse_agreements(&wire).unwrap();
        assert_eq!((edited[0].id, edited[1].id), (first[0].id, first[1].id));
        assert_eq!(edited[0].body, "Reworded body");
        assert!(![first[0].id, first[1].id].contains(&edited[2].id));
        assert!(edited[2].required, "required defaults to true");

        let kept = Uuid::new_v4();
        assert_eq!(
            parse_agreements(&json!([{"id": kept.to_string(), "title": "T", "body": "B"}]))
                .unwrap()[0]
                .id,
            kept
        );
    }

    #[test]
    fn agreement_rules() {
        let id = Uuid::now_v7().to_string();
        assert!(parse_agreements(&json!([])).unwrap().is_empty());
        let cases = [
            (
                json!([{"id": id, "title": "A", "body": "B"}, {"id": id, "title": "C", "body": "D"}]),
                "agreements[1].id",
            ),
            (
                json!([{"id": "nope", "title": "A", "body": "B"}]),
                "agreements[0].id",
            ),
            (
                json!([{"id": 7, "title": "A", "body": "B"}]),
                "agreements[0].id",
            ),
            (json!([{"title": "", "body": "B"}]), "agreements[0].title"),
            (
                json!([{"title": "x".repeat(201), "body": "B"}]),
                "agreements[0].title",
            ),
            (json!([{"title": "A"}]), "agreements[0].body"),
            (
                json!([{"title": "A", "body": "x".repeat(20_001)}]),
                "agreements[0].body",
            ),
            (
                json!([{"title": "A", "body": "B", "required": "no"}]),
                "agreements[0].required",
            ),
            (
                json!([{"title": "A", "body": "B", "mandatory": true}]),
                "agreements[0].mandatory",
            ),
            (json!(["Terms"]), "agreements[0]"),
            (json!({"title": "A", "body": "B"}), "agreements"),
        ];
        for (raw, path) in cases {
            assert_eq!(paths(parse_agreements(&raw).unwrap_err()), [path], "{raw}");
        }
        let many: Vec<Value> = (0..21)
            .map(|_| json!({"title": "A", "body": "B"}))
            .collect();
        assert_eq!(
            paths(parse_agreements(&Value::Array(many)).unwrap_err()),
            ["agreements"]
        );
        let twenty: Vec<Value> = (0..20)
            .map(|_| json!({"title": "A", "body": "B"}))
            .collect();
        assert_eq!(parse_agreements(&Value::Array(twenty)).unwrap().len(), 20);
    }

    #[test]
    fn content_rules() {
        let c = parse_content(&json!({
            "title": "  Join us ",
            "description": "",
            "confirmationMessage": "Thanks!\nWe'll write.",
            "bannerUrl": "https://cdn.example.com/b.png"
        }))
        .unwrap();
        assert_eq!(c.title.as_deref(), Some("Join us"));
        assert_eq!(c.description, None);
        assert_eq!(c.confirmation(), "Thanks!\nWe'll write.");
        assert_eq!(
            c.banner_url.as_deref(),
            Some("https://cdn.example.com/b.png")
        );
        assert_eq!(
            parse_content(&json!({})).unwrap().confirmation(),
            DEFAULT_CONFIRMATION
        );
        assert_eq!(
            parse_content(&Value::Null).unwrap(),
            ApplicationContent::default()
        );
        for local in [
            "http://localhost:8080/banners/x.png",
            "http://127.0.0.1/x.png",
            "http://LOCALHOST/x",
        ] {
            assert!(
                parse_content(&json!({"bannerUrl": local})).is_ok(),
                "{local}"
            );
        }
        let cases = [
            (
                json!({"bannerUrl": "http://cdn.example.com/b.png"}),
                "content.bannerUrl",
            ),
            (
                json!({"bannerUrl": "http://localhost.evil.com/b.png"}),
                "content.bannerUrl",
            ),
            (
                json!({"bannerUrl": "javascript:alert(1)"}),
                "content.bannerUrl",
            ),
            (json!({"bannerUrl": "https://"}), "content.bannerUrl"),
            (json!({"title": "x".repeat(201)}), "content.title"),
            (
                json!({"description": "x".repeat(5001)}),
                "content.description",
            ),
            (
                json!({"confirmationMessage": 3}),
                "content.confirmationMessage",
            ),
            (json!({"banner": "https://x.io"}), "content.banner"),
            (json!([]), "content"),
        ];
        for (raw, path) in cases {
            assert_eq!(paths(parse_content(&raw).unwrap_err()), [path], "{raw}");
        }
        assert!(parse_content(&json!({"description": "x".repeat(5000)})).is_ok());
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"title": "Join us", "confirmationMessage": "Thanks!\nWe'll write.", "bannerUrl": "https://cdn.example.com/b.png"})
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(
            parse_slug(" partner-program-2025 ").unwrap(),
            "partner-program-2025"
        );
        assert!(parse_slug(&"a".repeat(64)).is_ok());
        for bad in ["ab", "Partner", "a_b_c", "a b c", "émoi", &"a".repeat(65)] {
            assert!(parse_slug(bad).is_err(), "{bad}");
        }
    }

    // ---- properties ---------------------------------------------------------------------------

    const INTERESTING_KEYS: [&str; 22] = [
        "fieldKey",
        "label",
        "type",
        "required",
        "options",
        "maxLength",
        "placeholder",
        "helpText",
        "id",
        "title",
        "body",
        "description",
        "confirmationMessage",
        "bannerUrl",
        "name",
        "email",
        "regions",
        "newsletter",
        "country",
        "code",
        "tier",
        "employees",
    ];
    const INTERESTING_STRINGS: [&str; 16] = [
        "true",
        "false",
        "EU",
        "US",
        "Gold",
        "de",
        "jane@example.com",
        "https://a.io",
        "12.5",
        "+1 555 123 4567",
        "[\"EU\",\"US\"]",
        "[\"EU\",\"EU\"]",
        "select",
        "multiselect",
        "text",
        "0196a0a0-0000-7000-8000-000000000000",
    ];

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(&INTERESTING_KEYS[..]).prop_map(str::to_owned),
            "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
            ".{0,6}",
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
            prop::sample::select(&INTERESTING_STRINGS[..]).prop_map(Value::from),
            (0usize..600).prop_map(|n| Value::String("x".repeat(n))),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Objects shaped like field definitions, mostly valid, so that a good share of them parse.
    fn field_like() -> impl Strategy<Value = Value> {
        (
            prop_oneof![9 => "[a-zA-Z][a-zA-Z0-9_]{0,2}", 1 => "[0-9_-]{1,3}"],
            prop_oneof![9 => "[A-Za-z][A-Za-z ]{0,5}", 1 => ".{0,4}"],
            prop::sample::select(&FieldType::ALL[..]),
            prop::option::of(any::<bool>()),
            prop::collection::vec("[A-D]{1,2}", 1..4),
            prop::option::of(-2i64..30_000),
            prop::option::weighted(0.2, json_value()),
        )
            .prop_map(|(k, label, t, required, options, max, extra)| {
                let mut f = json!({"fieldKey": k, "label": label, "type": t.as_str()});
                if let Some(r) = required {
                    f["required"] = json!(r);
                }
                if t.has_options() || options.len() == 3 {
                    f["options"] = json!(options);
                }
                if let Some(m) = max.filter(|m| t.takes_max_length() || m % 7 == 0) {
                    f["maxLength"] = json!(m);
                }
                if let Some(x) = extra {
                    f["placeholder"] = x;
                }
                f
            })
    }

    /// Answers keyed mostly by the form's own keys, with values that often fit their field.
    fn answers() -> impl Strategy<Value = Vec<(String, Value)>> {
        let candidates: Vec<(&str, Value)> = vec![
            ("bio", json!("hello\nthere")),
            ("altEmail", json!("Jo@Example.org")),
            ("altEmail", json!("jo@")),
            ("website", json!("https://acme.io/x")),
            ("website", json!("acme.io")),
            ("phone", json!("+1 555 123 4567")),
            ("phone", json!("12")),
            ("employees", json!("1e3")),
            ("employees", json!("NaN")),
            ("tier", json!("Silver")),
            ("tier", json!("silver")),
            ("regions", json!(["EU", "US"])),
            ("regions", json!("[\"APAC\"]")),
            ("regions", json!(["EU", "EU"])),
            ("newsletter", json!(true)),
            ("newsletter", json!("false")),
            ("newsletter", json!("yes")),
            ("country", json!("fr")),
            ("country", json!("XX")),
            ("code", json!(" ab ")),
            ("email", json!("Someone@Example.COM")),
            ("name", Value::Null),
        ];
        let long_text = (
            prop::sample::select(&["name", "bio", "code", "essay", "phone"][..]),
            0usize..9000,
        )
            .prop_map(|(k, n)| (k.to_owned(), Value::String("y".repeat(n))));
        let pair = prop_oneof![
            12 => prop::sample::select(candidates).prop_map(|(k, v)| (k.to_owned(), v)),
            2 => long_text,
            1 => (key(), json_value()),
        ];
        prop::collection::vec(pair, 0..8)
    }

    proptest! {
        #[test]
        fn definitions_never_panic(raw in json_value(), items in prop::collection::vec(json_value(), 0..4)) {
            let _ = parse_fields(&raw);
            let _ = parse_agreements(&raw);
            let _ = parse_content(&raw);
            let _ = parse_fields(&Value::Array(items.clone()));
            let _ = parse_agreements(&Value::Array(items));
        }

        #[test]
        fn accepted_field_definitions_round_trip(items in prop::collection::vec(field_like(), 1..6)) {
            if let Ok(fields) = parse_fields(&Value::Array(items)) {
                let keys: HashSet<&str> = fields.iter().map(|f| f.field_key.as_str()).collect();
                prop_assert_eq!(keys.len(), fields.len());
                let again = parse_fields(&serde_json::to_value(&fields).unwrap()).unwrap();
                prop_assert_eq!(again, fields);
            }
        }

        #[test]
        fn accepted_agreements_have_unique_ids(items in prop::collection::vec(
            (prop::option::of(prop::sample::select(&[
                "0196a0a0-0000-7000-8000-000000000001",
                "0196a0a0-0000-7000-8000-000000000002",
            ][..])), ".{0,3}", ".{0,3}"),
            0..6,
        )) {
            let raw: Vec<Value> = items
                .iter()
                .map(|(id, t, b)| match id {
                    Some(id) => json!({"id": id, "title": t, "body": b}),
                    None => json!({"title": t, "body": b}),
                })
                .collect();
            if let Ok(sections) = parse_agreements(&Value::Array(raw)) {
                let ids: HashSet<Uuid> = sections.iter().map(|s| s.id).collect();
                prop_assert_eq!(ids.len(), sections.len());
                for ((id, _, _), s) in items.iter().zip(&sections) {
                    if let Some(id) = id {
                        prop_assert_eq!(s.id.to_string(), *id);
                    }
                }
            }
        }

        #[test]
        fn submissions_never_panic(data in json_value(), accepted in json_value()) {
            let _ = validate_submission(&form(), &sections(), &data, &accepted);
        }

    }

    proptest! {
        // Few random answers fit every rule at once, so this one gets more cases.
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn accepted_submissions_hold_only_known_bounded_answers(
            answers in answers(),
            accept_terms in any::<bool>(),
        ) {
            let fields = form();
            let s = sections();
            let mut data = minimal();
            data.extend(answers);
            let accepted = if accept_terms { json!([s[0].id.to_string()]) } else { json!([]) };
            if let Ok(ok) = validate_submission(&fields, &s, &Value::Object(data), &accepted) {
                for (k, v) in &ok.values {
                    let field = fields.iter().find(|f| f.field_key == *k);
                    prop_assert!(field.is_some(), "unknown key {k}");
                    let field = field.unwrap();
                    match v {
                        Value::String(s) => {
                            prop_assert!(s.chars().count() <= field.max_chars());
                            prop_assert_eq!(s.trim(), s.as_str());
                            prop_assert!(!s.is_empty());
                        }
                        Value::Array(items) => {
                            prop_assert_eq!(field.field_type, FieldType::Multiselect);
                            prop_assert!(items.iter().all(|i| i.as_str().is_some_and(|o| field.options.iter().any(|x| x == o))));
                        }
                        other => prop_assert!(false, "unexpected stored value {other}"),
                    }
                }
                prop_assert!(ok.email.as_deref().is_some_and(|e| e == e.to_lowercase()));
                prop_assert!(ok.accepted_agreements.contains(&s[0].id));
            }
        }
    }
}
