//! One mapping from domain errors to the status table of the API, and the error body.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use partneros_domain::shared::error::{Classify, ErrorKind, FieldError};
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

/// Every error response: a human sentence and a machine code.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence for humans.
    pub error: String,
    /// A stable machine code, e.g. `validation_failed`, `not_found`, `rate_limited`.
    pub code: &'static str,
    /// Per-field problems of a validation failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub field: String,
    pub message: String,
}

impl From<&FieldError> for ErrorDetail {
    fn from(e: &FieldError) -> Self {
        Self {
            field: e.field.clone(),
            message: e.message.clone(),
        }
    }
}

/// Codes that only the transport produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Kind(ErrorKind),
    InvalidJson,
}

fn status_and_code(code: Code) -> (StatusCode, &'static str) {
    match code {
        Code::InvalidJson => (StatusCode::BAD_REQUEST, "invalid_json"),
        Code::Kind(kind) => match kind {
            ErrorKind::Validation => (StatusCode::BAD_REQUEST, "validation_failed"),
            ErrorKind::NoActiveOrganization => (StatusCode::BAD_REQUEST, "no_active_organization"),
            ErrorKind::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ErrorKind::EmailNotVerified => (StatusCode::FORBIDDEN, "email_not_verified"),
            ErrorKind::InvalidToken => (StatusCode::BAD_REQUEST, "invalid_token"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::NameTaken => (StatusCode::CONFLICT, "name_taken"),
            ErrorKind::DuplicateSubmission => (StatusCode::CONFLICT, "duplicate_submission"),
            ErrorKind::CaptchaFailed => (StatusCode::BAD_REQUEST, "captcha_failed"),
            ErrorKind::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ErrorKind::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ErrorKind::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ErrorKind::Upstream => (StatusCode::BAD_GATEWAY, "upstream_failed"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        },
    }
}

/// An error on its way to the client. Server-side failures keep their cause for the log and
/// show only a generic sentence.
pub struct ApiError {
    code: Code,
    message: String,
    details: Vec<FieldError>,
    retry_after: Option<u64>,
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            code: Code::Kind(kind),
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
            cause: None,
        }
    }

    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self {
            code: Code::InvalidJson,
            ..Self::new(ErrorKind::Validation, message)
        }
    }

    pub fn validation(details: Vec<FieldError>) -> Self {
        let mut e = Self::new(ErrorKind::Validation, "the request is invalid; see details");
        e.details = details;
        e
    }

    pub fn field(field: &str, message: &str) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorKind::Unauthorized,
            "authentication required: the session is missing, unknown, expired or revoked",
        )
    }

    pub fn not_found() -> Self {
        Self::new(ErrorKind::NotFound, "not found")
    }

    /// Keeps `cause` for the log line of a server-side failure.
    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    pub fn details(&self) -> &[FieldError] {
        &self.details
    }

    pub fn status(&self) -> StatusCode {
        status_and_code(self.code).0
    }

    /// The whole cause chain, for the log line of a 5xx.
    pub fn cause_chain(&self) -> Option<String> {
        let mut cur: &(dyn std::error::Error + 'static) = self.cause.as_deref()?;
        let mut out = cur.to_string();
        while let Some(next) = cur.source() {
            out.push_str(": ");
            out.push_str(&next.to_string());
            cur = next;
        }
        Some(out)
    }
}

impl<E: Classify> From<E> for ApiError {
    fn from(e: E) -> Self {
        let kind = e.kind();
        // Our own sentences are shown (an upstream failure names the service and the reason
        // in our words); internal causes reach only the log.
        let hidden = matches!(kind, ErrorKind::Internal | ErrorKind::Unavailable);
        let logged = hidden || kind == ErrorKind::Upstream;
        Self {
            code: Code::Kind(kind),
            message: if hidden { String::new() } else { e.to_string() },
            details: e.details().to_vec(),
            retry_after: e.retry_after(),
            cause: logged.then(|| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("cause", &self.cause_chain())
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(status_and_code(self.code).1)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code) = status_and_code(self.code);
        let message = match self.code {
            Code::Kind(ErrorKind::Internal) => {
                "an internal error occurred; it has been logged with the request id".to_owned()
            }
            Code::Kind(ErrorKind::Unavailable) => {
                "the service is temporarily unavailable; retry shortly".to_owned()
            }
            Code::Kind(ErrorKind::Upstream) if self.message.is_empty() => {
                "an external service failed; nothing was recorded".to_owned()
            }
            _ => self.message.clone(),
        };
        let mut res = HttpResponse::build(status);
        let retry = self
            .retry_after
            .or((status == StatusCode::SERVICE_UNAVAILABLE).then_some(1));
        if let Some(secs) = retry {
            res.insert_header((RETRY_AFTER, HeaderValue::from(secs)));
        }
        res.json(ErrorBody {
            error: message,
            code,
            details: (!self.details.is_empty())
                .then(|| self.details.iter().map(ErrorDetail::from).collect()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use partneros_domain::shared::error::StoreError;

    #[test]
    fn every_kind_has_its_documented_status() {
        use ErrorKind::*;
        for (kind, status, code) in [
            (Validation, 400, "validation_failed"),
            (NoActiveOrganization, 400, "no_active_organization"),
            (Unauthorized, 401, "unauthorized"),
            (Forbidden, 403, "forbidden"),
            (EmailNotVerified, 403, "email_not_verified"),
            (InvalidToken, 400, "invalid_token"),
            (NotFound, 404, "not_found"),
            (Conflict, 409, "conflict"),
            (NameTaken, 409, "name_taken"),
            (DuplicateSubmission, 409, "duplicate_submission"),
            (CaptchaFailed, 400, "captcha_failed"),
            (RateLimited, 429, "rate_limited"),
            (PayloadTooLarge, 413, "payload_too_large"),
            (UnsupportedMediaType, 415, "unsupported_media_type"),
            (Upstream, 502, "upstream_failed"),
            (Unavailable, 503, "unavailable"),
            (Internal, 500, "internal"),
        ] {
            let (s, c) = status_and_code(Code::Kind(kind));
            assert_eq!((s.as_u16(), c), (status, code));
        }
    }

    #[actix_web::test]
    async fn server_errors_hide_their_cause() {
        let e: ApiError = StoreError::unexpected("relation \"users\" does not exist").into();
        let res = e.error_response();
        assert_eq!(res.status(), 500);
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("relation"), "{text}");
        assert!(e.cause_chain().unwrap().contains("relation"));
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let e: ApiError = StoreError::Unavailable("pool timeout".into()).into();
        let res = e.error_response();
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers().get(RETRY_AFTER).unwrap(), "1");
    }
}
