//! Organization API keys.

use super::organizations::*;
use super::{Timestamp, ts};
use partneros_domain::identity::model::ApiKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyDto {
    pub id: Uuid,
    pub name: String,
    pub role: RoleName,
    /// The first characters of the key.
    pub prefix: String,
    pub created_by: Option<Uuid>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.as_uuid(),
            name: k.name,
            role: k.role.into(),
            prefix: k.prefix,
            created_by: k.created_by.map(|u| u.as_uuid()),
            created_at: ts(k.created_at),
            last_used_at: k.last_used_at.map(ts),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub name: String,
    /// `admin`, `member` or `viewer`.
    pub role: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKeyResponse {
    pub api_key: ApiKeyDto,
    /// The secret, shown only now; send it as `Authorization: Bearer <key>`.
    pub key: String,
}

redacted_debug!(CreatedApiKeyResponse { api_key; key });

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeysResponse {
    pub api_keys: Vec<ApiKeyDto>,
}
