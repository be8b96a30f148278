//! From what came back (a status and a body, or a transport failure) to the port's errors.

use crate::wire;
use partneros_domain::legal::ports::ESignatureError;
use reqwest::StatusCode;
use std::fmt;

/// Which call failed: a 404 means something different for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    CreateTemplate,
    ArchiveTemplate,
}

/// A 5xx answer, kept as the source of `Unavailable` so the logs say what Docuseal said.
#[derive(Debug)]
pub(crate) struct ServerError {
    status: StatusCode,
    message: Option<String>,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Docuseal answered HTTP {}", self.status)?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerError {}

/// The error for a status that is not a success (and not the 404 that archiving accepts).
pub(crate) fn error_for_status(call: Call, status: StatusCode, body: &[u8]) -> ESignatureError {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ESignatureError::Unauthorized,
        StatusCode::NOT_FOUND if call == Call::CreateTemplate && mentions_pro_edition(body) => {
            ESignatureError::ProEditionRequired
        }
        // Usually a base URL that is not the API root (e.g. a self-hosted one without `/api`).
        StatusCode::NOT_FOUND => ESignatureError::Rejected(
            "Docuseal answered 404 Not Found: is the configured URL its API root?".to_owned(),
        ),
        s if s.is_client_error() => ESignatureError::Rejected(
            wire::error_message(body).unwrap_or_else(|| format!("HTTP {s}")),
        ),
        s if s.is_server_error() => ESignatureError::Unavailable(Box::new(ServerError {
            status: s,
            message: wire::error_message(body),
        })),
        // Redirects are not followed (they would carry the key along), e.g. http → https.
        s if s.is_redirection() => ESignatureError::InvalidResponse(format!(
            "Docuseal redirected (HTTP {s}): configure the URL it redirects to"
        )),
        s => ESignatureError::InvalidResponse(format!("unexpected HTTP {s}")),
    }
}

fn mentions_pro_edition(body: &[u8]) -> bool {
    String::from_utf8_lossy(body)
        .to_lowercase()
        .contains("pro edition")
}

/// A failure to send the request or to read the answer.
pub(crate) fn transport_error(err: reqwest::Error) -> ESignatureError {
    if err.is_timeout() {
        ESignatureError::Timeout
    } else {
        ESignatureError::Unavailable(Box::new(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(status: u16, body: &str) -> ESignatureError {
        error_for_status(
            Call::CreateTemplate,
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
        )
    }

    #[test]
    fn statuses_map_to_the_port_contract() {
        assert!(matches!(create(401, ""), ESignatureError::Unauthorized));
        assert!(matches!(create(403, "{}"), ESignatureError::Unauthorized));
        assert!(matches!(
            create(
                404,
                r#"{"error":"Not found. Available in PRO EDITION only"}"#
            ),
            ESignatureError::ProEditionRequired
        ));
        assert!(
            matches!(create(404, "<html>Not Found</html>"), ESignatureError::Rejected(m) if m.contains("404"))
        );
        assert!(
            matches!(create(422, r#"{"error":"No file"}"#), ESignatureError::Rejected(m) if m == "No file")
        );
        assert!(
            matches!(create(400, "<html>secret stack trace</html>"), ESignatureError::Rejected(m) if m == "HTTP 400 Bad Request")
        );
        assert!(matches!(create(503, ""), ESignatureError::Unavailable(_)));
        assert!(matches!(
            create(302, ""),
            ESignatureError::InvalidResponse(_)
        ));
    }

    #[test]
    fn archiving_does_not_read_a_404_as_the_free_edition() {
        let err = error_for_status(Call::ArchiveTemplate, StatusCode::NOT_FOUND, b"Pro Edition");
        assert!(matches!(err, ESignatureError::Rejected(_)));
    }

    #[test]
    fn server_errors_keep_docuseal_message_for_the_logs() {
        let err = create(500, r#"{"error":"boom"}"#);
        let ESignatureError::Unavailable(source) = err else {
            panic!("expected Unavailable");
        };
        assert_eq!(
            source.to_string(),
            "Docuseal answered HTTP 500 Internal Server Error: boom"
        );
    }
}
