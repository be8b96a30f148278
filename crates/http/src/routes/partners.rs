//! Partner records.

use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, Presented, path_id};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use partneros_domain::partners::input::{
    ContactInput, PartnerInput, PartnerPatchInput, PartnerQueryInput,
};
use partneros_domain::partners::model::{
    CreatePartner, PartnerCursor, PartnerFilter, PartnerPatch,
};
use partneros_domain::partners::service::DEFAULT_PAGE;
use partneros_domain::shared::ids::PartnerId;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPartnersQuery {
    /// Substring of the name or domain, case-insensitive.
    pub q: Option<String>,
    /// Partner type.
    #[serde(rename = "type")]
    #[param(value_type = Option<PartnerTypeName>)]
    pub partner_type: Option<String>,
    #[param(value_type = Option<PartnerStageName>)]
    pub stage: Option<String>,
    /// Exact tier, e.g. `Gold`.
    pub tier: Option<String>,
    /// 1..100, default 25.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

fn parse_list(
    q: ListPartnersQuery,
) -> Result<(PartnerFilter, Option<PartnerCursor>, i64), ApiError> {
    let limit = crate::extract::page_limit(q.limit.as_deref(), DEFAULT_PAGE);
    let input = PartnerQueryInput {
        q: q.q,
        partner_type: q.partner_type,
        stage: q.stage,
        tier: q.tier,
        cursor: q.cursor,
    };
    PartnerFilter::parse(input, limit, DEFAULT_PAGE).map_err(|e| ApiError::validation(e.0))
}

/// The request as the domain's input; the domain validates it.
fn into_create(b: CreatePartnerRequest) -> Result<CreatePartner, ApiError> {
    let c = b.primary_contact;
    CreatePartner::parse(PartnerInput {
        name: b.name,
        domain: b.domain,
        logo_url: b.logo_url,
        partner_type: b.partner_type,
        subtype: b.subtype,
        category: b.category,
        tier: b.tier,
        stage: b.stage,
        manager_id: b.manager_id,
        products: b.products,
        primary_contact: ContactInput {
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
        },
    })
    .map_err(|e| ApiError::validation(e.0))
}

/// The request as the domain's input; the domain validates it.
fn into_patch(b: UpdatePartnerRequest) -> Result<PartnerPatch, ApiError> {
    PartnerPatch::parse(PartnerPatchInput {
        name: b.name,
        domain: b.domain,
        logo_url: b.logo_url,
        partner_type: b.partner_type,
        subtype: b.subtype,
        category: b.category,
        tier: b.tier,
        tier_source: b.tier_source,
        stage: b.stage,
        manager_id: b.manager_id,
        products: b.products,
    })
    .map_err(|e| ApiError::validation(e.0))
}

#[utoipa::path(
    tag = "partners",
    params(ListPartnersQuery),
    responses(
        (status = 200, description = "A page of partners, newest first", body = PartnersResponse),
        (status = 400, description = "Invalid filter, limit or cursor, or no active organization", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Partner-portal users may not list partners", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
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
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not create partners", body = ErrorBody),
        (status = 409, description = "The organization already has a partner with this domain", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
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
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Partner-portal users may not read partner records", body = ErrorBody),
        (status = 404, description = "No such partner in the active organization", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/partners/{partnerId}")]
pub async fn get_partner(
    state: web::Data<AppState>,
    presented: Presented,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId::from_uuid(path_id(&path, "partnerId")?);
    let partner = state.partners.get_with_credential(presented.0, id).await?;
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
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not change partners", body = ErrorBody),
        (status = 404, description = "No such partner in the active organization", body = ErrorBody),
        (status = 409, description = "Another partner of the organization has this domain", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
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
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not delete partners", body = ErrorBody),
        (status = 404, description = "No such partner in the active organization", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
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
