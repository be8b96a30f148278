//! Ports to external services (e-signature, object storage, captcha), with the vocabulary they
//! share with the use cases. Adapters live in their own crates.

use async_trait::async_trait;
use std::net::IpAddr;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// E-signature (Docuseal)

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

// ---------------------------------------------------------------------------------------------
// Object storage

/// Which kind of store holds the files (reported to clients as `provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageProvider {
    Supabase,
    S3,
    Local,
}

impl StorageProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Supabase => "supabase",
            Self::S3 => "s3",
            Self::Local => "local",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the object store did not answer in time")]
    Timeout,
    #[error("the object store failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An object store with public URLs (S3-compatible, Supabase Storage, or the local disk).
///
/// # Errors
/// `Timeout` when the store does not answer within the adapter's timeout; `Failed` for every
/// other failure (refused connection, error status, local I/O error).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ObjectStore: Send + Sync {
    fn provider(&self) -> StorageProvider;
    /// The public URL of `key`.
    fn public_url(&self, key: &str) -> String;
    /// Stores the file at `path` (streamed, not read into memory) under `key`.
    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), StorageError>;
    /// Removes `key`; removing a missing key is `Ok`.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
}

// ---------------------------------------------------------------------------------------------
// Captcha (Cloudflare Turnstile)

/// The captcha service's verdict on a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptchaVerdict {
    Passed,
    /// Refused, with the service's error codes (e.g. `invalid-input-response`).
    Failed(Vec<String>),
}

#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("the captcha service is unreachable, slow or answered garbage")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Server-side captcha verification. Fails closed: anything but a clear verdict is an error.
///
/// # Errors
/// `Unavailable` for connection failures, timeouts, non-2xx statuses and unparsable bodies,
/// and when the service itself reports `internal-error`.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Captcha: Send + Sync {
    async fn verify(
        &self,
        token: &str,
        remote_ip: Option<IpAddr>,
    ) -> Result<CaptchaVerdict, CaptchaError>;
}
