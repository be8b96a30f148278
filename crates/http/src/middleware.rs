//! Request ids, access logs and request metrics.

use crate::error::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError};
use partneros_domain::shared::error::ErrorKind;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Keeps a well-formed `x-request-id` from the client or makes one; logs one line per request
/// with route, status and latency, the whole cause chain for 5xx; counts the request.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request_id = %id, method = %method);
    let result = next.call(req).instrument(span.clone()).await;
    let _enter = span.enter();
    let res = match result {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "request failed before a response");
            return Err(e);
        }
    };
    // actix-cors answers a refused preflight itself, in plain text; the API's errors are JSON.
    let cors_refusal = res
        .response()
        .error()
        .and_then(|e| e.as_error::<actix_cors::CorsError>())
        .map(|e| ApiError::new(ErrorKind::Forbidden, format!("CORS preflight refused: {e}")));
    let mut res = match cors_refusal {
        Some(e) => res.into_response(e.error_response()).map_into_right_body(),
        None => res.map_into_left_body(),
    };
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if status >= 500
        && let Some(err) = res.response().error()
    {
        let cause = err
            .as_error::<ApiError>()
            .and_then(ApiError::cause_chain)
            .unwrap_or_else(|| err.to_string());
        tracing::error!(route = %route, status, cause = %cause, "request failed");
    } else if status == 502
        && let Some(cause) = res
            .response()
            .error()
            .and_then(|e| e.as_error::<ApiError>())
            .and_then(ApiError::cause_chain)
    {
        tracing::warn!(route = %route, status, cause = %cause, "upstream failed");
    }
    tracing::info!(
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    let labels = [
        ("method", method),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}
