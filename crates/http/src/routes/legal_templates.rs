//! Legal agreement templates (Docuseal).

use crate::dto::SuccessResponse;
use crate::dto::legal_templates::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, path_id};
use crate::multipart::read_spooled_form;
use crate::openapi::SignedInErrors;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use partneros_domain::legal::model::{MAX_PDF_BYTES, PDF_MAGIC};
use partneros_domain::legal::service::TemplateUpload;
use partneros_domain::shared::ids::PartnerId;

#[utoipa::path(
    tag = "legal-templates",
    request_body(content = TemplateForm, content_type = "multipart/form-data",
        description = "Parts: `file`, `partnerId`, `name`, `description`?, `scope`, `roles`, `fields`"),
    responses(
        (status = 200, description = "Created in Docuseal and recorded", body = CreatedTemplateResponse),
        (status = 400, description = "Invalid, missing or duplicate parts (with per-item details), or no active organization", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not create templates", body = ErrorBody),
        (status = 404, description = "No such partner in the active organization", body = ErrorBody),
        (status = 409, description = "`name_taken`: the organization has a template with this name", body = ErrorBody),
        (status = 413, description = "The PDF is larger than 20 MiB", body = ErrorBody),
        (status = 429, description = "More than 10 template uploads a minute by this user in this organization; see `Retry-After` (checked before the body is read)", body = ErrorBody),
        (status = 415, description = "Not multipart, or the file is not a PDF", body = ErrorBody),
        (status = 502, description = "Docuseal is not configured, unreachable, slow, refusing, or lacks the PDF API; nothing was recorded", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/partners/legal-templates")]
pub async fn create_template(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Role and rate limit first: a refused upload is not read.
    state.legal_templates.admit(&caller.0).await?;
    let (file, mut texts) = read_spooled_form(
        &req,
        payload.into_inner(),
        "file",
        MAX_PDF_BYTES as u64,
        PDF_MAGIC.len(),
        &[
            ("partnerId", 100),
            ("name", 4 * 1024),
            ("description", 16 * 1024),
            ("scope", 100),
            ("roles", 16 * 1024),
            ("fields", 512 * 1024),
        ],
    )
    .await?;
    let upload = TemplateUpload {
        partner_id: texts.remove("partnerId"),
        name: texts.remove("name"),
        description: texts.remove("description"),
        scope: texts.remove("scope"),
        roles: texts.remove("roles"),
        fields: texts.remove("fields"),
        pdf: file.as_ref().map(|f| f.file.path().to_owned()),
        head: file.as_ref().map(|f| f.head.clone()).unwrap_or_default(),
        len: file.as_ref().map_or(0, |f| f.len),
    };
    // `file` (the temporary file) lives until the template is created.
    let template = state.legal_templates.create(&caller.0, upload).await?;
    drop(file);
    Ok(HttpResponse::Ok().json(CreatedTemplateResponse {
        success: true,
        template: template.into(),
    }))
}

#[utoipa::path(
    tag = "legal-templates",
    params(ListTemplatesQuery),
    responses(
        (status = 200, description = "Templates of the active organization, newest first", body = TemplatesResponse),
        (status = 400, description = "Malformed partnerId or no active organization", body = ErrorBody),
        (status = 403, description = "Partner-portal users may not list templates", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/partners/legal-templates")]
pub async fn list_templates(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListTemplatesQuery>,
) -> Result<HttpResponse, ApiError> {
    let partner = match query.partner_id.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(PartnerId::from_uuid(path_id(p, "partnerId")?)),
        None => None,
    };
    let templates = state.legal_templates.list(&caller.0, partner).await?;
    Ok(HttpResponse::Ok().json(TemplatesResponse {
        templates: templates.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    tag = "legal-templates",
    params(("templateId" = Uuid, Path, description = "The template's id")),
    responses(
        (status = 200, description = "The template", body = TemplateResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Partner-portal users may not read templates", body = ErrorBody),
        (status = 404, description = "No such template in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/partners/legal-templates/{templateId}")]
pub async fn get_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "templateId")?;
    let template = state.legal_templates.get(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(TemplateResponse {
        template: template.into(),
    }))
}

#[utoipa::path(
    tag = "legal-templates",
    params(("templateId" = Uuid, Path, description = "The template's id")),
    responses(
        (status = 200, description = "Archived in Docuseal and deleted", body = SuccessResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not delete templates", body = ErrorBody),
        (status = 404, description = "No such template in the active organization", body = ErrorBody),
        (status = 502, description = "Docuseal could not archive it; the template is kept", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/partners/legal-templates/{templateId}")]
pub async fn delete_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, "templateId")?;
    state.legal_templates.delete(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(SuccessResponse::OK))
}
