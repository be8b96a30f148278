//! Partner applications: the form an organization publishes and the checks a prospect's
//! submission must pass (pure validation; storage and the submit use case live elsewhere).
//!
//! Definitions arrive from admins and answers from anonymous prospects, both as loose JSON, so
//! everything is read from a `serde_json::Value` by hand: that way every problem is reported at
//! once with its exact path (`fields[3].fieldKey`, `formData.email`) instead of serde's first
//! error.

use std::collections::HashSet;
use std::fmt;

use serde_json::Value;
use uuid::Uuid;

use crate::shared::error::ValidationErrors;
use crate::shared::values::InvalidValue;

use super::readers::*;

/// The confirmation shown after submitting when the form has none.
pub const DEFAULT_CONFIRMATION: &str =
    "Thank you! Your application has been received. We will be in touch soon.";

/// Beyond this a form stops being a form a prospect will finish.
pub const MAX_FIELDS: usize = 100;
pub const MAX_AGREEMENTS: usize = 20;
pub const MAX_OPTIONS: usize = 200;
/// The highest `maxLength` an admin may set; keeps a submission well under the 64 KiB body limit.
pub const MAX_LENGTH_LIMIT: u32 = 20_000;
/// Answer length when the field sets no `maxLength` (as the README states under the decisions).
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
    /// The longest answer accepted, in characters: the admin's `maxLength`, else the default
    /// the README states, so the hosted form and the server agree on one number.
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
