//! The language-model port over an OpenAI-compatible `POST {base}/chat/completions`.

use crate::attempt::Failure;
use crate::settings::{LlmSettings, LlmSetupError};
use crate::{prompt, retry, schema, wire};
use async_trait::async_trait;
use partneros_domain::analysis::model::{
    EnrichmentInput, LanguageModel, LanguageModelError, ModelAnswer,
};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, redirect};
use serde_json::Value;
use std::fmt;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use url::Url;

const USER_AGENT: &str = "partneros/0.1";
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A completion of at most a few thousand tokens is a few KiB; anything this big is not one.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The [`LanguageModel`] port over any OpenAI-compatible chat-completions service.
#[derive(Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    endpoint: Url,
    /// `Bearer <key>`, marked sensitive; kept out of `Debug`.
    auth: Option<HeaderValue>,
    settings: LlmSettings,
    response_format: Value,
}

impl LlmClient {
    /// A client of the service described by `settings`.
    ///
    /// # Errors
    /// `InvalidBaseUrl` unless the base URL is an http(s) API root without credentials, query
    /// or fragment; `InvalidApiKey` for an empty key or one that cannot travel in a header;
    /// `MissingModel` for an empty model name; `InvalidSettings` for a zero timeout, budget,
    /// attempt count or token limit, or a temperature outside 0..=2; `Client` when the TLS
    /// backend cannot start.
    pub fn new(settings: LlmSettings) -> Result<Self, LlmSetupError> {
        let base_url = settings.validate()?;
        let auth = settings
            .api_key
            .as_ref()
            .map(|key| {
                let key = key.expose().trim();
                if key.is_empty() {
                    return Err(LlmSetupError::InvalidApiKey);
                }
                let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                    .map_err(|_| LlmSetupError::InvalidApiKey)?;
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose()?;
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout.min(MAX_CONNECT_TIMEOUT))
            .no_proxy()
            // The key rides in `Authorization`; the API does not redirect, so a redirect is a
            // misconfigured URL and is reported rather than followed.
            .redirect(redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .map_err(LlmSetupError::Client)?;
        let mut endpoint = base_url;
        endpoint
            .path_segments_mut()
            .expect("an http(s) URL has a path")
            .pop_if_empty()
            .extend(["chat", "completions"]);
        Ok(Self {
            http,
            endpoint,
            auth,
            settings,
            response_format: schema::response_format(),
        })
    }

    /// The URL the requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    fn request_body(&self, input: &EnrichmentInput) -> Vec<u8> {
        let user = prompt::user_message(input);
        let request = wire::ChatRequest {
            model: &self.settings.model,
            temperature: self.settings.temperature,
            max_tokens: self.settings.max_tokens,
            messages: [
                wire::Message {
                    role: "system",
                    content: prompt::SYSTEM_PROMPT,
                },
                wire::Message {
                    role: "user",
                    content: &user,
                },
            ],
            response_format: &self.response_format,
        };
        serde_json::to_vec(&request).expect("the request is plain data")
    }

    /// One HTTP attempt, from sending to a parsed answer.
    async fn attempt(&self, body: &[u8]) -> Result<wire::Answer, Failure> {
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.to_vec());
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let mut response = request.send().await.map_err(Failure::transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        let mut complete = true;
        while let Some(chunk) = response.chunk().await.map_err(Failure::transport)? {
            let room = MAX_BODY_BYTES - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                complete = false;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::RateLimited {
                retry_after: retry::retry_after(&headers, SystemTime::now()),
            });
        }
        if !status.is_success() {
            return Err(Failure::for_status(status, &body));
        }
        if !complete {
            return Err(Failure::Invalid(format!(
                "the answer is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        wire::parse_answer(&body).map_err(Failure::Invalid)
    }

    /// What to wait before the attempt after `attempt` (1-based) failed with `failure`, or
    /// `None` when it must not be retried.
    fn wait_after(&self, failure: &Failure, attempt: u32) -> Option<Duration> {
        match failure {
            Failure::RateLimited {
                retry_after: Some(wait),
            } => (*wait <= self.settings.max_retry_after).then_some(*wait),
            Failure::RateLimited { retry_after: None }
            | Failure::Server { .. }
            | Failure::Connect(_)
            | Failure::AttemptTimeout => Some(retry::backoff(self.settings.backoff_base, attempt)),
            Failure::Rejected(_) | Failure::Invalid(_) | Failure::BudgetSpent => None,
        }
    }

    /// Upstream text may quote the key back (some servers echo the header in errors).
    fn redact(&self, text: String) -> String {
        match &self.settings.api_key {
            Some(key) if !key.expose().trim().is_empty() => {
                text.replace(key.expose().trim(), "[redacted]")
            }
            _ => text,
        }
    }
}

impl fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("model", &self.settings.model)
            .field("api_key", &self.auth.as_ref().map(|_| "[redacted]"))
            .field("request_timeout", &self.settings.request_timeout)
            .field("budget", &self.settings.budget)
            .field("max_attempts", &self.settings.max_attempts)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl LanguageModel for LlmClient {
    fn model(&self) -> String {
        self.settings.model.clone()
    }

    async fn enrich(&self, input: &EnrichmentInput) -> Result<ModelAnswer, LanguageModelError> {
        let deadline = Instant::now() + self.settings.budget;
        let body = self.request_body(input);
        let max_attempts = self.settings.max_attempts;
        let mut attempt = 1;
        loop {
            let outcome = tokio::time::timeout_at(deadline, self.attempt(&body))
                .await
                .unwrap_or(Err(Failure::BudgetSpent));
            let failure = match outcome {
                Ok(answer) => {
                    count("ok");
                    tracing::debug!(attempt, model = ?answer.model, "the language model answered");
                    return Ok(ModelAnswer {
                        model: answer.model.unwrap_or_else(|| self.settings.model.clone()),
                        content: Value::Object(answer.content),
                    });
                }
                Err(failure) => failure,
            };
            count(failure.outcome());
            let wait = self.wait_after(&failure, attempt);
            let remaining = deadline.saturating_duration_since(Instant::now());
            let retry_in = wait.filter(|wait| attempt < max_attempts && *wait < remaining);
            tracing::warn!(
                attempt,
                max_attempts,
                outcome = failure.outcome(),
                status = failure.status().map(|s| s.as_u16()),
                cause = failure.transport_cause(),
                retry_in_ms = retry_in.map(|w| u64::try_from(w.as_millis()).unwrap_or(u64::MAX)),
                "a language model attempt failed"
            );
            let Some(wait) = retry_in else {
                return Err(failure.into_error(|text| self.redact(text)));
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

fn count(outcome: &'static str) {
    metrics::counter!("llm_requests_total", "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use partneros_domain::shared::secret::Secret;

    #[test]
    fn the_endpoint_extends_the_api_root_with_or_without_a_trailing_slash() {
        for (base, endpoint) in [
            (
                "https://api.openai.com/v1",
                "https://api.openai.com/v1/chat/completions",
            ),
            (
                "http://localhost:11434/v1/",
                "http://localhost:11434/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/chat/completions",
            ),
        ] {
            let client = LlmClient::new(LlmSettings::new(base, "m")).unwrap();
            assert_eq!(client.endpoint().as_str(), endpoint);
        }
    }

    #[test]
    fn keys_must_be_usable_headers() {
        for bad in ["", "  ", "sk-\nline"] {
            let settings =
                LlmSettings::new("https://api.openai.com/v1", "m").with_api_key(Secret::new(bad));
            assert!(matches!(
                LlmClient::new(settings),
                Err(LlmSetupError::InvalidApiKey)
            ));
        }
    }

    #[test]
    fn upstream_text_never_carries_the_key() {
        let settings = LlmSettings::new("https://api.openai.com/v1", "m")
            .with_api_key(Secret::new("sk-secret-42"));
        let client = LlmClient::new(settings).unwrap();
        assert_eq!(
            client.redact("bad key sk-secret-42 given".into()),
            "bad key [redacted] given"
        );
    }
}
