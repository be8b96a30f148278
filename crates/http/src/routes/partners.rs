//! Partner records.

use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, Presented, path_id};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use partneros_domain::partners::model::{
    CreatePartner, NewContact, PartnerCursor, PartnerFilter, PartnerPatch, ShortText,
    validate_products,
};
use partneros_domain::partners::service::DEFAULT_PAGE;
use partneros_domain::partners::web_domain::PartnerDomain;
use partneros_domain::shared::error::ValidationErrors;
use partneros_domain::shared::ids::{PartnerId, UserId};
use partneros_domain::shared::values::{BoundedText, Email, HttpsUrl};
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
    let mut errors = ValidationErrors::new();
    let partner_type = q
        .partner_type
        .as_deref()
        .and_then(|t| errors.check("type", t.parse()));
    let stage = q
        .stage
        .as_deref()
        .and_then(|s| errors.check("stage", s.parse()));
    let limit = crate::extract::page_limit(q.limit.as_deref(), DEFAULT_PAGE).unwrap_or_else(|m| {
        errors.push("limit", m);
        DEFAULT_PAGE
    });
    let cursor = q
        .cursor
        .as_deref()
        .and_then(|c| errors.check("cursor", PartnerCursor::decode(c)));
    let text = |field: &str, v: Option<String>, errors: &mut ValidationErrors| {
        v.filter(|s| !s.trim().is_empty()).and_then(|s| {
            if s.chars().count() > 200 {
                errors.push(field, "must be at most 200 characters");
                None
            } else if s.chars().any(char::is_control) {
                errors.push(field, "must not contain control characters");
                None
            } else {
                Some(s.trim().to_owned())
            }
        })
    };
    let filter = PartnerFilter {
        q: text("q", q.q, &mut errors),
        tier: text("tier", q.tier, &mut errors),
        partner_type,
        stage,
    };
    errors
        .into_result()
        .map_err(|e| ApiError::validation(e.0))?;
    Ok((filter, cursor, limit))
}

fn into_create(b: CreatePartnerRequest) -> Result<CreatePartner, ApiError> {
    let mut e = ValidationErrors::new();
    let name = e.check("name", BoundedText::parse(&b.name));
    let domain = b
        .domain
        .as_deref()
        .map(|d| e.check("domain", PartnerDomain::parse(d)));
    let logo_url = b
        .logo_url
        .as_deref()
        .map(|u| e.check("logoUrl", HttpsUrl::parse(u)));
    let partner_type = e.check("type", b.partner_type.parse());
    let subtype = b
        .subtype
        .as_deref()
        .map(|s| e.check("subtype", ShortText::parse(s)));
    let category = b
        .category
        .as_deref()
        .map(|c| e.check("category", c.parse()));
    let tier = b
        .tier
        .as_deref()
        .map(|t| e.check("tier", ShortText::parse(t)));
    let stage = match b.stage.as_deref() {
        Some(s) => e.check("stage", s.parse()),
        None => Some(partneros_domain::partners::model::PartnerStage::Prospect),
    };
    let products = validate_products(b.products.as_deref().unwrap_or_default(), &mut e);
    let c = b.primary_contact;
    let first_name = e.check("primaryContact.firstName", ShortText::parse(&c.first_name));
    let last_name = e.check("primaryContact.lastName", ShortText::parse(&c.last_name));
    let email = e.check("primaryContact.email", Email::parse(&c.email));
    match (name, partner_type, stage, first_name, last_name, email) {
        (
            Some(name),
            Some(partner_type),
            Some(stage),
            Some(first_name),
            Some(last_name),
            Some(email),
        ) if e.is_empty() => Ok(CreatePartner {
            name,
            domain: domain.flatten(),
            logo_url: logo_url.flatten(),
            partner_type,
            subtype: subtype.flatten(),
            category: category.flatten(),
            tier: tier.flatten(),
            stage,
            manager_id: b.manager_id.map(UserId::from_uuid),
            products,
            primary_contact: NewContact {
                first_name,
                last_name,
                email,
            },
        }),
        _ => Err(ApiError::validation(e.0)),
    }
}

/// Validates a nullable field of a patch: absent stays absent, `null` clears.
fn nullable<T, E: std::fmt::Display>(
    e: &mut ValidationErrors,
    field: &str,
    v: Option<Option<String>>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<Option<T>> {
    match v {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => e.check(field, parse(&s)).map(Some),
    }
}

fn into_patch(b: UpdatePartnerRequest) -> Result<PartnerPatch, ApiError> {
    let mut e = ValidationErrors::new();
    let patch = PartnerPatch {
        name: b
            .name
            .as_deref()
            .and_then(|n| e.check("name", BoundedText::parse(n))),
        domain: nullable(&mut e, "domain", b.domain, PartnerDomain::parse),
        logo_url: nullable(&mut e, "logoUrl", b.logo_url, HttpsUrl::parse),
        partner_type: b
            .partner_type
            .as_deref()
            .and_then(|t| e.check("type", t.parse())),
        subtype: nullable(&mut e, "subtype", b.subtype, ShortText::parse),
        category: nullable(&mut e, "category", b.category, str::parse),
        tier: nullable(&mut e, "tier", b.tier, ShortText::parse),
        tier_source: nullable(&mut e, "tierSource", b.tier_source, str::parse),
        stage: b.stage.as_deref().and_then(|s| e.check("stage", s.parse())),
        manager_id: b.manager_id.map(|m| m.map(UserId::from_uuid)),
        products: b.products.map(|p| validate_products(&p, &mut e)),
    };
    e.into_result().map_err(|e| ApiError::validation(e.0))?;
    Ok(patch)
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
