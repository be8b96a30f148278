//! Partner analysis and the ideal partner profile.

use super::Timestamp;
use super::partners::*;
use partneros_domain::analysis::scoring::IdealPartnerProfile;
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

impl IdealProfileResponse {
    /// The profile as set at `at` (`None` while the defaults apply).
    pub fn new(p: IdealPartnerProfile, at: Option<chrono::DateTime<chrono::Utc>>) -> Self {
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
}
