//! Health, readiness and metrics.

use crate::dto::HealthResponse;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};

#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The process is up", body = HealthResponse))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse { status: "ok" })
}

#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "The database answers and every migration is applied", body = HealthResponse),
        (status = 503, description = "Not ready", body = ErrorBody),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.health.ready().await {
        Ok(()) => Ok(HttpResponse::Ok().json(HealthResponse { status: "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            Err(ApiError::new(
                partneros_domain::ErrorKind::Unavailable,
                "not ready",
            ))
        }
    }
}

#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus metrics", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let body = state
        .metrics
        .as_ref()
        .map(|render| render())
        .unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
