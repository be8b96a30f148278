//! `TurnstileVerifier`: the captcha port over Cloudflare's siteverify endpoint.

use crate::wire::{
    CONFIGURATION_CODES, INTERNAL_ERROR, INVALID_INPUT_RESPONSE, MAX_TOKEN_CHARS,
    MISSING_INPUT_RESPONSE, SiteverifyResponse,
};
use async_trait::async_trait;
use partneros_domain::applications::ports::{Captcha, CaptchaError, CaptchaVerdict};
use partneros_domain::shared::secret::Secret;
use reqwest::{Client, StatusCode, Url, redirect};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;
use uuid::Uuid;

/// Cloudflare's siteverify endpoint.
pub const CLOUDFLARE_SITEVERIFY_URL: &str =
    "https://challenges.cloudflare.com/turnstile/v0/siteverify";

/// The whole-request timeout of [`TurnstileVerifier::cloudflare`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A verdict is a few hundred bytes; anything far larger (an HTML error page) is not one.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Connecting never gets more than this, even under a generous total timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a verifier could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the Turnstile secret key is empty")]
    EmptySecret,
    #[error("the siteverify URL is not an absolute http(s) URL: {0}")]
    InvalidUrl(String),
    #[error("building the HTTP client for siteverify failed")]
    Client(#[source] reqwest::Error),
}

/// Why siteverify gave no verdict: the cause inside [`CaptchaError::Unavailable`].
#[derive(Debug, thiserror::Error)]
pub enum SiteverifyError {
    #[error("siteverify did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach siteverify")]
    Transport(#[source] reqwest::Error),
    #[error("siteverify answered HTTP {0}")]
    Status(StatusCode),
    #[error("siteverify's answer exceeds {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    #[error("siteverify's answer is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("siteverify's answer has no boolean `success`")]
    MissingSuccess,
    #[error("siteverify reported an internal error (retryable)")]
    InternalError,
}

/// What a verifier is built from (`TURNSTILE_SECRET_KEY`; tests point the URL at a fake).
/// `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct TurnstileSettings {
    pub secret: Secret,
    pub siteverify_url: String,
    /// The whole of one call.
    pub timeout: Duration,
}

impl TurnstileSettings {
    /// Cloudflare's endpoint with [`DEFAULT_TIMEOUT`].
    pub fn new(secret: Secret) -> Self {
        Self {
            secret,
            siteverify_url: CLOUDFLARE_SITEVERIFY_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Verifies Turnstile tokens with Cloudflare. Cheap to share behind an `Arc<dyn Captcha>`.
pub struct TurnstileVerifier {
    client: Client,
    secret: Secret,
    siteverify_url: Url,
    timeout: Duration,
}

impl fmt::Debug for TurnstileVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnstileVerifier")
            .field("siteverify_url", &self.siteverify_url.as_str())
            .field("timeout", &self.timeout)
            .field("secret", &self.secret)
            .finish()
    }
}

impl TurnstileVerifier {
    /// A verifier posting to `siteverify_url`, giving each call `timeout` in total.
    ///
    /// # Errors
    /// `EmptySecret` for a blank secret, `InvalidUrl` for anything but an absolute http(s) URL,
    /// `Client` when the TLS client cannot be built.
    /// The verifier these settings describe (see [`TurnstileVerifier::new`]).
    ///
    /// # Errors
    /// As [`TurnstileVerifier::new`].
    pub fn from_settings(settings: &TurnstileSettings) -> Result<Self, ConfigError> {
        Self::new(
            settings.secret.clone(),
            &settings.siteverify_url,
            settings.timeout,
        )
    }

    pub fn new(
        secret: Secret,
        siteverify_url: &str,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        if secret.expose().trim().is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        let siteverify_url = Url::parse(siteverify_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| ConfigError::InvalidUrl(siteverify_url.to_owned()))?;
        let client = Client::builder()
            // The secret is in the body: never hand it to an intermediary or, through a 307/308
            // redirect, to another host. A redirect is then a non-2xx answer, hence no verdict.
            .no_proxy()
            .redirect(redirect::Policy::none())
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .timeout(timeout)
            .user_agent(concat!("partneros-turnstile/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::Client)?;
        Ok(Self {
            client,
            secret,
            siteverify_url,
            timeout,
        })
    }

    /// A verifier for Cloudflare's endpoint with a 10 s timeout.
    ///
    /// # Errors
    /// As [`TurnstileVerifier::new`].
    pub fn cloudflare(secret: Secret) -> Result<Self, ConfigError> {
        Self::new(secret, CLOUDFLARE_SITEVERIFY_URL, DEFAULT_TIMEOUT)
    }

    async fn siteverify(
        &self,
        token: &str,
        remote_ip: Option<IpAddr>,
    ) -> Result<CaptchaVerdict, SiteverifyError> {
        let remote_ip = remote_ip.map(|ip| ip.to_string());
        // One key per verification: we do not retry, but Cloudflare keys its replay protection on
        // it, so a retry added later must reuse this value rather than mint a new one.
        let idempotency_key = Uuid::new_v4().to_string();
        let mut form = vec![
            ("secret", self.secret.expose()),
            ("response", token),
            ("idempotency_key", idempotency_key.as_str()),
        ];
        if let Some(ip) = &remote_ip {
            form.push(("remoteip", ip.as_str()));
        }

        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                SiteverifyError::Timeout(self.timeout)
            } else {
                SiteverifyError::Transport(e)
            }
        };
        let mut response = self
            .client
            .post(self.siteverify_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            return Err(SiteverifyError::Status(status));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(SiteverifyError::BodyTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let answer: SiteverifyResponse =
            serde_json::from_slice(&body).map_err(SiteverifyError::NotJson)?;
        interpret(answer)
    }
}

/// A token that cannot be one is refused here, saving a round trip (and Cloudflare's quota).
fn refuse_locally(token: &str) -> Option<CaptchaVerdict> {
    let code = if token.trim().is_empty() {
        MISSING_INPUT_RESPONSE
    } else if token.chars().count() > MAX_TOKEN_CHARS {
        INVALID_INPUT_RESPONSE
    } else {
        return None;
    };
    Some(CaptchaVerdict::Failed(vec![code.to_owned()]))
}

fn interpret(answer: SiteverifyResponse) -> Result<CaptchaVerdict, SiteverifyError> {
    let success = answer.success.ok_or(SiteverifyError::MissingSuccess)?;
    let codes = answer.error_codes.unwrap_or_default();
    if success {
        tracing::debug!(
            hostname = answer.hostname.as_deref(),
            action = answer.action.as_deref(),
            cdata = answer.cdata.as_deref(),
            challenge_ts = answer.challenge_ts.as_deref(),
            "Turnstile token passed"
        );
        return Ok(CaptchaVerdict::Passed);
    }
    if codes.iter().any(|c| c == INTERNAL_ERROR) {
        return Err(SiteverifyError::InternalError);
    }
    if codes
        .iter()
        .any(|c| CONFIGURATION_CODES.contains(&c.as_str()))
    {
        // Every visitor is being refused because of us, not them.
        tracing::error!(
            error_codes = ?codes,
            "Cloudflare Turnstile rejected our secret key: check TURNSTILE_SECRET_KEY"
        );
    } else {
        tracing::info!(error_codes = ?codes, "Turnstile token refused");
    }
    Ok(CaptchaVerdict::Failed(codes))
}

#[async_trait]
impl Captcha for TurnstileVerifier {
    async fn verify(
        &self,
        token: &str,
        remote_ip: Option<IpAddr>,
    ) -> Result<CaptchaVerdict, CaptchaError> {
        if let Some(verdict) = refuse_locally(token) {
            tracing::info!(
                ?verdict,
                "Turnstile token refused without asking Cloudflare"
            );
            return Ok(verdict);
        }
        self.siteverify(token, remote_ip).await.map_err(|error| {
            tracing::warn!(
                error = %error,
                cause = ?std::error::Error::source(&error),
                "Turnstile siteverify gave no verdict; failing closed"
            );
            CaptchaError::Unavailable(Box::new(error))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> SiteverifyResponse {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn tokens_that_cannot_be_tokens_are_refused_locally() {
        let failed = |c: &str| Some(CaptchaVerdict::Failed(vec![c.to_owned()]));
        assert_eq!(refuse_locally(""), failed("missing-input-response"));
        assert_eq!(refuse_locally("  \n"), failed("missing-input-response"));
        assert_eq!(
            refuse_locally(&"a".repeat(2049)),
            failed("invalid-input-response")
        );
        assert_eq!(refuse_locally(&"a".repeat(2048)), None);
    }

    #[test]
    fn verdicts_follow_the_documented_codes() {
        assert_eq!(
            interpret(answer(r#"{"success":true}"#)).unwrap(),
            CaptchaVerdict::Passed
        );
        assert_eq!(
            interpret(answer(r#"{"success":false,"error-codes":["bad-request"]}"#)).unwrap(),
            CaptchaVerdict::Failed(vec!["bad-request".into()])
        );
        assert_eq!(
            interpret(answer(
                r#"{"success":false,"error-codes":["invalid-input-secret"]}"#
            ))
            .unwrap(),
            CaptchaVerdict::Failed(vec!["invalid-input-secret".into()])
        );
        assert!(matches!(
            interpret(answer(
                r#"{"success":false,"error-codes":["internal-error"]}"#
            )),
            Err(SiteverifyError::InternalError)
        ));
        assert!(matches!(
            interpret(answer(r#"{"error-codes":[]}"#)),
            Err(SiteverifyError::MissingSuccess)
        ));
    }

    #[test]
    fn only_absolute_http_urls_and_real_secrets_are_accepted() {
        let t = Duration::from_secs(1);
        assert!(matches!(
            TurnstileVerifier::new(Secret::new(" "), CLOUDFLARE_SITEVERIFY_URL, t),
            Err(ConfigError::EmptySecret)
        ));
        for url in ["", "/siteverify", "ftp://example.com/x", "not a url"] {
            assert!(matches!(
                TurnstileVerifier::new(Secret::new("s"), url, t),
                Err(ConfigError::InvalidUrl(_))
            ));
        }
    }
}
