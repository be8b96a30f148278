//! Ports of legal templates: their storage and the e-signature service (Docuseal) that holds
//! the documents.
//!
//! Storage methods return [`StoreError`]: `Unavailable` when the database
//! cannot be reached, `Unexpected` for anything else, plus the variants listed under `# Errors`.

use crate::StoreError;
use crate::shared::ids::{OrganizationId, PartnerId};
use async_trait::async_trait;

/// Kinds of fields a signer fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureFieldType {
    Signature,
    Initials,
    Date,
    Text,
    Number,
    Checkbox,
    Image,
    Stamp,
}

impl SignatureFieldType {
    pub const ALL: [SignatureFieldType; 8] = [
        Self::Signature,
        Self::Initials,
        Self::Date,
        Self::Text,
        Self::Number,
        Self::Checkbox,
        Self::Image,
        Self::Stamp,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Initials => "initials",
            Self::Date => "date",
            Self::Text => "text",
            Self::Number => "number",
            Self::Checkbox => "checkbox",
            Self::Image => "image",
            Self::Stamp => "stamp",
        }
    }
}

/// A validated field placement: a box on a page, in fractions of the page (top-left origin).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldPlacement {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: SignatureFieldType,
    /// One of the template's signer roles.
    pub role: String,
    pub required: bool,
    /// 1-based page number.
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A template to create from a PDF.
#[derive(Debug, Clone)]
pub struct NewSignatureTemplate {
    pub name: String,
    /// Our template id, recorded in the e-signature service for reconciliation.
    pub external_id: String,
    /// The PDF, spooled to a local file (already checked to be a PDF within the size limit).
    pub pdf: std::path::PathBuf,
    pub roles: Vec<String>,
    pub fields: Vec<FieldPlacement>,
}

/// The e-signature service's handle of a created template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureTemplate {
    pub id: i64,
    pub slug: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ESignatureError {
    #[error("Docuseal is not configured")]
    NotConfigured,
    #[error(
        "this Docuseal instance has no PDF template API (the free edition answers 404 \"Pro Edition\"); use Docuseal cloud or a Pro instance"
    )]
    ProEditionRequired,
    #[error("Docuseal refused the API key")]
    Unauthorized,
    #[error("Docuseal refused the template: {0}")]
    Rejected(String),
    #[error("Docuseal did not answer in time")]
    Timeout,
    #[error("Docuseal is unreachable or failing")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("Docuseal answered something unexpected")]
    InvalidResponse(String),
}

/// The e-signature service.
///
/// # Errors
/// `NotConfigured` when no instance is configured; `ProEditionRequired` when the instance lacks
/// the PDF template API (HTTP 404 mentioning "Pro Edition"); `Unauthorized` for 401/403;
/// `Rejected` for 422 and other 4xx, with the service's message; `Timeout` past the adapter's
/// timeout; `Unavailable` for connection failures and 5xx; `InvalidResponse` for a success
/// status with a body that is not a template.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ESignature: Send + Sync {
    async fn create_template(
        &self,
        template: NewSignatureTemplate,
    ) -> Result<SignatureTemplate, ESignatureError>;
    /// Archives (soft-deletes) a template; archiving an already archived or unknown one is `Ok`.
    async fn archive_template(&self, id: i64) -> Result<(), ESignatureError>;
}

/// Legal agreement templates. Every method is scoped to one organization.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LegalTemplateStore: Send + Sync {
    /// Whether a live template of the organization has this name, case-insensitively.
    async fn template_name_taken(
        &self,
        organization: OrganizationId,
        name: &str,
    ) -> Result<bool, StoreError>;

    /// Stores the template and its `legal_template_created` event in one transaction.
    ///
    /// # Errors
    /// `Conflict` when the name is taken (case-insensitively) in the organization, as a
    /// concurrent creation may do after `template_name_taken` said no.
    async fn insert_template(
        &self,
        template: crate::legal::model::LegalTemplate,
    ) -> Result<(), StoreError>;

    async fn list_templates(
        &self,
        organization: OrganizationId,
        partner: Option<PartnerId>,
    ) -> Result<Vec<crate::legal::model::LegalTemplate>, StoreError>;

    async fn get_template(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<Option<crate::legal::model::LegalTemplate>, StoreError>;

    /// `Ok(false)` when there is no such template in the organization.
    async fn delete_template(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<bool, StoreError>;
}
