//! One delivery attempt: checked by the SSRF guard at delivery time, sent on a client pinned to
//! the checked addresses, redirects not followed, the answer read under a cap.

use crate::config::WebhookSenderConfig;
use crate::signature::signature_header;
use async_trait::async_trait;
use partneros_domain::webhooks::sender::{
    AttemptFailure, AttemptOutcome, RESPONSE_PREFIX_BYTES, WebhookRequest, WebhookSender,
};
use partneros_web_fetch::{FetchError, Fetcher, ScraperConfig, pinned_client, request_url};
use reqwest::header::CONTENT_TYPE;
use std::time::{Duration, Instant};
use url::Url;

/// The Standard Webhooks headers.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Delivers signed webhook messages over HTTP(S) through the SSRF guard.
#[derive(Clone)]
pub struct HttpWebhookSender {
    /// Only its guard and resolver are used ([`Fetcher::checked_addrs`]), so that customer URLs
    /// pass exactly the checks website URLs do.
    addresses: Fetcher,
    allow_http: bool,
    connect_timeout: Duration,
    total_timeout: Duration,
    max_response_bytes: usize,
    user_agent: String,
}

/// What is known of the answer so far (kept when the total timeout cuts the read short).
#[derive(Default)]
struct Answer {
    status: Option<u16>,
    /// The first bytes of the body, a few more than are kept so that a character crossing the
    /// limit is dropped whole rather than replaced.
    prefix: Vec<u8>,
}

const PREFIX_READ_BYTES: usize = RESPONSE_PREFIX_BYTES + 3;

impl HttpWebhookSender {
    pub fn new(config: &WebhookSenderConfig) -> Self {
        let guarded = ScraperConfig {
            resolver: config.resolver.clone(),
            policy: config.policy.clone(),
            http_port: config.http_port,
            https_port: config.https_port,
            ..ScraperConfig::default()
        };
        Self {
            addresses: Fetcher::new(&guarded),
            allow_http: config.allow_http,
            connect_timeout: config.connect_timeout,
            total_timeout: config.total_timeout,
            max_response_bytes: config.max_response_bytes,
            user_agent: config.user_agent.clone(),
        }
    }

    async fn attempt(
        &self,
        request: &WebhookRequest,
        answer: &mut Answer,
    ) -> Result<(), AttemptFailure> {
        let url = Url::parse(&request.url)
            .map_err(|e| AttemptFailure::Blocked(format!("invalid URL: {e}")))?;
        if url.scheme() == "http" && !self.allow_http {
            return Err(AttemptFailure::Blocked(
                "scheme \"http\" is not allowed, https only".to_owned(),
            ));
        }
        let (target, addrs) = self
            .addresses
            .checked_addrs(&url)
            .await
            .map_err(|e| match e {
                FetchError::Blocked(refusal) => AttemptFailure::Blocked(refusal.to_string()),
                other => AttemptFailure::Unreachable(other.to_string()),
            })?;
        let request_url = request_url(&url, &target)
            .ok_or_else(|| AttemptFailure::Blocked("URL cannot carry a port".to_owned()))?;
        let client = pinned_client(&target, &addrs)
            .user_agent(&self.user_agent)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| AttemptFailure::Unreachable(partneros_web_fetch::error_chain(&e)))?;

        let timestamp = request.timestamp.timestamp();
        let mut builder = client
            .post(request_url)
            .header(CONTENT_TYPE, "application/json")
            .header(HEADER_ID, &request.message_id)
            .header(HEADER_TIMESTAMP, timestamp.to_string());
        if !request.secrets.is_empty() {
            let signatures = signature_header(
                &request.secrets,
                &request.message_id,
                timestamp,
                &request.body,
            );
            builder = builder.header(HEADER_SIGNATURE, signatures);
        }
        let mut response = builder
            .body(request.body.clone())
            .send()
            .await
            .map_err(|e| from_reqwest(&e))?;

        let status = response.status().as_u16();
        answer.status = Some(status);
        let mut read = 0usize;
        while read < self.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = PREFIX_READ_BYTES.saturating_sub(answer.prefix.len());
                    answer
                        .prefix
                        .extend_from_slice(&chunk[..chunk.len().min(room)]);
                    read += chunk.len();
                }
                Ok(None) => break,
                Err(e) => {
                    // The status was answered; a body cut short does not change what it says.
                    tracing::debug!(error = %partneros_web_fetch::error_chain(&e), "webhook answer cut short");
                    break;
                }
            }
        }
        // Past the cap, dropping the response closes the connection: the rest is never waited for.
        drop(response);
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(AttemptFailure::Status(status))
        }
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn deliver(&self, request: &WebhookRequest) -> AttemptOutcome {
        let started = Instant::now();
        let mut answer = Answer::default();
        let result = tokio::time::timeout(self.total_timeout, self.attempt(request, &mut answer))
            .await
            .unwrap_or(Err(AttemptFailure::Timeout));
        let outcome = AttemptOutcome {
            status: answer.status,
            latency: started.elapsed(),
            response_prefix: prefix_text(&answer.prefix),
            failure: result.err(),
        };
        tracing::debug!(
            message_id = %request.message_id,
            status = ?outcome.status,
            latency_ms = outcome.latency.as_millis(),
            failure = ?outcome.failure,
            "webhook attempt"
        );
        outcome
    }
}

fn from_reqwest(e: &reqwest::Error) -> AttemptFailure {
    if e.is_timeout() {
        AttemptFailure::Timeout
    } else {
        // Refused or reset connections, TLS failures, and answers that are not HTTP: no usable
        // answer came from the endpoint.
        AttemptFailure::Unreachable(partneros_web_fetch::error_chain(e))
    }
}

/// At most [`RESPONSE_PREFIX_BYTES`] of valid UTF-8: malformed sequences replaced, a character
/// cut by the limit dropped.
fn prefix_text(bytes: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    let mut end = text.len().min(RESPONSE_PREFIX_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_bounded_valid_utf8() {
        assert_eq!(prefix_text(b"ok"), "ok");
        assert_eq!(prefix_text(b"bad \xff!"), "bad \u{fffd}!");
        let long = "a".repeat(2000);
        assert_eq!(
            prefix_text(long.as_bytes()),
            "a".repeat(RESPONSE_PREFIX_BYTES)
        );
        // A two-byte character straddling the limit is dropped, not replaced.
        let straddling = format!("{}é", "a".repeat(RESPONSE_PREFIX_BYTES - 1));
        assert_eq!(
            prefix_text(straddling.as_bytes()),
            "a".repeat(RESPONSE_PREFIX_BYTES - 1)
        );
        // Replacement characters count against the limit too.
        let invalid = vec![0xffu8; PREFIX_READ_BYTES];
        let text = prefix_text(&invalid);
        assert!(text.len() <= RESPONSE_PREFIX_BYTES);
        assert_eq!(text.chars().count(), RESPONSE_PREFIX_BYTES / 3);
    }
}
