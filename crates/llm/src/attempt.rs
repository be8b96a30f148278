//! How one HTTP attempt failed, and what that means for the port.

use crate::wire;
use partneros_domain::analysis::model::LanguageModelError;
use reqwest::StatusCode;

/// A failed attempt. Reasons are short and quote at most an excerpt of what came back.
#[derive(Debug)]
pub(crate) enum Failure {
    /// 429, with the wait its `Retry-After` asked for.
    RateLimited {
        retry_after: Option<std::time::Duration>,
    },
    /// 5xx.
    Server {
        status: StatusCode,
        message: Option<String>,
    },
    /// The connection could not be made or broke.
    Connect(String),
    /// The attempt outlasted `request_timeout`.
    AttemptTimeout,
    /// The whole budget is spent.
    BudgetSpent,
    /// Any other status that is not a success: not worth retrying.
    Rejected(String),
    /// A 2xx answer that cannot be used.
    Invalid(String),
}

impl Failure {
    pub(crate) fn transport(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            return Self::AttemptTimeout;
        }
        let what = if err.is_connect() {
            "cannot connect to the service"
        } else {
            "the connection to the service failed"
        };
        // The innermost cause says why (refused, reset, DNS, TLS); the outer ones repeat the
        // URL, which holds no credentials (the settings refuse them).
        let mut cause: &dyn std::error::Error = &err;
        while let Some(source) = cause.source() {
            cause = source;
        }
        Self::Connect(format!("{what}: {}", wire::excerpt(&cause.to_string())))
    }

    /// The failure for a status that is neither a success nor 429.
    pub(crate) fn for_status(status: StatusCode, body: &[u8]) -> Self {
        let message = || wire::error_message(body);
        match status {
            s if s.is_server_error() => Self::Server {
                status: s,
                message: message(),
            },
            // The body of these is about the key; nothing in it helps more than the status.
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Self::Rejected(format!("{status}: check the API key"))
            }
            s if s.is_redirection() => Self::Rejected(format!(
                "{s}: the service redirects; configure the URL it redirects to"
            )),
            s => Self::Rejected(match message() {
                Some(message) => format!("{s}: {message}"),
                None => s.to_string(),
            }),
        }
    }

    /// The `outcome` label of `llm_requests_total`.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server_error",
            Self::Connect(_) => "connect_error",
            Self::AttemptTimeout | Self::BudgetSpent => "timeout",
            Self::Rejected(_) => "rejected",
            Self::Invalid(_) => "invalid",
        }
    }

    pub(crate) fn status(&self) -> Option<StatusCode> {
        match self {
            Self::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Self::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Why the connection failed, for the log (the other failures say it with their status and
    /// outcome; their bodies stay out of the log).
    pub(crate) fn transport_cause(&self) -> Option<&str> {
        match self {
            Self::Connect(reason) => Some(reason),
            _ => None,
        }
    }

    /// The port's error; `redact` scrubs upstream text of anything that must not be shown.
    pub(crate) fn into_error(self, redact: impl Fn(String) -> String) -> LanguageModelError {
        match self {
            Self::RateLimited { .. } => LanguageModelError::RateLimited,
            Self::Server { status, message } => {
                LanguageModelError::Unavailable(redact(match message {
                    Some(message) => format!("{status}: {message}"),
                    None => status.to_string(),
                }))
            }
            Self::Connect(reason) => LanguageModelError::Unavailable(reason),
            Self::AttemptTimeout | Self::BudgetSpent => LanguageModelError::Timeout,
            Self::Rejected(reason) => LanguageModelError::Rejected(redact(reason)),
            Self::Invalid(reason) => LanguageModelError::InvalidAnswer(redact(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, body: &str) -> LanguageModelError {
        Failure::for_status(StatusCode::from_u16(status).unwrap(), body.as_bytes())
            .into_error(|t| t)
    }

    #[test]
    fn statuses_map_to_the_port_errors() {
        let openai_error = r#"{"error": {"message": "The model `gpt-9` does not exist", "type": "invalid_request_error", "code": "model_not_found"}}"#;
        assert!(matches!(
            error(404, openai_error),
            LanguageModelError::Rejected(r) if r == "404 Not Found: The model `gpt-9` does not exist"
        ));
        assert!(matches!(
            error(401, r#"{"error": {"message": "Incorrect API key provided: sk-abc"}}"#),
            LanguageModelError::Rejected(r) if r == "401 Unauthorized: check the API key"
        ));
        assert!(
            matches!(error(400, "<html>"), LanguageModelError::Rejected(r) if r == "400 Bad Request")
        );
        assert!(
            matches!(error(302, ""), LanguageModelError::Rejected(r) if r.contains("redirects"))
        );
        assert!(matches!(
            error(503, r#"{"error": {"message": "overloaded"}}"#),
            LanguageModelError::Unavailable(r) if r == "503 Service Unavailable: overloaded"
        ));
        assert!(matches!(
            error(502, &"<html>".repeat(1000)),
            LanguageModelError::Unavailable(r) if r == "502 Bad Gateway"
        ));
    }

    #[test]
    fn outcomes_are_the_metric_labels() {
        let labels: Vec<&str> = [
            Failure::RateLimited { retry_after: None },
            Failure::Server {
                status: StatusCode::BAD_GATEWAY,
                message: None,
            },
            Failure::Connect(String::new()),
            Failure::AttemptTimeout,
            Failure::BudgetSpent,
            Failure::Rejected(String::new()),
            Failure::Invalid(String::new()),
        ]
        .iter()
        .map(Failure::outcome)
        .collect();
        assert_eq!(
            labels,
            [
                "rate_limited",
                "server_error",
                "connect_error",
                "timeout",
                "timeout",
                "rejected",
                "invalid"
            ]
        );
    }
}
