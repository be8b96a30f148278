//! Partner records.

use crate::dto::partners::*;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, path_id};
use crate::openapi::{JsonBodyErrors, SignedInErrors};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use partneros_domain::shared::ids::PartnerId;

#[utoipa::path(
    tag = "partners",
    params(ListPartnersQuery),
    responses(
        (status = 200, description = "A page of partners, newest first", body = PartnersResponse),
        (status = 400, description = "Invalid filter, limit or cursor, or no active organization", body = ErrorBody),
        (status = 403, description = "Partner-portal users may not list partners", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/partners")]
pub async fn list_partners(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListPartnersQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, cursor, limit) = parse_list(query.into_inner())?;
    let page = state
        .partners
        .list(&caller.0, filter, cursor, limit)
        .await?;
    Ok(HttpResponse::Ok().json(PartnersResponse {
        partners: page.partners.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(
    tag = "partners",
    request_body = CreatePartnerRequest,
    responses(
        (status = 201, description = "Created with its primary contact, who gets a `partner` account and a set-password invitation", body = PartnerResponse),
        (status = 400, description = "Invalid input or no active organization", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not create partners", body = ErrorBody),
        (status = 409, description = "The organization already has a partner with this domain", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/partners")]
pub async fn create_partner(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreatePartnerRequest>,
) -> Result<HttpResponse, ApiError> {
    let input = into_create(body.0)?;
    let partner = state.partners.create(&caller.0, input).await?;
    Ok(HttpResponse::Created().json(PartnerResponse {
        partner: partner.into(),
    }))
}

#[utoipa::path(
    tag = "partners",
    params(("partnerId" = uuid::Uuid, Path, description = "The partner's id")),
    responses(
        (status = 200, description = "The partner", body = PartnerResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Partner-portal users may not read partner records", body = ErrorBody),
        (status = 404, description = "No such partner in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/partners/{partnerId}")]
pub async fn get_partner(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId::from_uuid(path_id(&path, "partnerId")?);
    let partner = state.partners.get(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(PartnerResponse {
        partner: partner.into(),
    }))
}

#[utoipa::path(
    tag = "partners",
    params(("partnerId" = uuid::Uuid, Path, description = "The partner's id")),
    request_body = UpdatePartnerRequest,
    responses(
        (status = 200, description = "The changed partner", body = PartnerResponse),
        (status = 400, description = "Invalid input, unknown or server-set keys, malformed id, or no active organization", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not change partners", body = ErrorBody),
        (status = 404, description = "No such partner in the active organization", body = ErrorBody),
        (status = 409, description = "Another partner of the organization has this domain", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[patch("/partners/{partnerId}")]
pub async fn update_partner(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<UpdatePartnerRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId::from_uuid(path_id(&path, "partnerId")?);
    let patch = into_patch(body.0)?;
    let partner = state.partners.update(&caller.0, id, patch).await?;
    Ok(HttpResponse::Ok().json(PartnerResponse {
        partner: partner.into(),
    }))
}

#[utoipa::path(
    tag = "partners",
    params(("partnerId" = uuid::Uuid, Path, description = "The partner's id")),
    responses(
        (status = 200, description = "Deleted with its contacts; its portal accounts lose access", body = SuccessResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not delete partners", body = ErrorBody),
        (status = 404, description = "No such partner in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/partners/{partnerId}")]
pub async fn delete_partner(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId::from_uuid(path_id(&path, "partnerId")?);
    state.partners.delete(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(SuccessResponse::OK))
}
