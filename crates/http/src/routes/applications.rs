//! Application forms (internal), the public form and submission, and banner uploads.

use crate::dto::{SuccessResponse, Timestamp};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, path_id};
use crate::multipart::read_spooled_form;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use partneros_domain::applications::input::{ApplicationInput, SubmitInput};
use partneros_domain::applications::model::{
    AffiliateLink, Application, Submission, SubmissionCursor,
};
use partneros_domain::applications::service::DEFAULT_PAGE;
use partneros_domain::banners::model::{MAX_BANNER_BYTES, SNIFF_BYTES};
use partneros_domain::banners::service::BannerUpload;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn to_json<T: Serialize>(v: &T) -> Value {
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
    /// The hosted form.
    pub form_url: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ApplicationDto {
    fn new(a: Application, base: &str) -> Self {
        Self {
            form_url: format!("{base}/apply/{}", a.slug),
            id: a.id,
            organization_id: a.organization_id.as_uuid(),
            status: a.status.as_str(),
            fields: to_json(&a.fields),
            agreements: to_json(&a.agreements),
            content: to_json(&a.content),
            partner_mapping: to_json(&a.partner_mapping),
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
    pub partner: crate::dto::PartnerDto,
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

fn base(state: &AppState) -> &str {
    &state.settings.public_base_url
}

const AUTH: &str = "Not signed in";

#[utoipa::path(tag = "applications", request_body = ApplicationRequest,
    responses(
        (status = 201, description = "Created", body = ApplicationResponse),
        (status = 400, description = "Invalid input (per-item details) or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[post("/partners/applications")]
pub async fn create_application(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<ApplicationRequest>,
) -> Result<HttpResponse, ApiError> {
    let app = state.applications.create(&caller.0, body.0.into()).await?;
    Ok(HttpResponse::Created().json(ApplicationResponse {
        application: ApplicationDto::new(app, base(&state)),
    }))
}

#[utoipa::path(tag = "applications",
    responses(
        (status = 200, description = "The organization's applications", body = ApplicationsResponse),
        (status = 400, description = "No active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Partner-portal users may not read", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[get("/partners/applications")]
pub async fn list_applications(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let apps = state.applications.list(&caller.0).await?;
    Ok(HttpResponse::Ok().json(ApplicationsResponse {
        applications: apps
            .into_iter()
            .map(|a| ApplicationDto::new(a, base(&state)))
            .collect(),
    }))
}

#[utoipa::path(tag = "applications", params(("applicationId" = Uuid, Path, description = "The application's id")),
    responses(
        (status = 200, description = "The application", body = ApplicationResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Partner-portal users may not read", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[get("/partners/applications/{applicationId}")]
pub async fn get_application(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "applicationId")?;
    let app = state.applications.get(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(ApplicationResponse {
        application: ApplicationDto::new(app, base(&state)),
    }))
}

#[utoipa::path(tag = "applications", params(("applicationId" = Uuid, Path, description = "The application's id")),
    request_body = ApplicationRequest,
    responses(
        (status = 200, description = "The changed application", body = ApplicationResponse),
        (status = 400, description = "Invalid input, malformed id or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[patch("/partners/applications/{applicationId}")]
pub async fn update_application(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<ApplicationRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "applicationId")?;
    let app = state
        .applications
        .update(&caller.0, id, body.0.into())
        .await?;
    Ok(HttpResponse::Ok().json(ApplicationResponse {
        application: ApplicationDto::new(app, base(&state)),
    }))
}

#[utoipa::path(tag = "applications", params(("applicationId" = Uuid, Path, description = "The application's id")),
    responses(
        (status = 200, description = "Deleted with its links and submissions", body = SuccessResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[delete("/partners/applications/{applicationId}")]
pub async fn delete_application(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "applicationId")?;
    state.applications.delete(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(SuccessResponse::OK))
}

#[utoipa::path(tag = "applications", params(("applicationId" = Uuid, Path, description = "The application's id")),
    request_body = AffiliateLinkRequest,
    responses(
        (status = 201, description = "Created", body = AffiliateLinkResponse),
        (status = 400, description = "Invalid input, malformed id or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 409, description = "The application has a link with this slug", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[post("/partners/applications/{applicationId}/affiliate-links")]
pub async fn create_affiliate_link(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<AffiliateLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "applicationId")?;
    let b = body.0;
    let link = state
        .applications
        .create_affiliate_link(&caller.0, id, &b.slug, b.label.as_deref(), b.partner_id)
        .await?;
    Ok(HttpResponse::Created().json(AffiliateLinkResponse {
        affiliate_link: link.into(),
    }))
}

#[utoipa::path(tag = "applications", params(("applicationId" = Uuid, Path, description = "The application's id")),
    responses(
        (status = 200, description = "The application's links with their lead counts", body = AffiliateLinksResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Partner-portal users may not read", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[get("/partners/applications/{applicationId}/affiliate-links")]
pub async fn list_affiliate_links(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "applicationId")?;
    let links = state
        .applications
        .list_affiliate_links(&caller.0, id)
        .await?;
    Ok(HttpResponse::Ok().json(AffiliateLinksResponse {
        affiliate_links: links.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(tag = "applications", params(("applicationId" = Uuid, Path, description = "The application's id"), PageQuery),
    responses(
        (status = 200, description = "Submissions, newest first", body = SubmissionsResponse),
        (status = 400, description = "Malformed id, limit or cursor, or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Partner-portal users may not read", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[get("/partners/applications/{applicationId}/submissions")]
pub async fn list_submissions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "applicationId")?;
    let limit = crate::extract::page_limit(query.limit.as_deref(), DEFAULT_PAGE)
        .map_err(|m| ApiError::field("limit", m))?;
    let cursor = match query.cursor.as_deref() {
        None => None,
        Some(c) => Some(SubmissionCursor::decode(c).map_err(|e| ApiError::field("cursor", &e.0))?),
    };
    let (rows, next) = state
        .applications
        .list_submissions(&caller.0, id, cursor, limit)
        .await?;
    Ok(HttpResponse::Ok().json(SubmissionsResponse {
        submissions: rows.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(tag = "applications", params(("submissionId" = Uuid, Path, description = "The submission's id")),
    responses(
        (status = 200, description = "Approved; the partner and its primary contact were created from the answers", body = ApprovedResponse),
        (status = 400, description = "The answers lack what the partner mapping needs, malformed id or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such submission in the active organization", body = ErrorBody),
        (status = 409, description = "Already reviewed, or the partner's domain is taken", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[post("/partners/applications/submissions/{submissionId}/approve")]
pub async fn approve_submission(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "submissionId")?;
    let (submission, partner) = state.applications.approve(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(ApprovedResponse {
        submission: submission.into(),
        partner: partner.into(),
    }))
}

#[utoipa::path(tag = "applications", params(("submissionId" = Uuid, Path, description = "The submission's id")),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "Rejected", body = SubmissionResponse),
        (status = 400, description = "Invalid reason, malformed id or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such submission in the active organization", body = ErrorBody),
        (status = 409, description = "Already reviewed", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[post("/partners/applications/submissions/{submissionId}/reject")]
pub async fn reject_submission(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<RejectRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "submissionId")?;
    let submission = state
        .applications
        .reject(&caller.0, id, body.0.reason.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(SubmissionResponse {
        submission: submission.into(),
    }))
}

#[utoipa::path(tag = "public", params(("slug" = String, Path, description = "The form's public slug")),
    responses(
        (status = 200, description = "The published form as a prospect sees it", body = PublicApplicationResponse),
        (status = 404, description = "Unknown, draft or closed", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
// Mounted in the scope `/api/partners/applications/public` (see `routes_of`).
#[get("/{slug}")]
pub async fn public_application(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let form = state.applications.public_form(&path).await?;
    let a = form.application;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-cache"))
        .json(PublicApplicationResponse {
            application: PublicApplicationDto {
                fields: to_json(&a.fields),
                agreements: to_json(&a.agreements),
                content: to_json(&a.content),
                slug: a.slug,
                name: a.name,
                turnstile_site_key: form.turnstile_site_key,
            },
        }))
}

#[utoipa::path(tag = "public", request_body = SubmitRequest,
    responses(
        (status = 200, description = "Stored; show the confirmation message", body = SubmitResponse),
        (status = 400, description = "`validation_failed` (details per field, e.g. `formData.email`), `invalid_json` or `captcha_failed`", body = ErrorBody),
        (status = 404, description = "Unknown, draft or closed form", body = ErrorBody),
        (status = 409, description = "`duplicate_submission`: this email already applied and is pending or approved", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 429, description = "More than 10 submissions a minute from this address; see Retry-After", body = ErrorBody),
        (status = 502, description = "The captcha service is unreachable; nothing was recorded", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
// Mounted as the scope `/api/partners/applications/submit` (see `routes_of`).
#[post("")]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<SubmitRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let ip = crate::extract::client_ip(&req, state.settings.forwarded_hops);
    let message = state
        .applications
        .submit(
            SubmitInput {
                slug: b.slug,
                form_data: b.form_data,
                accepted_agreements: b.accepted_agreements,
                affiliate_slug: b.affiliate_slug,
                turnstile_token: b.turnstile_token,
            },
            ip,
        )
        .await?;
    Ok(HttpResponse::Ok().json(SubmitResponse {
        success: true,
        confirmation_message: message,
    }))
}

#[utoipa::path(tag = "applications",
    request_body(content = BannerForm, content_type = "multipart/form-data", description = "Parts: `file`, `applicationId`?"),
    responses(
        (status = 200, description = "Stored", body = BannerResponse),
        (status = 400, description = "Missing file, malformed applicationId or no active organization", body = ErrorBody),
        (status = 401, description = AUTH, body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not upload", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 413, description = "Over 5 MiB (5242880 bytes)", body = ErrorBody),
        (status = 415, description = "Not multipart, or not a JPEG, PNG, WebP or GIF (judged by content)", body = ErrorBody),
        (status = 429, description = "Over 20 uploads a minute for this user in this organization; see Retry-After", body = ErrorBody),
        (status = 502, description = "The file store failed; nothing was changed", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
#[post("/partners/applications/banner")]
pub async fn upload_banner(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Role and rate limit first: a refused upload is not read.
    let membership = state.banners.admit(&caller.0).await?;
    let (file, mut texts) = read_spooled_form(
        &req,
        payload.into_inner(),
        "file",
        MAX_BANNER_BYTES,
        SNIFF_BYTES,
        &[("applicationId", 100)],
    )
    .await?;
    let Some(file) = file else {
        return Err(ApiError::field("file", "an image file is required"));
    };
    let stored = state
        .banners
        .store(
            &membership,
            BannerUpload {
                file: file.file.path().to_owned(),
                head: file.head,
                application_id: texts.remove("applicationId"),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(BannerResponse {
        path: stored.path,
        url: stored.url,
        provider: stored.provider.as_str(),
    }))
}

/// Files of the local store, served with their stored type and no sniffing.
#[get("/files/{key:.*}")]
pub async fn local_file(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::new(partneros_domain::ErrorKind::NotFound, "no such file");
    let root = state.settings.local_files.as_ref().ok_or_else(not_found)?;
    let key = path.into_inner();
    let safe = !key.is_empty()
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'));
    if !safe {
        return Err(not_found());
    }
    let ext = key.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    let kind =
        partneros_domain::banners::model::ImageKind::from_extension(ext).ok_or_else(not_found)?;
    let bytes = tokio::fs::read(root.join(&key))
        .await
        .map_err(|_| not_found())?;
    Ok(HttpResponse::Ok()
        .content_type(kind.content_type())
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("content-security-policy", "default-src 'none'; sandbox"))
        .insert_header(("cache-control", "public, max-age=31536000, immutable"))
        .body(bytes))
}
