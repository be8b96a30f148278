//! The siteverify response as Cloudflare sends it, read leniently: only `success` is required,
//! and unknown fields are ignored.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct SiteverifyResponse {
    /// Optional here so that a body without it is told apart from a refusal.
    pub success: Option<bool>,
    #[serde(rename = "error-codes", default)]
    pub error_codes: Option<Vec<String>>,
    #[serde(default)]
    pub challenge_ts: Option<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub cdata: Option<String>,
}

/// Codes that say our own configuration is wrong, not the visitor's token.
pub(crate) const CONFIGURATION_CODES: [&str; 2] = ["missing-input-secret", "invalid-input-secret"];

/// Cloudflare failed to judge the token and invites a retry: no verdict.
pub(crate) const INTERNAL_ERROR: &str = "internal-error";

pub(crate) const MISSING_INPUT_RESPONSE: &str = "missing-input-response";
pub(crate) const INVALID_INPUT_RESPONSE: &str = "invalid-input-response";

/// Turnstile tokens are at most this long; anything longer is not a token.
pub(crate) const MAX_TOKEN_CHARS: usize = 2048;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_success() {
        let r: SiteverifyResponse = serde_json::from_str(
            r#"{"success":true,"challenge_ts":"2022-02-28T15:14:30.096Z","hostname":"example.com",
                "error-codes":[],"action":"login","cdata":"sessionid-123456789","metadata":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(r.success, Some(true));
        assert_eq!(r.error_codes, Some(vec![]));
        assert_eq!(r.hostname.as_deref(), Some("example.com"));
    }

    #[test]
    fn tolerates_missing_and_null_codes() {
        let r: SiteverifyResponse =
            serde_json::from_str(r#"{"success":false,"error-codes":null}"#).unwrap();
        assert_eq!(r.error_codes, None);
        let r: SiteverifyResponse = serde_json::from_str(r#"{"hostname":"example.com"}"#).unwrap();
        assert_eq!(r.success, None);
    }
}
