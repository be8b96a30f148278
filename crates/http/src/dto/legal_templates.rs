//! Legal templates prepared in Docuseal.

use super::Timestamp;
use partneros_domain::legal::model::LegalTemplate;
use partneros_domain::legal::ports::FieldPlacement;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldPlacementDto {
    pub name: String,
    /// `signature`, `initials`, `date`, `text`, `number`, `checkbox`, `image` or `stamp`.
    #[serde(rename = "type")]
    pub field_type: &'static str,
    pub role: String,
    pub required: bool,
    /// 1-based.
    pub page: u32,
    /// Fractions of the page, top-left origin.
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl From<FieldPlacement> for FieldPlacementDto {
    fn from(f: FieldPlacement) -> Self {
        Self {
            name: f.name,
            field_type: f.field_type.as_str(),
            role: f.role,
            required: f.required,
            page: f.page,
            x: f.x,
            y: f.y,
            width: f.width,
            height: f.height,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegalTemplateDto {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub partner_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// `reusable` or `one_off`.
    pub scope: &'static str,
    pub roles: Vec<String>,
    pub fields: Vec<FieldPlacementDto>,
    pub docuseal_template_id: i64,
    pub docuseal_slug: String,
    pub created_by: Option<Uuid>,
    pub created_at: Timestamp,
}

impl From<LegalTemplate> for LegalTemplateDto {
    fn from(t: LegalTemplate) -> Self {
        Self {
            id: t.id,
            organization_id: t.organization_id.as_uuid(),
            partner_id: t.partner_id.as_uuid(),
            name: t.name,
            description: t.description,
            scope: t.scope.as_str(),
            roles: t.roles,
            fields: t.fields.into_iter().map(Into::into).collect(),
            docuseal_template_id: t.docuseal_template_id,
            docuseal_slug: t.docuseal_slug,
            created_by: t.created_by.map(|u| u.as_uuid()),
            created_at: t.created_at.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTemplateResponse {
    pub success: bool,
    pub template: LegalTemplateDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateResponse {
    pub template: LegalTemplateDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplatesResponse {
    pub templates: Vec<LegalTemplateDto>,
}

/// The multipart form of a new template.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct TemplateForm {
    /// The PDF (at most 20 MiB; judged by its bytes).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    #[schema(value_type = String, format = Uuid)]
    pub partner_id: String,
    /// 1..200 characters, unique in the organization (case-insensitive).
    pub name: String,
    /// At most 2000 characters.
    pub description: Option<String>,
    /// `reusable` or `one_off`.
    pub scope: String,
    /// JSON array of 1..10 distinct signer roles, e.g. `["Partner","PartnerOS"]`.
    pub roles: String,
    /// JSON array of placements `{name, type, role, required?, page, x, y, width, height}`.
    pub fields: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListTemplatesQuery {
    /// Only this partner's templates.
    #[param(value_type = Option<Uuid>)]
    pub partner_id: Option<String>,
}
