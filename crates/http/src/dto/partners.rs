//! Partner records: the wire form, its enums, and requests converted into domain values.

use super::{Timestamp, double_option, non_null, ts};
use crate::error::ApiError;
use partneros_domain::partners::input::{
    ContactInput, PartnerInput, PartnerPatchInput, PartnerQueryInput,
};
use partneros_domain::partners::model::{
    CreatePartner, Partner, PartnerCategory, PartnerCursor, PartnerFilter, PartnerPatch,
    PartnerStage, PartnerType, TierSource,
};
use partneros_domain::partners::service::DEFAULT_PAGE;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrimaryContactDto {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerDto {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub logo_url: Option<String>,
    #[serde(rename = "type")]
    pub partner_type: PartnerTypeName,
    pub subtype: Option<String>,
    pub category: Option<PartnerCategoryName>,
    pub tier: Option<String>,
    pub tier_source: Option<TierSourceName>,
    pub stage: PartnerStageName,
    pub industry: Option<String>,
    pub description: Option<String>,
    pub employees: Option<i32>,
    pub employees_range: Option<String>,
    pub company_revenue: Option<String>,
    pub regions: Vec<String>,
    pub languages: Vec<String>,
    pub services: Vec<String>,
    pub products: Vec<String>,
    pub primary_contact: Option<PrimaryContactDto>,
    pub manager_id: Option<Uuid>,
    #[schema(minimum = 0, maximum = 100)]
    pub fit_score: Option<i16>,
    #[schema(value_type = Option<Object>)]
    pub ai_insights: Option<serde_json::Value>,
    pub analyzed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Partner> for PartnerDto {
    fn from(p: Partner) -> Self {
        Self {
            id: p.id.as_uuid(),
            organization_id: p.organization_id.as_uuid(),
            name: p.name,
            domain: p.domain,
            logo_url: p.logo_url,
            partner_type: p.partner_type.into(),
            subtype: p.subtype,
            category: p.category.map(Into::into),
            tier: p.tier,
            tier_source: p.tier_source.map(Into::into),
            stage: p.stage.into(),
            industry: p.industry,
            description: p.description,
            employees: p.employees,
            employees_range: p.employees_range,
            company_revenue: p.company_revenue,
            regions: p.regions,
            languages: p.languages,
            services: p.services,
            products: p.products,
            primary_contact: p.primary_contact.map(|c| PrimaryContactDto {
                id: c.id.as_uuid(),
                first_name: c.first_name,
                last_name: c.last_name,
                email: c.email,
            }),
            manager_id: p.manager_id.map(|m| m.as_uuid()),
            fit_score: p.fit_score,
            ai_insights: p.ai_insights,
            analyzed_at: p.analyzed_at.map(ts),
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartnerTypeName {
    Technology,
    Consulting,
    Services,
    Channel,
    Strategic,
    Reseller,
    Referral,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartnerCategoryName {
    Solution,
    Technology,
    Sales,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartnerStageName {
    Prospect,
    Onboarding,
    Active,
    Inactive,
    Churned,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TierSourceName {
    Auto,
    Manual,
}

mirror_enum!(PartnerTypeName <=> PartnerType {
    Technology,
    Consulting,
    Services,
    Channel,
    Strategic,
    Reseller,
    Referral,
});

mirror_enum!(PartnerCategoryName <=> PartnerCategory {
    Solution,
    Technology,
    Sales,
});

mirror_enum!(PartnerStageName <=> PartnerStage {
    Prospect,
    Onboarding,
    Active,
    Inactive,
    Churned,
});

mirror_enum!(TierSourceName <=> TierSource { Auto, Manual });

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerResponse {
    pub partner: PartnerDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnersResponse {
    pub partners: Vec<PartnerDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewContactRequest {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreatePartnerRequest {
    /// 1..200 characters.
    pub name: String,
    /// A domain or URL; stored normalized (`https://www.Acme.com/x` → `acme.com`).
    pub domain: Option<String>,
    /// An https URL.
    pub logo_url: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = PartnerTypeName)]
    pub partner_type: String,
    pub subtype: Option<String>,
    #[schema(value_type = Option<PartnerCategoryName>)]
    pub category: Option<String>,
    pub tier: Option<String>,
    #[schema(value_type = Option<PartnerStageName>)]
    pub stage: Option<String>,
    pub manager_id: Option<Uuid>,
    pub products: Option<Vec<String>>,
    pub primary_contact: NewContactRequest,
}

/// Only these fields can change; absent fields stay, `null` clears a nullable one.
/// Server-set fields (`id`, `organizationId`, `fitScore`, `aiInsights`, `analyzedAt`,
/// timestamps) and unknown keys are refused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdatePartnerRequest {
    #[serde(default, deserialize_with = "non_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub logo_url: Option<Option<String>>,
    #[serde(rename = "type", default, deserialize_with = "non_null")]
    #[schema(value_type = Option<PartnerTypeName>)]
    pub partner_type: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub subtype: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<PartnerCategoryName>)]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub tier: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<TierSourceName>)]
    pub tier_source: Option<Option<String>>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = Option<PartnerStageName>)]
    pub stage: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub manager_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "non_null")]
    pub products: Option<Vec<String>>,
}

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

/// The query as the domain's input; the domain validates it.
pub(crate) fn parse_list(
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
pub(crate) fn into_create(b: CreatePartnerRequest) -> Result<CreatePartner, ApiError> {
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
pub(crate) fn into_patch(b: UpdatePartnerRequest) -> Result<PartnerPatch, ApiError> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::schema_enum;
    use super::*;

    /// Every domain variant round-trips through its wire twin under the domain's own name, and
    /// the document's enum lists exactly the domain's names.
    macro_rules! mirrors {
        ($wire:ident, $domain:ident) => {{
            let names: Vec<&str> = $domain::ALL.iter().map(|v| v.as_str()).collect();
            assert_eq!(schema_enum::<$wire>(), names, stringify!($wire));
            for &value in $domain::ALL {
                let wire = $wire::from(value);
                assert_eq!(serde_json::to_value(&wire).unwrap(), value.as_str());
                assert_eq!($domain::from(wire), value);
            }
        }};
    }

    #[test]
    fn partner_enums_mirror_the_domain() {
        mirrors!(PartnerTypeName, PartnerType);
        mirrors!(PartnerCategoryName, PartnerCategory);
        mirrors!(PartnerStageName, PartnerStage);
        mirrors!(TierSourceName, TierSource);
    }
}
