use crate::status::{Call, error_for_status, transport_error};
use crate::wire;
use async_trait::async_trait;
use partneros_domain::legal::ports::{
    ESignature, ESignatureError, NewSignatureTemplate, SignatureTemplate,
};
use partneros_domain::shared::secret::Secret;
use reqwest::header::HeaderValue;
use reqwest::{RequestBuilder, StatusCode, redirect};
use std::fmt;
use std::time::Duration;
use url::Url;

const AUTH_HEADER: &str = "X-Auth-Token";
const USER_AGENT: &str = "partneros/0.1";
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Docuseal's answers are small JSON objects; anything bigger is not one of them.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Why a [`DocusealClient`] could not be built. Never carries the key.
#[derive(Debug, thiserror::Error)]
pub enum DocusealSetupError {
    #[error("invalid Docuseal URL: {0}")]
    InvalidBaseUrl(String),
    #[error("the Docuseal API key is empty or not a valid HTTP header value")]
    InvalidApiKey,
    #[error("the Docuseal timeout must be greater than zero")]
    InvalidTimeout,
    #[error("cannot build the HTTP client for Docuseal")]
    Client(#[source] reqwest::Error),
}

/// The e-signature port over Docuseal's HTTP API.
#[derive(Clone)]
pub struct DocusealClient {
    http: reqwest::Client,
    base_url: Url,
    /// The key as a header value marked sensitive; kept out of `Debug`.
    auth: HeaderValue,
    timeout: Duration,
}

/// How to reach the Docuseal API (`DOCUSEAL_URL`, `DOCUSEAL_API_KEY`). `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct DocusealSettings {
    /// The API root, e.g. `https://api.docuseal.com` or `http://localhost:3000/api`.
    pub base_url: String,
    pub api_key: Secret,
    /// Bounds each call from connecting to the last byte.
    pub timeout: Duration,
}

impl DocusealSettings {
    /// Settings for the API at `base_url` with [`DocusealClient::DEFAULT_TIMEOUT`].
    pub fn new(base_url: impl Into<String>, api_key: Secret) -> Self {
        Self {
            base_url: base_url.into(),
            api_key,
            timeout: DocusealClient::DEFAULT_TIMEOUT,
        }
    }
}

impl DocusealClient {
    /// The total time one call may take unless configured otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A client of the Docuseal API rooted at `base_url` (e.g. `https://api.docuseal.com` or
    /// `http://localhost:3000/api`); `timeout` bounds each call from connecting to the last byte.
    ///
    /// # Errors
    /// `InvalidBaseUrl` unless `base_url` is an http(s) URL without credentials, query or
    /// fragment; `InvalidApiKey` for an empty key or one that cannot travel in a header;
    /// `InvalidTimeout` for a zero timeout; `Client` when the TLS backend cannot start.
    /// The client these settings describe (see [`DocusealClient::new`]).
    ///
    /// # Errors
    /// As [`DocusealClient::new`].
    pub fn from_settings(settings: &DocusealSettings) -> Result<Self, DocusealSetupError> {
        Self::new(
            &settings.base_url,
            settings.api_key.clone(),
            settings.timeout,
        )
    }

    pub fn new(
        base_url: &str,
        api_key: Secret,
        timeout: Duration,
    ) -> Result<Self, DocusealSetupError> {
        let base_url = parse_base_url(base_url)?;
        let key = api_key.expose().trim();
        if key.is_empty() {
            return Err(DocusealSetupError::InvalidApiKey);
        }
        let mut auth = HeaderValue::from_str(key).map_err(|_| DocusealSetupError::InvalidApiKey)?;
        auth.set_sensitive(true);
        if timeout.is_zero() {
            return Err(DocusealSetupError::InvalidTimeout);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .no_proxy()
            // The key rides in a custom header, which reqwest would forward to any redirect
            // target; Docuseal's API does not redirect, so a redirect is an error here.
            .redirect(redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .map_err(DocusealSetupError::Client)?;
        Ok(Self {
            http,
            base_url,
            auth,
            timeout,
        })
    }

    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has a path")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Sends the request with the key and reads the answer (status and at most
    /// `MAX_BODY_BYTES` of body, plus whether that was all of it).
    async fn call(
        &self,
        request: RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>, bool), ESignatureError> {
        let mut response = request
            .header(AUTH_HEADER, self.auth.clone())
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            let room = MAX_BODY_BYTES - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                return Ok((status, body, false));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body, true))
    }
}

fn parse_base_url(raw: &str) -> Result<Url, DocusealSetupError> {
    let invalid = |reason: &str| DocusealSetupError::InvalidBaseUrl(reason.to_owned());
    let url = Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials belong in the API key, not the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the URL must not have a query or fragment"));
    }
    Ok(url)
}

impl fmt::Debug for DocusealClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocusealClient")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ESignature for DocusealClient {
    async fn create_template(
        &self,
        template: NewSignatureTemplate,
    ) -> Result<SignatureTemplate, ESignatureError> {
        // Read only now: the upload was spooled to disk while it was received and checked.
        let pdf = tokio::fs::read(&template.pdf)
            .await
            .map_err(|e| ESignatureError::Unavailable(Box::new(e)))?;
        let body = wire::CreateTemplateFromPdf::new(&template, &pdf);
        let request = self
            .http
            .post(self.endpoint(&["templates", "pdf"]))
            .json(&body);
        let (status, body, complete) = self.call(request).await.inspect_err(|e| {
            tracing::warn!(error = %e, "creating a Docuseal template failed");
        })?;
        if !status.is_success() {
            let err = error_for_status(Call::CreateTemplate, status, &body);
            tracing::warn!(%status, error = %err, "Docuseal refused to create a template");
            return Err(err);
        }
        if !complete {
            return Err(ESignatureError::InvalidResponse(format!(
                "the answer is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        let created = wire::parse_template(&body).map_err(|reason| {
            tracing::warn!(%status, %reason, "Docuseal answered something that is not a template");
            ESignatureError::InvalidResponse(reason)
        })?;
        tracing::debug!(
            docuseal_template_id = created.id,
            "created a Docuseal template"
        );
        Ok(created)
    }

    async fn archive_template(&self, id: i64) -> Result<(), ESignatureError> {
        let request = self
            .http
            .delete(self.endpoint(&["templates", &id.to_string()]));
        let (status, body, _) = self.call(request).await.inspect_err(|e| {
            tracing::warn!(docuseal_template_id = id, error = %e, "archiving a Docuseal template failed");
        })?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            tracing::debug!(docuseal_template_id = id, %status, "archived a Docuseal template");
            return Ok(());
        }
        let err = error_for_status(Call::ArchiveTemplate, status, &body);
        tracing::warn!(docuseal_template_id = id, %status, error = %err, "Docuseal refused to archive a template");
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> DocusealClient {
        DocusealClient::new(base, Secret::new("k"), DocusealClient::DEFAULT_TIMEOUT).unwrap()
    }

    #[test]
    fn endpoints_extend_the_api_root_with_or_without_a_trailing_slash() {
        for base in ["http://localhost:3000/api", "http://localhost:3000/api/"] {
            let c = client(base);
            assert_eq!(
                c.endpoint(&["templates", "pdf"]).as_str(),
                "http://localhost:3000/api/templates/pdf"
            );
            assert_eq!(
                c.endpoint(&["templates", "42"]).as_str(),
                "http://localhost:3000/api/templates/42"
            );
        }
        assert_eq!(
            client("https://api.docuseal.com")
                .endpoint(&["templates", "pdf"])
                .as_str(),
            "https://api.docuseal.com/templates/pdf"
        );
    }

    #[test]
    fn bad_settings_are_refused_without_echoing_the_key() {
        let new =
            |base: &str, key: &str, timeout| DocusealClient::new(base, Secret::new(key), timeout);
        let t = DocusealClient::DEFAULT_TIMEOUT;
        assert!(matches!(
            new("api.docuseal.com", "k", t),
            Err(DocusealSetupError::InvalidBaseUrl(_))
        ));
        assert!(matches!(
            new("ftp://host", "k", t),
            Err(DocusealSetupError::InvalidBaseUrl(_))
        ));
        let with_creds = new("https://user:hunter2@host", "k", t).unwrap_err();
        assert!(!with_creds.to_string().contains("hunter2"));
        assert!(matches!(
            new("https://host?x=1", "k", t),
            Err(DocusealSetupError::InvalidBaseUrl(_))
        ));
        assert!(matches!(
            new("https://host", "  ", t),
            Err(DocusealSetupError::InvalidApiKey)
        ));
        assert!(matches!(
            new("https://host", "a\nb", t),
            Err(DocusealSetupError::InvalidApiKey)
        ));
        assert!(matches!(
            new("https://host", "k", Duration::ZERO),
            Err(DocusealSetupError::InvalidTimeout)
        ));
    }
}
