//! One guarded fetch: every hop checked by the guard, connections pinned to checked addresses,
//! redirects followed by hand, the body streamed under a cap.

use crate::config::{MAX_BODY_BYTES, MAX_REDIRECTS, ScraperConfig};
use crate::guard::{Guard, Refusal, Target};
use crate::pin::{pinned_client, request_url};
use crate::resolve::Resolver;
use crate::robots::Robots;
use partneros_domain::analysis::site::SourceStatus;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// Why a fetch did not yield a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("refused by the SSRF guard: {0}")]
    Blocked(Refusal),
    #[error("disallowed by robots.txt")]
    RobotsDisallowed,
    #[error("could not resolve: {0}")]
    Resolve(String),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("timed out")]
    Timeout,
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("not HTML: {0}")]
    NotHtml(String),
    #[error("body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("redirect without a valid Location")]
    BadRedirect,
    #[error("HTTP error: {0}")]
    Http(String),
}

impl FetchError {
    /// How the fetch is reported in `aiInsights.sources`.
    pub fn source_status(&self) -> SourceStatus {
        match self {
            Self::Blocked(_) => SourceStatus::Blocked,
            Self::RobotsDisallowed => SourceStatus::RobotsDisallowed,
            _ => SourceStatus::Failed,
        }
    }

    /// The site gave no HTTP answer at all (so another scheme may be worth a try).
    pub fn no_answer(&self) -> bool {
        matches!(
            self,
            Self::Blocked(_) | Self::Resolve(_) | Self::Connect(_) | Self::Timeout
        )
    }
}

/// A fetched response.
#[derive(Debug, Clone)]
pub struct Document {
    /// The URL finally answered, after redirects.
    pub url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    /// At most [`MAX_BODY_BYTES`]; empty for non-2xx answers of robots.txt.
    pub body: Vec<u8>,
}

impl Document {
    /// The body as text: the charset of `Content-Type`, else of a `<meta charset>` or a BOM, else
    /// UTF-8; malformed sequences are replaced, so the text is always valid UTF-8.
    pub fn text(&self) -> String {
        decode(&self.body, self.content_type.as_deref())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Html,
    Anything,
}

/// Fetches URLs through the guard.
#[derive(Clone)]
pub struct Fetcher {
    guard: Guard,
    resolver: Arc<dyn Resolver>,
    user_agent: String,
    fetch_timeout: Duration,
    connect_timeout: Duration,
}

impl Fetcher {
    pub fn new(config: &ScraperConfig) -> Self {
        Self {
            guard: config.guard(),
            resolver: Arc::clone(&config.resolver),
            user_agent: config.user_agent.clone(),
            fetch_timeout: config.fetch_timeout,
            connect_timeout: config.connect_timeout,
        }
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// One HTML page, redirects followed (robots.txt not consulted).
    ///
    /// # Errors
    /// [`FetchError::Blocked`] when the guard refuses a hop (before connecting to it), else why the
    /// page could not be read.
    pub async fn fetch(&self, url: &Url) -> Result<Document, FetchError> {
        self.timed(url, Expect::Html, None).await
    }

    /// One HTML page, honouring the robots.txt of every origin on the way.
    pub(crate) async fn fetch_page(
        &self,
        url: &Url,
        robots: &Robots<'_>,
    ) -> Result<Document, FetchError> {
        // Refuse what the guard refuses outright before anything else, then consult robots.txt
        // (its own fetch, with its own deadline) before the page's deadline starts.
        self.guard.check_url(url).map_err(FetchError::Blocked)?;
        robots.check(url).await?;
        self.timed(url, Expect::Html, Some(robots)).await
    }

    /// A robots.txt: any status is an answer; the body is read for 2xx only.
    pub(crate) async fn fetch_robots_txt(&self, url: &Url) -> Result<Document, FetchError> {
        self.timed(url, Expect::Anything, None).await
    }

    /// The addresses a connection for `url` may go to: the IP literal, or every resolved address
    /// the guard allows.
    ///
    /// # Errors
    /// [`FetchError::Blocked`] when the URL or every address is refused, [`FetchError::Resolve`]
    /// when the name does not resolve.
    pub async fn checked_addrs(&self, url: &Url) -> Result<(Target, Vec<SocketAddr>), FetchError> {
        let target = self.guard.check_url(url).map_err(FetchError::Blocked)?;
        let addrs = match &target.host {
            Host::Ipv4(ip) => vec![SocketAddr::new((*ip).into(), target.port)],
            Host::Ipv6(ip) => vec![SocketAddr::new((*ip).into(), target.port)],
            Host::Domain(name) => {
                let ips = self
                    .resolver
                    .resolve(name)
                    .await
                    .map_err(|e| FetchError::Resolve(format!("{name}: {e}")))?;
                self.guard
                    .filter(&ips, target.port)
                    .map_err(FetchError::Blocked)?
            }
        };
        Ok((target, addrs))
    }

    async fn timed(
        &self,
        url: &Url,
        expect: Expect,
        robots: Option<&Robots<'_>>,
    ) -> Result<Document, FetchError> {
        tokio::time::timeout(self.fetch_timeout, self.follow(url, expect, robots))
            .await
            .unwrap_or(Err(FetchError::Timeout))
    }

    async fn follow(
        &self,
        url: &Url,
        expect: Expect,
        robots: Option<&Robots<'_>>,
    ) -> Result<Document, FetchError> {
        let mut current = url.clone();
        let mut redirects = 0;
        loop {
            let (target, addrs) = self.checked_addrs(&current).await?;
            if let Some(robots) = robots.filter(|_| redirects > 0) {
                robots.check(&current).await?;
            }
            let response = self.send(&current, &target, &addrs).await?;
            let status = response.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let next = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| current.join(loc).ok())
                    .ok_or(FetchError::BadRedirect)?;
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(FetchError::TooManyRedirects);
                }
                tracing::debug!(from = %current, to = %next, "following redirect");
                current = next;
                continue;
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = match expect {
                Expect::Anything if !(200..300).contains(&status) => Vec::new(),
                Expect::Anything => read_body(response).await?,
                Expect::Html => {
                    if !(200..300).contains(&status) {
                        return Err(FetchError::Status(status));
                    }
                    let essence = content_type
                        .as_deref()
                        .map(|ct| ct.split(';').next().unwrap_or_default().trim())
                        .unwrap_or_default();
                    if !essence.eq_ignore_ascii_case("text/html") {
                        return Err(FetchError::NotHtml(
                            content_type.unwrap_or_else(|| "no content type".to_owned()),
                        ));
                    }
                    read_body(response).await?
                }
            };
            return Ok(Document {
                url: current,
                status,
                content_type,
                body,
            });
        }
    }

    /// One request on a client that can only connect to `addrs` (already checked): name
    /// resolution of the client itself always fails, so no unchecked address is reachable.
    async fn send(
        &self,
        url: &Url,
        target: &Target,
        addrs: &[SocketAddr],
    ) -> Result<reqwest::Response, FetchError> {
        let request_url = request_url(url, target)
            .ok_or_else(|| FetchError::Http("cannot set port".to_owned()))?;
        let client = pinned_client(target, addrs)
            .user_agent(&self.user_agent)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| FetchError::Http(error_chain(&e)))?;
        client
            .get(request_url)
            .header(ACCEPT, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1")
            .send()
            .await
            .map_err(|e| from_reqwest(&e))
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| from_reqwest(&e))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            // Dropping the response closes the connection: the rest is never read.
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn from_reqwest(e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_connect() {
        FetchError::Connect(error_chain(e))
    } else {
        FetchError::Http(error_chain(e))
    }
}

/// An error and its sources, `: `-separated, for logs and outcome texts.
pub fn error_chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn decode(body: &[u8], content_type: Option<&str>) -> String {
    let label = content_type
        .and_then(charset_param)
        .or_else(|| meta_charset(body));
    let encoding = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    // `decode` sniffs a BOM first and replaces malformed sequences.
    let (text, _, _) = encoding.decode(body);
    text.into_owned()
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).to_owned())
    })
}

/// The `charset` of a `<meta>` in the first 1 024 bytes (the HTML prescan, simplified).
fn meta_charset(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(1024)];
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("<meta") {
        rest = &rest[i + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(j) = tag.find("charset=") {
            let value = tag[j + 8..].trim_start_matches(['"', '\'', ' ']);
            let end = value
                .find(|c: char| c == '"' || c == '\'' || c == ';' || c == '/' || c.is_whitespace())
                .unwrap_or(value.len());
            if end > 0 {
                return Some(value[..end].to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_with_the_content_type_charset() {
        let latin1 = b"<p>M\xfcnchen</p>";
        assert_eq!(
            decode(latin1, Some("text/html; charset=ISO-8859-1")),
            "<p>München</p>"
        );
        assert_eq!(
            decode(latin1, Some("text/html; charset=\"latin1\"")),
            "<p>München</p>"
        );
    }

    #[test]
    fn decodes_with_a_meta_charset_then_utf8_lossy() {
        let latin1 = b"<html><head><meta charset=\"windows-1252\"></head><p>caf\xe9</p>";
        assert!(decode(latin1, Some("text/html")).ends_with("<p>café</p>"));
        let old =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">\xfc";
        assert!(decode(old, None).ends_with('ü'));
        assert_eq!(decode(b"ok \xff\xfe!", None), "ok \u{fffd}\u{fffd}!");
        assert_eq!(decode("Grüße".as_bytes(), Some("text/html")), "Grüße");
        // An unknown label falls back to UTF-8.
        assert_eq!(
            decode("Grüße".as_bytes(), Some("text/html; charset=bogus")),
            "Grüße"
        );
    }

    #[test]
    fn errors_map_to_source_statuses() {
        assert_eq!(
            FetchError::Blocked(Refusal::NoHost).source_status(),
            SourceStatus::Blocked
        );
        assert_eq!(
            FetchError::RobotsDisallowed.source_status(),
            SourceStatus::RobotsDisallowed
        );
        for e in [
            FetchError::Timeout,
            FetchError::TooLarge,
            FetchError::NotHtml("application/json".into()),
            FetchError::TooManyRedirects,
            FetchError::Status(500),
        ] {
            assert_eq!(e.source_status(), SourceStatus::Failed, "{e}");
        }
        assert!(FetchError::Connect("refused".into()).no_answer());
        assert!(!FetchError::Status(404).no_answer());
    }
}
