//! Legal agreement templates: PDF checks, signer roles and field placements (pure validation).

use crate::legal::ports::{FieldPlacement, SignatureFieldType};
use crate::shared::error::ValidationErrors;
use crate::shared::ids::{OrganizationId, PartnerId, UserId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Largest accepted PDF: 20 MiB.
pub const MAX_PDF_BYTES: usize = 20 * 1024 * 1024;
pub const MAX_ROLES: usize = 10;
pub const MAX_FIELDS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateScope {
    Reusable,
    OneOff,
}

impl TemplateScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reusable => "reusable",
            Self::OneOff => "one_off",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "reusable" => Ok(Self::Reusable),
            "one_off" => Ok(Self::OneOff),
            _ => Err("must be reusable or one_off".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LegalTemplate {
    pub id: uuid::Uuid,
    pub organization_id: OrganizationId,
    pub partner_id: PartnerId,
    pub name: String,
    pub description: Option<String>,
    pub scope: TemplateScope,
    pub roles: Vec<String>,
    pub fields: Vec<FieldPlacement>,
    pub docuseal_template_id: i64,
    pub docuseal_slug: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// The bytes a PDF starts with.
pub const PDF_MAGIC: &[u8] = b"%PDF-";

/// Whether the bytes are a PDF (judged by content: `%PDF-` at the start).
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(PDF_MAGIC)
}

/// `roles`: a JSON array of 1..=10 distinct (case-insensitively), non-empty names of at most
/// 100 characters.
pub fn parse_roles(raw: &str) -> Result<Vec<String>, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let value: Value = serde_json::from_str(raw)
        .map_err(|_| ValidationErrors::single("roles", "must be a JSON array of role names"))?;
    let Value::Array(items) = value else {
        return Err(ValidationErrors::single(
            "roles",
            "must be a JSON array of role names",
        ));
    };
    if items.is_empty() || items.len() > MAX_ROLES {
        return Err(ValidationErrors::single("roles", "must have 1 to 10 roles"));
    }
    let mut roles: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("roles[{i}]");
        match item.as_str().map(str::trim) {
            Some("") => errors.push(field, "must not be blank"),
            Some(r) if r.chars().count() > 100 => {
                errors.push(field, "must be at most 100 characters")
            }
            Some(r) if roles.iter().any(|o| o.to_lowercase() == r.to_lowercase()) => {
                errors.push(field, "is a duplicate")
            }
            Some(r) => roles.push(r.to_owned()),
            None => errors.push(field, "must be a string"),
        }
    }
    errors.into_result().map(|()| roles)
}

fn fraction(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    prefix: &str,
    errors: &mut ValidationErrors,
) -> Option<f64> {
    match obj.get(key).and_then(Value::as_f64) {
        Some(v) if (0.0..=1.0).contains(&v) && v.is_finite() => Some(v),
        Some(_) => {
            errors.push(format!("{prefix}.{key}"), "must be between 0 and 1");
            None
        }
        None => {
            errors.push(
                format!("{prefix}.{key}"),
                "must be a number between 0 and 1",
            );
            None
        }
    }
}

/// `fields`: a JSON array of placements `{name, type, role, required?, page, x, y, width, height}`
/// with `role` among `roles`, a 1-based `page`, and the box inside the page. Every problem is
/// reported with its item's path (`fields[2].x`).
pub fn parse_fields(raw: &str, roles: &[String]) -> Result<Vec<FieldPlacement>, ValidationErrors> {
    let value: Value = serde_json::from_str(raw).map_err(|_| {
        ValidationErrors::single("fields", "must be a JSON array of field placements")
    })?;
    let Value::Array(items) = value else {
        return Err(ValidationErrors::single(
            "fields",
            "must be a JSON array of field placements",
        ));
    };
    if items.len() > MAX_FIELDS {
        return Err(ValidationErrors::single(
            "fields",
            "must have at most 500 placements",
        ));
    }
    let mut errors = ValidationErrors::new();
    let mut out = Vec::with_capacity(items.len());
    const KEYS: [&str; 9] = [
        "name", "type", "role", "required", "page", "x", "y", "width", "height",
    ];
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("fields[{i}]");
        let Value::Object(obj) = item else {
            errors.push(prefix, "must be an object");
            continue;
        };
        let before = errors.0.len();
        for key in obj.keys() {
            if !KEYS.contains(&key.as_str()) {
                errors.push(format!("{prefix}.{key}"), "is not a placement property");
            }
        }
        let name = match obj.get("name").and_then(Value::as_str).map(str::trim) {
            Some(n) if !n.is_empty() && n.chars().count() <= 200 => Some(n.to_owned()),
            _ => {
                errors.push(
                    format!("{prefix}.name"),
                    "must be a non-empty string of at most 200 characters",
                );
                None
            }
        };
        let field_type = match obj.get("type").and_then(Value::as_str) {
            Some(t) => SignatureFieldType::ALL
                .into_iter()
                .find(|k| k.as_str() == t),
            None => None,
        };
        if field_type.is_none() {
            errors.push(
                format!("{prefix}.type"),
                "must be one of signature, initials, date, text, number, checkbox, image, stamp",
            );
        }
        let role = match obj.get("role").and_then(Value::as_str) {
            Some(r) if roles.iter().any(|x| x == r.trim()) => Some(r.trim().to_owned()),
            _ => {
                errors.push(
                    format!("{prefix}.role"),
                    "must be one of the template's roles",
                );
                None
            }
        };
        let required = match obj.get("required") {
            None | Some(Value::Null) => Some(true),
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                errors.push(format!("{prefix}.required"), "must be true or false");
                None
            }
        };
        let page = match obj.get("page").and_then(Value::as_u64) {
            Some(p) if (1..=10_000).contains(&p) => Some(p as u32),
            _ => {
                errors.push(format!("{prefix}.page"), "must be a page number from 1");
                None
            }
        };
        let x = fraction(obj, "x", &prefix, &mut errors);
        let y = fraction(obj, "y", &prefix, &mut errors);
        let width = fraction(obj, "width", &prefix, &mut errors);
        let height = fraction(obj, "height", &prefix, &mut errors);
        if let (Some(x), Some(w)) = (x, width) {
            if w <= 0.0 {
                errors.push(format!("{prefix}.width"), "must be greater than 0");
            } else if x + w > 1.0 + 1e-9 {
                errors.push(
                    format!("{prefix}.width"),
                    "the box must stay inside the page (x + width ≤ 1)",
                );
            }
        }
        if let (Some(y), Some(h)) = (y, height) {
            if h <= 0.0 {
                errors.push(format!("{prefix}.height"), "must be greater than 0");
            } else if y + h > 1.0 + 1e-9 {
                errors.push(
                    format!("{prefix}.height"),
                    "the box must stay inside the page (y + height ≤ 1)",
                );
            }
        }
        if errors.0.len() == before
            && let (
                Some(name),
                Some(field_type),
                Some(role),
                Some(required),
                Some(page),
                Some(x),
                Some(y),
                Some(width),
                Some(height),
            ) = (name, field_type, role, required, page, x, y, width, height)
        {
            out.push(FieldPlacement {
                name,
                field_type,
                role,
                required,
                page,
                x,
                y,
                width,
                height,
            });
        }
    }
    errors.into_result().map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roles() -> Vec<String> {
        vec!["Partner".into(), "PartnerOS".into()]
    }

    fn fields_of(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn pdf_is_judged_by_its_first_bytes() {
        assert!(is_pdf(b"%PDF-1.7\n..."));
        assert!(!is_pdf(b"%PDF"));
        assert!(!is_pdf(b"<html>%PDF-1.7"));
        assert!(!is_pdf(b""));
    }

    #[test]
    fn roles_rules() {
        assert_eq!(
            parse_roles(r#"["Partner"," PartnerOS "]"#).unwrap(),
            roles()
        );
        assert!(parse_roles("[]").is_err());
        assert!(parse_roles(r#""Partner""#).is_err());
        assert!(parse_roles("not json").is_err());
        assert_eq!(
            fields_of(parse_roles(r#"["A","a"]"#).unwrap_err()),
            ["roles[1]"]
        );
        assert_eq!(
            fields_of(parse_roles(r#"["A",""]"#).unwrap_err()),
            ["roles[1]"]
        );
        assert_eq!(
            fields_of(parse_roles(r#"["A",3]"#).unwrap_err()),
            ["roles[1]"]
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("R{i}")).collect();
        assert!(parse_roles(&serde_json::to_string(&eleven).unwrap()).is_err());
    }

    #[test]
    fn a_valid_placement_parses_with_required_defaulting_to_true() {
        let f = parse_fields(
            r#"[{"name":"Sign here","type":"signature","role":"Partner","page":1,"x":0.1,"y":0.8,"width":0.3,"height":0.05}]"#,
            &roles(),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].required);
        assert_eq!(f[0].field_type, SignatureFieldType::Signature);
    }

    #[test]
    fn every_placement_rule_reports_its_path() {
        let cases = [
            (
                r#"{"name":"","type":"signature","role":"Partner","page":1,"x":0,"y":0,"width":0.1,"height":0.1}"#,
                "fields[0].name",
            ),
            (
                r#"{"name":"a","type":"signet","role":"Partner","page":1,"x":0,"y":0,"width":0.1,"height":0.1}"#,
                "fields[0].type",
            ),
            (
                r#"{"name":"a","type":"date","role":"Buyer","page":1,"x":0,"y":0,"width":0.1,"height":0.1}"#,
                "fields[0].role",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":0,"x":0,"y":0,"width":0.1,"height":0.1}"#,
                "fields[0].page",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":1.5,"x":0,"y":0,"width":0.1,"height":0.1}"#,
                "fields[0].page",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":1,"x":-0.1,"y":0,"width":0.1,"height":0.1}"#,
                "fields[0].x",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":1,"x":0,"y":1.2,"width":0.1,"height":0.1}"#,
                "fields[0].y",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":1,"x":0.95,"y":0,"width":0.1,"height":0.1}"#,
                "fields[0].width",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":1,"x":0,"y":0.95,"width":0.1,"height":0.1}"#,
                "fields[0].height",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":1,"x":0,"y":0,"width":0,"height":0.1}"#,
                "fields[0].width",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":1,"x":"0","y":0,"width":0.1,"height":0.1}"#,
                "fields[0].x",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":1,"x":0,"y":0,"width":0.1,"height":0.1,"required":"yes"}"#,
                "fields[0].required",
            ),
            (
                r#"{"name":"a","type":"date","role":"Partner","page":1,"x":0,"y":0,"width":0.1,"height":0.1,"color":"red"}"#,
                "fields[0].color",
            ),
            (r#""text""#, "fields[0]"),
        ];
        for (item, field) in cases {
            let err = parse_fields(&format!("[{item}]"), &roles()).unwrap_err();
            assert!(
                fields_of(err.clone()).contains(&field.to_owned()),
                "{item}: {err}"
            );
        }
        assert_eq!(
            fields_of(parse_fields("{}", &roles()).unwrap_err()),
            ["fields"]
        );
        assert_eq!(
            fields_of(parse_fields("[", &roles()).unwrap_err()),
            ["fields"]
        );
    }

    #[test]
    fn errors_of_several_items_are_all_reported() {
        let err = parse_fields(
            r#"[{"name":"a","type":"x","role":"Partner","page":1,"x":0,"y":0,"width":0.1,"height":0.1},
                {"name":"b","type":"date","role":"Partner","page":1,"x":0,"y":0,"width":0.1,"height":0.1},
                {"name":"c","type":"date","role":"Nobody","page":1,"x":0,"y":0,"width":0.1,"height":0.1}]"#,
            &roles(),
        )
        .unwrap_err();
        assert_eq!(fields_of(err), ["fields[0].type", "fields[2].role"]);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(raw in ".{0,400}") {
            let _ = parse_roles(&raw);
            let _ = parse_fields(&raw, &roles());
        }

        #[test]
        fn accepted_boxes_are_inside_the_page(x in -1.0f64..2.0, y in -1.0f64..2.0, w in -1.0f64..2.0, h in -1.0f64..2.0, page in 0u32..3) {
            let raw = serde_json::json!([{"name":"f","type":"text","role":"Partner","page":page,"x":x,"y":y,"width":w,"height":h}]).to_string();
            if let Ok(fields) = parse_fields(&raw, &roles()) {
                let f = &fields[0];
                prop_assert!(f.page >= 1);
                prop_assert!(f.x >= 0.0 && f.y >= 0.0 && f.width > 0.0 && f.height > 0.0);
                prop_assert!(f.x + f.width <= 1.0 + 1e-9 && f.y + f.height <= 1.0 + 1e-9);
            }
        }
    }
}
