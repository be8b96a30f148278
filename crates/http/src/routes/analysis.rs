//! Partner analysis and the organization's ideal partner profile.

use crate::dto::{PartnerDto, Timestamp};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, Presented, path_id};
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, put, web};
use partneros_domain::ErrorKind;
use partneros_domain::analysis::ideal::IdealProfileInput;
use partneros_domain::analysis::scoring::IdealPartnerProfile;
use partneros_domain::shared::ids::PartnerId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyzeQuery {
    /// `true` bypasses the 7-day domain cache and analyzes the site again (limited per
    /// organization per day).
    #[param(value_type = Option<bool>)]
    pub refresh: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyzeResponse {
    pub partner: PartnerDto,
    /// `{fitScore, confidence, dimensions, strengths, risks, summary, sources, enrichedBy,
    /// cached, cachedAt, expiresAt}`; also stored on the partner.
    #[schema(value_type = Object)]
    pub ai_insights: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeRangeDto {
    #[schema(minimum = 1)]
    pub min: Option<i64>,
    #[schema(minimum = 1)]
    pub max: Option<i64>,
}

/// Per-dimension weights, each 0..10 (0 leaves the dimension out); missing ones are 1.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightsDto {
    pub industry_fit: Option<f64>,
    pub market_overlap: Option<f64>,
    pub language_coverage: Option<f64>,
    pub company_size_fit: Option<f64>,
    pub service_complementarity: Option<f64>,
}

/// The ideal partner profile; a `PUT` replaces it whole (missing lists are empty).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdealProfileRequest {
    #[serde(default)]
    pub target_industries: Vec<String>,
    /// Region names (`North America`, `EMEA`, `DACH`…) or ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub target_regions: Vec<String>,
    /// ISO 639-1 codes (tags such as `en-US` and English names are accepted and converted).
    #[serde(default)]
    pub target_languages: Vec<String>,
    pub employee_range: Option<EmployeeRangeDto>,
    #[serde(default)]
    pub sought_services: Vec<String>,
    #[serde(default)]
    pub weights: WeightsDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdealProfileDto {
    pub target_industries: Vec<String>,
    pub target_regions: Vec<String>,
    pub target_languages: Vec<String>,
    pub employee_range: Option<EmployeeRangeDto>,
    pub sought_services: Vec<String>,
    pub weights: WeightsDto,
    /// When it was last set; `null` while the defaults apply.
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdealProfileResponse {
    pub ideal_partner_profile: IdealProfileDto,
}

fn dto(p: IdealPartnerProfile, at: Option<chrono::DateTime<chrono::Utc>>) -> IdealProfileResponse {
    let w = p.weights;
    IdealProfileResponse {
        ideal_partner_profile: IdealProfileDto {
            target_industries: p.target_industries,
            target_regions: p.target_regions,
            target_languages: p.target_languages,
            employee_range: p.employee_range.map(|r| EmployeeRangeDto {
                min: r.min,
                max: r.max,
            }),
            sought_services: p.sought_services,
            weights: WeightsDto {
                industry_fit: Some(w.industry_fit),
                market_overlap: Some(w.market_overlap),
                language_coverage: Some(w.language_coverage),
                company_size_fit: Some(w.company_size_fit),
                service_complementarity: Some(w.service_complementarity),
            },
            updated_at: at.map(Into::into),
        },
    }
}

#[utoipa::path(
    tag = "partners",
    params(("partnerId" = uuid::Uuid, Path, description = "The partner's id"), AnalyzeQuery),
    responses(
        (status = 200, description = "Analyzed: enriched fields, fit score and insights stored on the partner", body = AnalyzeResponse),
        (status = 400, description = "Malformed id or query, or no active organization", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Viewers and partner-portal users may not analyze", body = ErrorBody),
        (status = 404, description = "No such partner in the active organization", body = ErrorBody),
        (status = 429, description = "The organization has used its analysis refreshes (`ANALYSIS_REFRESHES_PER_DAY`) or language-model calls (`LLM_CALLS_PER_DAY`) of the last 24 hours; the message names which, `Retry-After` says when one is free again, and nothing was changed", body = ErrorBody),
        (status = 502, description = "The language model failed after retries; the partner is unchanged", body = ErrorBody),
        (status = 503, description = "Database unavailable, or another analysis of the same domain is still running", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/partners/{partnerId}/analyze")]
pub async fn analyze_partner(
    state: web::Data<AppState>,
    presented: Presented,
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
    let credential = presented.0;
    let outcome = actix_web::rt::spawn(async move {
        service
            .analyze_with_credential(credential, id, refresh)
            .await
    })
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
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Partner-portal users may not read it", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/organization/ideal-partner-profile")]
pub async fn get_ideal_profile(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (profile, at) = state.analysis.ideal_profile(&caller.0).await?;
    Ok(HttpResponse::Ok().json(dto(profile, at)))
}

#[utoipa::path(
    tag = "partners",
    request_body = IdealProfileRequest,
    responses(
        (status = 200, description = "Replaced; applies to analyses from now on", body = IdealProfileResponse),
        (status = 400, description = "Invalid input or no active organization", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only owners and admins may change it", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
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
    Ok(HttpResponse::Ok().json(dto(profile, Some(at))))
}
