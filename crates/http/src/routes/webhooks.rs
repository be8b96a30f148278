//! Webhook endpoints (owners and admins), their delivery logs, and the event catalogue.

use crate::dto::SuccessResponse;
use crate::dto::applications::PageQuery;
use crate::dto::webhooks::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, path_id};
use crate::openapi::{JsonBodyErrors, SignedInErrors};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use partneros_domain::shared::ids::{WebhookDeliveryId, WebhookEndpointId};

fn endpoint_id(raw: &str) -> Result<WebhookEndpointId, ApiError> {
    Ok(WebhookEndpointId::from_uuid(path_id(raw, "endpointId")?))
}

#[utoipa::path(
    tag = "webhooks",
    responses(
        (status = 200, description = "Every event type an endpoint may subscribe to", body = EventTypesResponse),
    )
)]
#[get("/webhooks/event-types")]
pub async fn event_types() -> HttpResponse {
    HttpResponse::Ok().json(EventTypesResponse {
        event_types: crate::openapi::webhook_catalogue()
            .iter()
            .map(|e| EventTypeDto {
                name: e.name.to_owned(),
                description: e.description.to_owned(),
            })
            .collect(),
    })
}

#[utoipa::path(
    tag = "webhooks",
    request_body = CreateWebhookEndpointRequest,
    responses(
        (status = 201, description = "Created; `secret` is shown only now", body = WebhookEndpointWithSecretResponse),
        (status = 400, description = "Invalid input or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage webhooks", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/webhooks/endpoints")]
pub async fn create_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateWebhookEndpointRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = state.webhooks.create(&caller.0, body.0.into()).await?;
    Ok(
        HttpResponse::Created().json(WebhookEndpointWithSecretResponse {
            endpoint: created.endpoint.into(),
            secret: created.secret.expose().to_owned(),
        }),
    )
}

#[utoipa::path(
    tag = "webhooks",
    responses(
        (status = 200, description = "The active organization's endpoints, newest first", body = WebhookEndpointsResponse),
        (status = 400, description = "No active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage webhooks", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/webhooks/endpoints")]
pub async fn list_endpoints(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let endpoints = state.webhooks.list(&caller.0).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointsResponse {
        endpoints: endpoints.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    tag = "webhooks",
    params(("endpointId" = uuid::Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookEndpointResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/webhooks/endpoints/{endpointId}")]
pub async fn get_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = state.webhooks.get(&caller.0, endpoint_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointResponse {
        endpoint: endpoint.into(),
    }))
}

#[utoipa::path(
    tag = "webhooks",
    params(("endpointId" = uuid::Uuid, Path, description = "The endpoint's id")),
    request_body = UpdateWebhookEndpointRequest,
    responses(
        (status = 200, description = "Updated", body = WebhookEndpointResponse),
        (status = 400, description = "Invalid input, malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint in the active organization", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[patch("/webhooks/endpoints/{endpointId}")]
pub async fn update_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<UpdateWebhookEndpointRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(&path)?;
    let endpoint = state.webhooks.update(&caller.0, id, body.0.into()).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointResponse {
        endpoint: endpoint.into(),
    }))
}

#[utoipa::path(
    tag = "webhooks",
    params(("endpointId" = uuid::Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "Deleted, with its delivery log", body = SuccessResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/webhooks/endpoints/{endpointId}")]
pub async fn delete_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .webhooks
        .delete(&caller.0, endpoint_id(&path)?)
        .await?;
    Ok(HttpResponse::Ok().json(SuccessResponse::OK))
}

#[utoipa::path(
    tag = "webhooks",
    params(("endpointId" = uuid::Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "A new secret, shown only now; the previous one keeps signing next to it for 24 hours (two `v1,` signatures per message)", body = WebhookEndpointWithSecretResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/webhooks/endpoints/{endpointId}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = state
        .webhooks
        .rotate_secret(&caller.0, endpoint_id(&path)?)
        .await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointWithSecretResponse {
        endpoint: rotated.endpoint.into(),
        secret: rotated.secret.expose().to_owned(),
    }))
}

#[utoipa::path(
    tag = "webhooks",
    params(("endpointId" = uuid::Uuid, Path, description = "The endpoint's id"), PageQuery),
    responses(
        (status = 200, description = "The endpoint's deliveries, newest first, each with its latest attempt", body = DeliveriesResponse),
        (status = 400, description = "Invalid limit or cursor, malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/webhooks/endpoints/{endpointId}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(&path)?;
    let limit = crate::extract::page_limit(query.limit.as_deref(), 25)
        .map_err(|m| ApiError::field("limit", m))?;
    let page = state
        .webhooks
        .deliveries(&caller.0, id, limit, query.cursor.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(DeliveriesResponse {
        deliveries: page.deliveries.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

fn delivery_path(
    path: &(String, String),
) -> Result<(WebhookEndpointId, WebhookDeliveryId), ApiError> {
    Ok((
        endpoint_id(&path.0)?,
        WebhookDeliveryId::from_uuid(path_id(&path.1, "deliveryId")?),
    ))
}

#[utoipa::path(
    tag = "webhooks",
    params(
        ("endpointId" = uuid::Uuid, Path, description = "The endpoint's id"),
        ("deliveryId" = uuid::Uuid, Path, description = "The delivery's id"),
    ),
    responses(
        (status = 200, description = "The delivery with every attempt", body = DeliveryResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such delivery of this endpoint", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/webhooks/endpoints/{endpointId}/deliveries/{deliveryId}")]
pub async fn get_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (endpoint, id) = delivery_path(&path)?;
    let delivery = state.webhooks.delivery(&caller.0, endpoint, id).await?;
    Ok(HttpResponse::Ok().json(DeliveryResponse {
        delivery: delivery.into(),
    }))
}

#[utoipa::path(
    tag = "webhooks",
    params(
        ("endpointId" = uuid::Uuid, Path, description = "The endpoint's id"),
        ("deliveryId" = uuid::Uuid, Path, description = "The delivery's id"),
    ),
    responses(
        (status = 200, description = "Sent again now (same `webhook-id`, new timestamp and signature), whatever its state; the attempt, successful or not. A success marks the delivery succeeded.", body = AttemptResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such delivery of this endpoint", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/webhooks/endpoints/{endpointId}/deliveries/{deliveryId}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (endpoint, id) = delivery_path(&path)?;
    let attempt = state.webhooks.redeliver(&caller.0, endpoint, id).await?;
    Ok(HttpResponse::Ok().json(AttemptResponse {
        attempt: attempt.into(),
    }))
}
