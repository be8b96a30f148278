//! Application requests as received, and the one place they are parsed: the definition an admin
//! sends (fields, agreements, content, partner mapping) and the public submission (answers,
//! agreements, affiliate slug). The HTTP layer only deserializes into these inputs.

use crate::applications::answers::Answers;
use crate::applications::form::{self, ApplicationStatus};
use crate::applications::model::{Application, ApplicationPatch, PartnerMapping};
use crate::shared::error::ValidationErrors;
use crate::shared::slug::Slug;
use crate::shared::values::BoundedText;
use serde_json::Value;

/// An application as an admin sends it; every part optional (required ones are checked on
/// create).
#[derive(Debug, Clone, Default)]
pub struct ApplicationInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub status: Option<String>,
    pub fields: Option<Value>,
    pub agreements: Option<Value>,
    pub content: Option<Value>,
    pub partner_mapping: Option<Value>,
    /// `notifySubmissions`: mail owners and admins a notice of each new submission.
    pub notify_submissions: Option<bool>,
}

/// A public submission as received.
#[derive(Debug, Clone)]
pub struct SubmitInput {
    pub slug: String,
    pub form_data: Value,
    pub accepted_agreements: Value,
    pub affiliate_slug: Option<String>,
    pub turnstile_token: Option<String>,
}

/// A public submission that passed every rule of its form.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSubmission {
    pub answers: Answers,
    /// The affiliate slug as sent (trimmed); attributed when it names a link of the form.
    pub affiliate_slug: Option<String>,
}

impl CheckedSubmission {
    /// Checks a submission against `form`: the affiliate slug, then the answers and accepted
    /// agreements, every problem reported at once.
    pub fn parse(form: &Application, input: &SubmitInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let affiliate_slug = match input.affiliate_slug.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) if s.chars().count() > 200 || s.chars().any(char::is_control) => {
                errors.push("affiliateSlug", "must be at most 200 printable characters");
                None
            }
            Some(s) => Some(s.to_owned()),
        };
        let answers = match Answers::parse(
            &form.fields,
            &form.agreements,
            &input.form_data,
            &input.accepted_agreements,
        ) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        match (answers, errors.is_empty()) {
            (Some(answers), true) => Ok(Self {
                answers,
                affiliate_slug,
            }),
            _ => Err(errors),
        }
    }
}

impl ApplicationPatch {
    /// Validates the parts of `input` that are present; the partner mapping is checked against
    /// the new fields, else `current_fields`.
    pub fn parse(
        input: &ApplicationInput,
        current_fields: Option<&[form::FormField]>,
    ) -> Result<ApplicationPatch, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = input.name.as_deref().and_then(|n| {
            e.check("name", BoundedText::<200>::parse(n))
                .map(BoundedText::into_inner)
        });
        let slug = input
            .slug
            .as_deref()
            .and_then(|s| e.check("slug", Slug::parse(s).map(Slug::into_inner)));
        let status = input
            .status
            .as_deref()
            .and_then(|s| e.check("status", ApplicationStatus::parse(s)));
        let fields = input
            .fields
            .as_ref()
            .and_then(|f| check(&mut e, "fields", form::parse_fields(f)));
        let agreements = input
            .agreements
            .as_ref()
            .and_then(|a| check(&mut e, "agreements", form::parse_agreements(a)));
        let content = input
            .content
            .as_ref()
            .and_then(|c| check(&mut e, "content", form::parse_content(c)));
        let mapping_fields: Vec<form::FormField> = fields
            .clone()
            .or_else(|| current_fields.map(<[_]>::to_vec))
            .unwrap_or_default();
        let partner_mapping = input.partner_mapping.as_ref().and_then(|m| {
            check(
                &mut e,
                "partnerMapping",
                PartnerMapping::parse(m, &mapping_fields),
            )
        });
        e.into_result()?;
        Ok(ApplicationPatch {
            name,
            slug,
            status,
            fields,
            agreements,
            content,
            partner_mapping,
            notify_on_submission: input.notify_submissions,
        })
    }
}

fn check<T>(e: &mut ValidationErrors, field: &str, r: Result<T, ValidationErrors>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(errs) => {
            // Nested errors keep their own paths; a bare top-level error names the part.
            for f in errs.0 {
                let path = if f.field.is_empty() {
                    field.to_owned()
                } else {
                    f.field
                };
                e.push(path, f.message);
            }
            None
        }
    }
}
