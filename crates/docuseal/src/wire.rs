//! Docuseal's wire types: the body of `POST /templates/pdf`, the template it answers, and the
//! `{"error": "..."}` body of its refusals. Responses are parsed leniently (unknown fields ignored).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use partneros_domain::legal::ports::{FieldPlacement, NewSignatureTemplate, SignatureTemplate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub(crate) struct CreateTemplateFromPdf<'a> {
    name: &'a str,
    external_id: &'a str,
    documents: [Document<'a>; 1],
}

#[derive(Debug, Serialize)]
struct Document<'a> {
    name: &'a str,
    /// The PDF, base64 (Docuseal also accepts a URL here; we never send one).
    file: String,
    fields: Vec<Field<'a>>,
}

#[derive(Debug, Serialize)]
struct Field<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    field_type: &'static str,
    role: &'a str,
    required: bool,
    areas: [Area; 1],
}

#[derive(Debug, Serialize)]
struct Area {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    /// 1-based, as the create endpoints take it (stored templates report 0-based pages).
    page: u32,
}

impl<'a> CreateTemplateFromPdf<'a> {
    pub(crate) fn new(template: &'a NewSignatureTemplate, pdf: &[u8]) -> Self {
        // Docuseal has no roles parameter here and orders the signers as it first meets them in
        // the fields, so the fields go grouped by role in the template's role order. The sort is
        // stable: each role's fields keep their own order.
        let mut placements: Vec<&FieldPlacement> = template.fields.iter().collect();
        placements.sort_by_key(|field| {
            template
                .roles
                .iter()
                .position(|role| *role == field.role)
                .unwrap_or(usize::MAX)
        });
        let fields = placements
            .into_iter()
            .map(|field| Field {
                name: &field.name,
                field_type: field.field_type.as_str(),
                role: &field.role,
                required: field.required,
                areas: [Area {
                    x: field.x,
                    y: field.y,
                    w: field.width,
                    h: field.height,
                    page: field.page,
                }],
            })
            .collect();
        Self {
            name: &template.name,
            external_id: &template.external_id,
            documents: [Document {
                name: &template.name,
                file: STANDARD.encode(pdf),
                fields,
            }],
        }
    }
}

#[derive(Deserialize)]
struct TemplateBody {
    id: WireId,
    slug: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireId {
    Number(i64),
    Text(String),
}

/// The template Docuseal answered, or why the body is not one (never the body itself).
pub(crate) fn parse_template(body: &[u8]) -> Result<SignatureTemplate, String> {
    let parsed: TemplateBody =
        serde_json::from_slice(body).map_err(|e| format!("not a template object: {e}"))?;
    let id = match parsed.id {
        WireId::Number(id) => id,
        WireId::Text(text) => text
            .trim()
            .parse()
            .map_err(|_| "the template id is not a number".to_owned())?,
    };
    if parsed.slug.trim().is_empty() {
        return Err("the template slug is empty".to_owned());
    }
    Ok(SignatureTemplate {
        id,
        slug: parsed.slug,
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    error: serde_json::Value,
}

/// The longest message taken from a Docuseal error body.
pub(crate) const MAX_MESSAGE_CHARS: usize = 300;

/// The `error` message of a Docuseal error body, made printable and cut to
/// [`MAX_MESSAGE_CHARS`]; `None` when the body is not such JSON.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let message = parsed.error.as_str()?;
    let message = shorten(message, MAX_MESSAGE_CHARS);
    (!message.is_empty()).then_some(message)
}

fn shorten(text: &str, max_chars: usize) -> String {
    let printable: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if printable.chars().count() <= max_chars {
        return printable;
    }
    let mut cut: String = printable.chars().take(max_chars - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use partneros_domain::legal::ports::SignatureFieldType;

    fn placement(name: &str, role: &str, field_type: SignatureFieldType) -> FieldPlacement {
        FieldPlacement {
            name: name.to_owned(),
            field_type,
            role: role.to_owned(),
            required: true,
            page: 2,
            x: 0.1,
            y: 0.2,
            width: 0.3,
            height: 0.05,
        }
    }

    #[test]
    fn fields_are_grouped_by_role_in_role_order() {
        let template = NewSignatureTemplate {
            name: "NDA".into(),
            external_id: "ext-1".into(),
            pdf: "unused.pdf".into(),
            roles: vec!["Partner".into(), "PartnerOS".into()],
            fields: vec![
                placement("Our signature", "PartnerOS", SignatureFieldType::Signature),
                placement("Their name", "Partner", SignatureFieldType::Text),
                placement("Their signature", "Partner", SignatureFieldType::Signature),
            ],
        };
        let json =
            serde_json::to_value(CreateTemplateFromPdf::new(&template, b"%PDF-1.7")).unwrap();
        let names: Vec<&str> = json["documents"][0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Their name", "Their signature", "Our signature"]);
        assert_eq!(
            json["documents"][0]["fields"][0]["areas"][0],
            serde_json::json!({"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.05, "page": 2})
        );
        assert_eq!(json["documents"][0]["file"], "JVBERi0xLjc=");
    }

    #[test]
    fn template_ids_are_taken_as_numbers_or_digit_strings() {
        let t = parse_template(br#"{"id": 7, "slug": "abc", "extra": [1]}"#).unwrap();
        assert_eq!((t.id, t.slug.as_str()), (7, "abc"));
        assert_eq!(parse_template(br#"{"id":"8","slug":"x"}"#).unwrap().id, 8);
        assert!(parse_template(br#"{"id":"x","slug":"x"}"#).is_err());
        assert!(parse_template(br#"{"id":1,"slug":" "}"#).is_err());
        assert!(parse_template(br#"{"slug":"x"}"#).is_err());
        assert!(parse_template(b"<html>").is_err());
    }

    #[test]
    fn error_messages_are_cut_and_printable() {
        assert_eq!(
            error_message(br#"{"error":"Bad\nfile"}"#).as_deref(),
            Some("Bad file")
        );
        let long = format!(r#"{{"error":"{}"}}"#, "é".repeat(1000));
        let cut = error_message(long.as_bytes()).unwrap();
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(error_message(b"<html>oops</html>"), None);
        assert_eq!(error_message(br#"{"error":{"code":1}}"#), None);
        assert_eq!(error_message(br#"{"error":""}"#), None);
    }
}
