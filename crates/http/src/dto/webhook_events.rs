//! The `data` of each webhook event, for the OpenAPI document's `webhooks` section. The relay
//! sends the outbox payload as written by the database adapter; the API tests check every
//! event the app sends against these schemas.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerCreatedData {
    pub partner_id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    /// The user who created it; `null` for API keys and approvals.
    pub created_by: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerUpdatedData {
    pub partner_id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    /// The partner fields the change set (JSON names).
    #[schema(example = json!(["stage", "tier"]))]
    pub changed_fields: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerDeletedData {
    pub partner_id: Uuid,
    pub name: String,
    pub domain: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerAnalyzedData {
    pub partner_id: Uuid,
    /// 0..100.
    pub fit_score: Option<i32>,
    /// `llm` or `heuristic`.
    pub enriched_by: Option<String>,
    /// Whether the enrichment came from the cache.
    pub cached: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSubmittedData {
    pub submission_id: Uuid,
    pub application_id: Uuid,
    pub affiliate_link_id: Option<Uuid>,
    pub affiliate_slug: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationApprovedData {
    pub submission_id: Uuid,
    pub application_id: Uuid,
    /// The partner record created from the answers.
    pub partner_id: Uuid,
    pub reviewed_by: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationRejectedData {
    pub submission_id: Uuid,
    pub application_id: Uuid,
    pub reason: Option<String>,
    pub reviewed_by: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegalTemplateCreatedData {
    pub template_id: Uuid,
    pub partner_id: Uuid,
    pub name: String,
    pub docuseal_template_id: i64,
    pub created_by: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberJoinedData {
    pub user_id: Uuid,
    pub email: String,
    /// `owner`, `admin`, `member`, `viewer` or `partner`.
    pub role: String,
    /// For `partner`: the partner record the account belongs to.
    pub partner_id: Option<Uuid>,
    pub invitation_id: Uuid,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointDisabledData {
    pub endpoint_id: Uuid,
    pub url: String,
    pub reason: String,
    pub failing_since: Option<String>,
}
