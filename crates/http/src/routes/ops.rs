//! Health, readiness and metrics.

use crate::dto::ops::HealthResponse;
use crate::error::{ApiError, ErrorBody};
use crate::extract::bearer_token;
use crate::state::{AppState, MetricsAccess, MetricsRenderer};
use actix_web::{HttpRequest, HttpResponse, get, web};
use partneros_domain::shared::error::ErrorKind;
use partneros_domain::shared::secret::{Secret, TokenHash};
use subtle::ConstantTimeEq;

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
    responses(
        (status = 200, description = "Prometheus metrics", content_type = "text/plain", body = String),
        (status = 401, description = "`METRICS_TOKEN` is set and the request does not send it as `Authorization: Bearer`", body = ErrorBody),
        (status = 404, description = "Not served on this listener: `METRICS_ADDR` is set, or production without `METRICS_TOKEN`", body = ErrorBody),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    render_metrics(&req, state.metrics.as_ref(), &state.settings.metrics)
}

/// The Prometheus text, for a request that `access` admits.
pub fn render_metrics(
    req: &HttpRequest,
    render: Option<&MetricsRenderer>,
    access: &MetricsAccess,
) -> Result<HttpResponse, ApiError> {
    match access {
        MetricsAccess::Open => {}
        MetricsAccess::Token(token) => {
            if !bearer_token(req).is_some_and(|presented| same_secret(presented, token)) {
                return Err(ApiError::new(
                    ErrorKind::Unauthorized,
                    "metrics need Authorization: Bearer with the metrics token",
                ));
            }
        }
        MetricsAccess::Hidden => return Err(ApiError::new(ErrorKind::NotFound, "no such route")),
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(render.map(|render| render()).unwrap_or_default()))
}

/// Compares hashes, so the time taken says nothing about the token (equal lengths, constant-time
/// comparison).
fn same_secret(presented: &str, expected: &Secret) -> bool {
    TokenHash::of(presented)
        .as_bytes()
        .ct_eq(TokenHash::of(expected.expose()).as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn status(req: TestRequest, access: &MetricsAccess) -> u16 {
        let render: MetricsRenderer = std::sync::Arc::new(|| "up 1\n".to_owned());
        match render_metrics(&req.to_http_request(), Some(&render), access) {
            Ok(res) => res.status().as_u16(),
            Err(e) => e.status().as_u16(),
        }
    }

    #[test]
    fn the_token_guards_metrics() {
        let token = MetricsAccess::Token(Secret::new("metrics-token-0123456789"));
        assert_eq!(status(TestRequest::get(), &token), 401);
        let wrong = TestRequest::get().insert_header(("authorization", "Bearer metrics-token"));
        assert_eq!(status(wrong, &token), 401);
        let right =
            TestRequest::get().insert_header(("authorization", "Bearer metrics-token-0123456789"));
        assert_eq!(status(right, &token), 200);
        assert_eq!(status(TestRequest::get(), &MetricsAccess::Open), 200);
        assert_eq!(status(TestRequest::get(), &MetricsAccess::Hidden), 404);
    }
}
