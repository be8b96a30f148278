//! Application forms, affiliate links, submissions, the public form and banners.

use super::Timestamp;
use partneros_domain::applications::input::ApplicationInput;
use partneros_domain::applications::model::{AffiliateLink, Application, Submission};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub(crate) fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDto {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub slug: String,
    /// `draft`, `published` or `closed`.
    pub status: &'static str,
    /// `[{fieldKey, label, type, required, options?, maxLength?, placeholder?, helpText?}]`
    #[schema(value_type = Vec<Object>)]
    pub fields: Value,
    /// `[{id, title, body, required}]`
    #[schema(value_type = Vec<Object>)]
    pub agreements: Value,
    /// `{title?, description?, confirmationMessage?, bannerUrl?}`
    #[schema(value_type = Object)]
    pub content: Value,
    /// Which fieldKeys become the partner on approval: `{name?, domain?, firstName?, lastName?, email?, type?}`.
    #[schema(value_type = Object)]
    pub partner_mapping: Value,
    /// Whether the organization's owners and admins are mailed a notice of each new
    /// submission.
    pub notify_submissions: bool,
    /// The hosted form.
    pub form_url: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ApplicationDto {
    pub(crate) fn new(a: Application, base: &str) -> Self {
        Self {
            form_url: format!("{base}/apply/{}", a.slug),
            id: a.id,
            organization_id: a.organization_id.as_uuid(),
            status: a.status.as_str(),
            fields: to_json(&a.fields),
            agreements: to_json(&a.agreements),
            content: to_json(&a.content),
            partner_mapping: to_json(&a.partner_mapping),
            notify_submissions: a.notify_on_submission,
            name: a.name,
            slug: a.slug,
            created_at: a.created_at.into(),
            updated_at: a.updated_at.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationResponse {
    pub application: ApplicationDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationsResponse {
    pub applications: Vec<ApplicationDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApplicationRequest {
    /// 1..200 characters (required on create).
    pub name: Option<String>,
    /// Public, globally unique, `[a-z0-9-]{3,64}` (required on create).
    pub slug: Option<String>,
    /// `draft` (default), `published` or `closed`.
    pub status: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub fields: Option<Value>,
    /// Sections without an `id` get one; send the ids back to keep them stable.
    #[schema(value_type = Option<Vec<Object>>)]
    pub agreements: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub content: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub partner_mapping: Option<Value>,
    /// Mail each owner and admin of the organization a notice of every new submission
    /// (default `true`; unchanged when absent on update).
    pub notify_submissions: Option<bool>,
}

impl From<ApplicationRequest> for ApplicationInput {
    fn from(r: ApplicationRequest) -> Self {
        Self {
            name: r.name,
            slug: r.slug,
            status: r.status,
            fields: r.fields,
            agreements: r.agreements,
            content: r.content,
            partner_mapping: r.partner_mapping,
            notify_submissions: r.notify_submissions,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AffiliateLinkDto {
    pub id: Uuid,
    pub slug: String,
    pub label: Option<String>,
    pub partner_id: Option<Uuid>,
    pub lead_count: i64,
    pub created_at: Timestamp,
}

impl From<AffiliateLink> for AffiliateLinkDto {
    fn from(l: AffiliateLink) -> Self {
        Self {
            id: l.id,
            slug: l.slug,
            label: l.label,
            partner_id: l.partner_id.map(|p| p.as_uuid()),
            lead_count: l.lead_count,
            created_at: l.created_at.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AffiliateLinkResponse {
    pub affiliate_link: AffiliateLinkDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AffiliateLinksResponse {
    pub affiliate_links: Vec<AffiliateLinkDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AffiliateLinkRequest {
    /// `[a-z0-9-]{3,64}`, unique within the application; the form is shared as `/apply/{slug}?ref={this}`.
    pub slug: String,
    pub label: Option<String>,
    pub partner_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionDto {
    pub id: Uuid,
    pub application_id: Uuid,
    #[schema(value_type = Object)]
    pub form_data: Value,
    pub accepted_agreements: Vec<Uuid>,
    pub email: Option<String>,
    pub affiliate_link_id: Option<Uuid>,
    pub affiliate_slug: Option<String>,
    /// `pending`, `approved` or `rejected`.
    pub status: &'static str,
    pub reject_reason: Option<String>,
    pub partner_id: Option<Uuid>,
    pub reviewed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl From<Submission> for SubmissionDto {
    fn from(s: Submission) -> Self {
        Self {
            id: s.id,
            application_id: s.application_id,
            form_data: Value::Object(s.form_data),
            accepted_agreements: s.accepted_agreements,
            email: s.email,
            affiliate_link_id: s.affiliate_link_id,
            affiliate_slug: s.affiliate_slug,
            status: s.status.as_str(),
            reject_reason: s.reject_reason,
            partner_id: s.partner_id.map(|p| p.as_uuid()),
            reviewed_at: s.reviewed_at.map(Into::into),
            created_at: s.created_at.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionsResponse {
    pub submissions: Vec<SubmissionDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovedResponse {
    pub submission: SubmissionDto,
    pub partner: crate::dto::partners::PartnerDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionResponse {
    pub submission: SubmissionDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicApplicationDto {
    pub slug: String,
    pub name: String,
    #[schema(value_type = Vec<Object>)]
    pub fields: Value,
    #[schema(value_type = Vec<Object>)]
    pub agreements: Value,
    #[schema(value_type = Object)]
    pub content: Value,
    /// Render the Turnstile widget with this key when set.
    pub turnstile_site_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicApplicationResponse {
    pub application: PublicApplicationDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SubmitRequest {
    pub slug: String,
    /// fieldKey → string (checkbox `"true"`/`"false"`; multiselect also a JSON array).
    #[schema(value_type = Object)]
    pub form_data: Value,
    /// Ids of the accepted agreement sections.
    #[schema(value_type = Vec<Uuid>)]
    pub accepted_agreements: Value,
    pub affiliate_slug: Option<String>,
    pub turnstile_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmitResponse {
    pub success: bool,
    pub confirmation_message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BannerResponse {
    /// The key within the banner store.
    pub path: String,
    pub url: String,
    /// `supabase`, `s3` or `local`.
    pub provider: &'static str,
}

/// The multipart form of a banner upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct BannerForm {
    /// JPEG, PNG, WebP or GIF (judged by its bytes), at most 5 MiB and 10000 px per side.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// Set the image as this application's banner.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub application_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1..100, default 25.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}
