//! Partner analysis and the organization's ideal partner profile.

use crate::dto::analysis::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, path_id};
use crate::openapi::{JsonBodyErrors, NotSignedIn, SignedInErrors};
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, put, web};
use partneros_domain::analysis::ideal::IdealProfileInput;
use partneros_domain::shared::error::ErrorKind;
use partneros_domain::shared::ids::PartnerId;

#[utoipa::path(
    tag = "partners",
    params(("partnerId" = uuid::Uuid, Path, description = "The partner's id"), AnalyzeQuery),
    responses(
        (status = 200, description = "Analyzed: enriched fields, fit score and insights stored on the partner", body = AnalyzeResponse),
        (status = 400, description = "Malformed id or query, or no active organization", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not analyze", body = ErrorBody),
        (status = 404, description = "No such partner in the active organization", body = ErrorBody),
        (status = 429, description = "The organization has used its analysis refreshes (`ANALYSIS_REFRESHES_PER_DAY`) or language-model calls (`LLM_CALLS_PER_DAY`) of the last 24 hours; the message names which, `Retry-After` says when one is free again, and nothing was changed", body = ErrorBody),
        (status = 502, description = "The language model failed after retries; the partner is unchanged", body = ErrorBody),
        (status = 503, description = "Database unavailable, or another analysis of the same domain is still running", body = ErrorBody),
        NotSignedIn,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/partners/{partnerId}/analyze")]
pub async fn analyze_partner(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<AnalyzeQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId::from_uuid(path_id(&path, "partnerId")?);
    let refresh = match query.refresh.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(_) => return Err(ApiError::field("refresh", "must be true or false")),
    };
    // The analysis runs on its own task: a client that goes away does not cancel it half-way
    // (others may be waiting for its result, and it finishes by persisting).
    let service = state.analysis.clone();
    let principal = caller.0;
    let outcome =
        actix_web::rt::spawn(async move { service.analyze(&principal, id, refresh).await })
            .await
            .map_err(|_| ApiError::new(ErrorKind::Internal, "the analysis task failed"))??;
    Ok(HttpResponse::Ok().json(AnalyzeResponse {
        partner: outcome.partner.into(),
        ai_insights: outcome.insights,
    }))
}

#[utoipa::path(
    tag = "partners",
    responses(
        (status = 200, description = "The organization's ideal partner profile (defaults while none is set)", body = IdealProfileResponse),
        (status = 400, description = "No active organization", body = ErrorBody),
        (status = 403, description = "Partner-portal users may not read it", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/organization/ideal-partner-profile")]
pub async fn get_ideal_profile(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (profile, at) = state.analysis.ideal_profile(&caller.0).await?;
    Ok(HttpResponse::Ok().json(IdealProfileResponse::new(profile, at)))
}

#[utoipa::path(
    tag = "partners",
    request_body = IdealProfileRequest,
    responses(
        (status = 200, description = "Replaced; applies to analyses from now on", body = IdealProfileResponse),
        (status = 400, description = "Invalid input or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins may change it", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[put("/organization/ideal-partner-profile")]
pub async fn put_ideal_profile(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<IdealProfileRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let w = b.weights;
    let input = IdealProfileInput {
        target_industries: b.target_industries,
        target_regions: b.target_regions,
        target_languages: b.target_languages,
        employee_range: b.employee_range.map(|r| (r.min, r.max)),
        sought_services: b.sought_services,
        weights: [
            w.industry_fit,
            w.market_overlap,
            w.language_coverage,
            w.company_size_fit,
            w.service_complementarity,
        ],
    };
    let (profile, at) = state.analysis.set_ideal_profile(&caller.0, input).await?;
    Ok(HttpResponse::Ok().json(IdealProfileResponse::new(profile, Some(at))))
}
