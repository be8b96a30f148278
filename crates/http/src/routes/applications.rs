//! Application forms (internal), the public form and submission, and banner uploads.

use crate::dto::SuccessResponse;
use crate::dto::applications::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, path_id};
use crate::multipart::read_spooled_form;
use crate::openapi::{DatabaseUnavailable, JsonBodyErrors, SignedInErrors};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use partneros_domain::applications::input::SubmitInput;
use partneros_domain::applications::model::SubmissionCursor;
use partneros_domain::applications::service::DEFAULT_PAGE;
use partneros_domain::banners::model::{MAX_BANNER_BYTES, SNIFF_BYTES};
use partneros_domain::banners::service::BannerUpload;

fn base(state: &AppState) -> &str {
    &state.settings.public_base_url
}

#[utoipa::path(tag = "applications", request_body = ApplicationRequest,
    responses(
        (status = 201, description = "Created", body = ApplicationResponse),
        (status = 400, description = "Invalid input (per-item details) or no active organization", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
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
        (status = 403, description = "Partner-portal users may not read", body = ErrorBody),
        SignedInErrors,
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
        (status = 403, description = "Partner-portal users may not read", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        SignedInErrors,
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
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
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
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        SignedInErrors,
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
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 409, description = "The application has a link with this slug", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
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
        (status = 403, description = "Partner-portal users may not read", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        SignedInErrors,
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
        (status = 403, description = "Partner-portal users may not read", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        SignedInErrors,
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
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such submission in the active organization", body = ErrorBody),
        (status = 409, description = "Already reviewed, or the partner's domain is taken", body = ErrorBody),
        SignedInErrors,
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
        (status = 403, description = "Viewers and partner-portal users may not write", body = ErrorBody),
        (status = 404, description = "No such submission in the active organization", body = ErrorBody),
        (status = 409, description = "Already reviewed", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
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
        DatabaseUnavailable,
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
    description = "Submits an application to a published form. Callable from a page of any origin (CORS without credentials), \
so a form on the customer's own site can post here with `fetch` and a JSON body (the hosted page and the `/embed.js` iframe do the same). \
With Turnstile configured, `turnstileToken` is the token of a widget rendered with the form's `turnstileSiteKey`.",
    responses(
        (status = 200, description = "Stored; show the confirmation message", body = SubmitResponse),
        (status = 400, description = "`validation_failed` (details per field, e.g. `formData.email`), `invalid_json` or `captcha_failed`", body = ErrorBody),
        (status = 404, description = "Unknown, draft or closed form", body = ErrorBody),
        (status = 409, description = "`duplicate_submission`: this email already applied and is pending or approved", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 429, description = "More than 10 submissions a minute from this address; see Retry-After", body = ErrorBody),
        (status = 502, description = "The captcha service is unreachable; nothing was recorded", body = ErrorBody),
        DatabaseUnavailable,
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
        (status = 403, description = "Viewers and partner-portal users may not upload", body = ErrorBody),
        (status = 404, description = "No such application in the active organization", body = ErrorBody),
        (status = 413, description = "Over 5 MiB (5242880 bytes)", body = ErrorBody),
        (status = 415, description = "Not multipart, or not a JPEG, PNG, WebP or GIF (judged by content)", body = ErrorBody),
        (status = 429, description = "Over 20 uploads a minute for this user in this organization; see Retry-After", body = ErrorBody),
        (status = 502, description = "The file store failed; nothing was changed", body = ErrorBody),
        SignedInErrors,
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
