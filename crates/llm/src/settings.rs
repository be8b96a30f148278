//! What the adapter is configured with, and how that is checked before anything is sent.

use partneros_domain::shared::secret::Secret;
use std::time::Duration;
use url::Url;

/// How to reach an OpenAI-compatible `chat/completions` endpoint and how hard to try.
///
/// `Debug` is safe to log: the key is a [`Secret`].
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// The API root that `chat/completions` is appended to, e.g. `https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` (Ollama) or `http://localhost:8000/v1` (vLLM).
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>` when set; local servers usually need none.
    pub api_key: Option<Secret>,
    /// The model to ask, e.g. `gpt-4o-mini` or `llama3.1:8b`.
    pub model: String,
    /// Bounds one HTTP attempt, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// Bounds a whole `enrich` call: every attempt and every wait between them.
    pub budget: Duration,
    /// HTTP attempts per `enrich` call, the first one included (at least 1).
    pub max_attempts: u32,
    /// The first backoff after a 5xx, a connection failure or a timed-out attempt; it doubles
    /// with each further retry and carries jitter.
    pub backoff_base: Duration,
    /// The longest `Retry-After` the adapter is willing to wait; a 429 asking for more ends the
    /// retries at once (waiting less than asked would only earn another 429).
    pub max_retry_after: Duration,
    /// `max_tokens` of the request: room for the whole JSON answer.
    pub max_tokens: u32,
    /// `temperature` of the request (0: the most deterministic answer).
    pub temperature: f32,
}

impl LlmSettings {
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_secs(1);
    pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
    pub const DEFAULT_MAX_TOKENS: u32 = 1200;

    /// Settings for `model` at `base_url` with no key and the defaults: 30 s per attempt, 60 s
    /// in all, 3 attempts, 1 s backoff base, `Retry-After` up to 30 s, 1200 tokens,
    /// temperature 0.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            budget: Self::DEFAULT_BUDGET,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            backoff_base: Self::DEFAULT_BACKOFF_BASE,
            max_retry_after: Self::DEFAULT_MAX_RETRY_AFTER,
            max_tokens: Self::DEFAULT_MAX_TOKENS,
            temperature: 0.0,
        }
    }

    /// The same settings with an API key.
    pub fn with_api_key(mut self, api_key: Secret) -> Self {
        self.api_key = Some(api_key);
        self
    }
}

/// Why an [`LlmClient`](crate::LlmClient) could not be built. Never carries the key.
#[derive(Debug, thiserror::Error)]
pub enum LlmSetupError {
    #[error("invalid language model URL: {0}")]
    InvalidBaseUrl(String),
    #[error("the language model API key is empty or not a valid HTTP header value")]
    InvalidApiKey,
    #[error("the language model name is empty")]
    MissingModel,
    #[error("invalid language model settings: {0}")]
    InvalidSettings(&'static str),
    #[error("cannot build the HTTP client for the language model")]
    Client(#[source] reqwest::Error),
}

impl LlmSettings {
    /// The checks of [`LlmClient::new`](crate::LlmClient::new) that need no client.
    pub(crate) fn validate(&self) -> Result<Url, LlmSetupError> {
        let url = parse_base_url(&self.base_url)?;
        if self.model.trim().is_empty() {
            return Err(LlmSetupError::MissingModel);
        }
        let invalid = LlmSetupError::InvalidSettings;
        if self.request_timeout.is_zero() {
            return Err(invalid("the request timeout must be greater than zero"));
        }
        if self.budget.is_zero() {
            return Err(invalid("the time budget must be greater than zero"));
        }
        if self.max_attempts == 0 {
            return Err(invalid("at least one attempt is needed"));
        }
        if self.max_tokens == 0 {
            return Err(invalid("max_tokens must be greater than zero"));
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(invalid("the temperature must be between 0 and 2"));
        }
        Ok(url)
    }
}

fn parse_base_url(raw: &str) -> Result<Url, LlmSetupError> {
    let invalid = |reason: &str| LlmSetupError::InvalidBaseUrl(reason.to_owned());
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(invalid("the URL is empty"));
    }
    let url = Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials belong in the API key, not the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the URL must not have a query or fragment"));
    }
    if url
        .path()
        .trim_end_matches('/')
        .ends_with("/chat/completions")
    {
        return Err(invalid(
            "give the API root (e.g. https://api.openai.com/v1), not the chat/completions endpoint",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> LlmSettings {
        LlmSettings::new(url, "gpt-4o-mini")
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = with_url("https://api.openai.com/v1");
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        assert_eq!(s.budget, Duration::from_secs(60));
        assert_eq!(s.max_attempts, 3);
        assert_eq!(s.backoff_base, Duration::from_secs(1));
        assert_eq!(s.max_tokens, 1200);
        assert_eq!(s.temperature, 0.0);
        assert!(s.api_key.is_none());
        assert!(s.validate().is_ok());
    }

    #[test]
    fn base_urls_must_be_http_api_roots() {
        for ok in [
            "https://api.openai.com/v1",
            "http://localhost:11434/v1/",
            " http://127.0.0.1:8080 ",
        ] {
            assert!(with_url(ok).validate().is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("api.openai.com/v1", "relative URL"),
            ("ftp://host/v1", "http or https"),
            ("file:///etc/passwd", "http or https"),
            ("https://host/v1?x=1", "query"),
            ("https://host/v1/chat/completions", "API root"),
        ] {
            let err = with_url(bad).validate().unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let creds = with_url("https://user:hunter2@host/v1")
            .validate()
            .unwrap_err();
        assert!(!creds.to_string().contains("hunter2"));
    }

    #[test]
    fn nonsensical_numbers_are_refused() {
        let base = || with_url("http://localhost:11434/v1");
        let cases = [
            LlmSettings {
                request_timeout: Duration::ZERO,
                ..base()
            },
            LlmSettings {
                budget: Duration::ZERO,
                ..base()
            },
            LlmSettings {
                max_attempts: 0,
                ..base()
            },
            LlmSettings {
                max_tokens: 0,
                ..base()
            },
            LlmSettings {
                temperature: -1.0,
                ..base()
            },
            LlmSettings {
                temperature: f32::NAN,
                ..base()
            },
        ];
        for settings in cases {
            assert!(matches!(
                settings.validate(),
                Err(LlmSetupError::InvalidSettings(_))
            ));
        }
        assert!(matches!(
            LlmSettings {
                model: " ".into(),
                ..base()
            }
            .validate(),
            Err(LlmSetupError::MissingModel)
        ));
    }

    #[test]
    fn debug_hides_the_key() {
        let s = with_url("https://api.openai.com/v1").with_api_key(Secret::new("sk-live-abc123"));
        assert!(!format!("{s:?}").contains("sk-live-abc123"));
    }
}
