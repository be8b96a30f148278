//! Organization API keys.

use crate::dto::api_keys::*;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, path_id};
use crate::openapi::{JsonBodyErrors, SignedInErrors};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, post, web};
use partneros_domain::shared::ids::ApiKeyId;

#[utoipa::path(
    tag = "api-keys",
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Created; `key` is shown only now", body = CreatedApiKeyResponse),
        (status = 400, description = "Invalid input or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage keys", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateApiKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let (key, secret) = state
        .api_keys
        .create(&caller.0, &body.0.name, &body.0.role)
        .await?;
    Ok(HttpResponse::Created().json(CreatedApiKeyResponse {
        api_key: key.into(),
        key: secret.expose().to_owned(),
    }))
}

#[utoipa::path(
    tag = "api-keys",
    responses(
        (status = 200, description = "Live keys of the active organization", body = ApiKeysResponse),
        (status = 400, description = "No active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage keys", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api-keys")]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let keys = state.api_keys.list(&caller.0).await?;
    Ok(HttpResponse::Ok().json(ApiKeysResponse {
        api_keys: keys.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    tag = "api-keys",
    params(("keyId" = uuid::Uuid, Path, description = "The key's id")),
    responses(
        (status = 200, description = "Revoked", body = SuccessResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage keys", body = ErrorBody),
        (status = 404, description = "No such live key in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api-keys/{keyId}")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ApiKeyId::from_uuid(path_id(&path, "keyId")?);
    state.api_keys.revoke(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(SuccessResponse::OK))
}
