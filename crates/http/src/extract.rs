//! Request extractors: the JSON body with precise errors, and the caller's credentials.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, web};
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use partneros_domain::identity::model::{ClientInfo, Credential, Principal};
use partneros_domain::shared::error::ErrorKind;
use partneros_domain::shared::error::FieldError;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "session_token";

/// Default limit of a JSON body.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A JSON body: `application/json` only (else 415), at most [`JSON_LIMIT`] bytes (else 413,
/// counted while reading), syntax errors → 400 `invalid_json`, type errors, missing and unknown
/// fields → 400 `validation_failed` naming the field.
pub struct Json<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

pub(crate) async fn read_limited(
    payload: &mut Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::invalid_json("the request body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                ErrorKind::PayloadTooLarge,
                format!("the request body exceeds {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses JSON, telling syntax errors from schema errors and naming the offending field.
/// The whole body must be one JSON value: trailing bytes are a syntax error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // A full syntax pass first, so a syntax error is never reported as a schema error (an
    // unknown key is noticed before a truncated body otherwise).
    // JSON text is UTF-8 (RFC 8259); skipping over strings does not check it.
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::invalid_json(
            "the body is not valid JSON: it is not UTF-8",
        ));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(ApiError::invalid_json(format!(
            "the body is not valid JSON: {}",
            strip_position(&e.to_string())
        )));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = strip_position(&inner.to_string());
            let field = if path == "." {
                unknown_or_missing_field(&message).unwrap_or_default()
            } else {
                path
            };
            Err(ApiError::validation(vec![FieldError::new(
                if field.is_empty() {
                    "body".to_owned()
                } else {
                    field
                },
                message,
            )]))
        }
    }
}

/// serde's messages end with " at line 1 column 12", useless to a client.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// "missing field `name`" → "name"; "unknown field `x`, expected …" → "x".
fn unknown_or_missing_field(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    Some(msg[start..end].to_owned())
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::new(
                    ErrorKind::UnsupportedMediaType,
                    "the body must be JSON with Content-Type: application/json",
                ));
            }
            if declared.is_some_and(|n| n > JSON_LIMIT) {
                return Err(ApiError::new(
                    ErrorKind::PayloadTooLarge,
                    format!("the request body exceeds {JSON_LIMIT} bytes"),
                ));
            }
            let body = read_limited(&mut payload, JSON_LIMIT).await?;
            parse_json(&body).map(Json)
        })
    }
}

/// The token a request presents: `Authorization: Bearer …` first, else the session cookie.
pub fn presented_token(req: &HttpRequest) -> Option<String> {
    if req.headers().contains_key(AUTHORIZATION) {
        return bearer_token(req).map(str::to_owned);
    }
    req.cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let h = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let mut parts = h.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let token = parts.next().unwrap_or_default().trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The token of a request that authenticates: a session cookie on a cross-origin write is
/// refused (see [`crate::browser`]).
fn authenticating_token(req: &HttpRequest) -> Result<String, ApiError> {
    let token = presented_token(req)
        .filter(|t| t.len() <= 512)
        .ok_or_else(ApiError::unauthorized)?;
    // Without an `Authorization` header the token came from the cookie.
    if !req.headers().contains_key(AUTHORIZATION) {
        crate::browser::refuse_cross_origin(req)?;
    }
    Ok(token)
}

/// The authenticated caller (any live session or API key), resolved once per request; the
/// use cases decide what it may do (the domain's `access` rules).
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = authenticating_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token?;
            let state = state.ok_or_else(|| ApiError::new(ErrorKind::Internal, "state missing"))?;
            let principal = state
                .auth
                .authenticate(Credential::from_token(&token))
                .await?;
            Ok(Caller(principal))
        })
    }
}

/// The caller when the request presents a credential, else `None`. A credential that is
/// presented but not live is refused (401) like anywhere else.
pub struct MaybeCaller(pub Option<Principal>);

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if presented_token(req).is_none() {
            return Box::pin(async { Ok(MaybeCaller(None)) });
        }
        let caller = Caller::from_request(req, payload);
        Box::pin(async move { Ok(MaybeCaller(Some(caller.await?.0))) })
    }
}

/// What the client says about itself, kept on new sessions; its address through the trusted
/// proxies (`FORWARDED_HOPS`), as the per-address limits count it.
pub fn client_info(req: &HttpRequest) -> ClientInfo {
    let hops = req
        .app_data::<web::Data<AppState>>()
        .map_or(0, |s| s.settings.forwarded_hops);
    ClientInfo {
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(500).collect()),
        ip_address: client_ip(req, hops).map(|ip| ip.to_string()),
    }
}

/// The client's address: the peer, or with `hops` trusted proxies in front, the
/// `X-Forwarded-For` entry that many places from the right (what the outermost trusted proxy saw).
pub fn client_ip(req: &HttpRequest, hops: usize) -> Option<std::net::IpAddr> {
    if hops > 0
        && let Some(xff) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
    {
        let entries: Vec<&str> = xff.split(',').map(str::trim).collect();
        if entries.len() >= hops {
            return entries[entries.len() - hops].parse().ok();
        }
    }
    req.peer_addr().map(|a| a.ip())
}

/// The `limit` query parameter of a list: 1..=100, `default` when absent.
pub fn page_limit(raw: Option<&str>, default: i64) -> Result<i64, &'static str> {
    match raw {
        None => Ok(default),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err("must be an integer from 1 to 100"),
        },
    }
}

/// Parses a path id; a malformed one is a validation failure, not a 404.
pub fn path_id(raw: &str, field: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(raw).map_err(|_| ApiError::field(field, "must be a UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        nested: Option<Nested>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Nested {
        count: u8,
    }

    fn field_of(e: ApiError) -> String {
        e.details()[0].field.clone()
    }

    #[test]
    fn syntax_errors_are_invalid_json_and_schema_errors_name_the_field() {
        let e = parse_json::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(e.to_string(), "invalid_json");
        let e = parse_json::<Body>(b"{\"name\": 1}").unwrap_err();
        assert_eq!(e.to_string(), "validation_failed");
        let e = parse_json::<Body>(b"{\"name\": \"a\", \"nested\": {\"count\": 300}}").unwrap_err();
        assert_eq!(field_of(e), "nested.count");
        let e = parse_json::<Body>(b"{\"name\": \"a\", \"extra\": 1}").unwrap_err();
        assert_eq!(field_of(e), "extra");
        let e = parse_json::<Body>(b"{}").unwrap_err();
        assert_eq!(field_of(e), "name");
    }

    #[test]
    fn trailing_bytes_and_truncation_are_syntax_errors() {
        for body in [
            &b"{\"name\": \"a\"} x"[..],
            b"{\"name\": \"a\"}}",
            b"{\"extra\":",
            b"",
            b"{\"name\": \"a\"},",
        ] {
            let e = parse_json::<Body>(body).unwrap_err();
            assert_eq!(
                e.to_string(),
                "invalid_json",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(parse_json::<Body>(b" {\"name\": \"a\"} \n").is_ok());
    }

    /// Every way a body can fail to be JSON is `invalid_json` (the API tests send one of them
    /// to each endpoint).
    #[test]
    fn malformed_bodies_are_syntax_errors() {
        for body in [
            &b"{\"name\": \"\x01"[..],
            b"{\"name\": \"\\q\"}",
            b"  \n",
            b"{\"name\": \"\xff\xfe\"}",
            b"{\"name\": \"a\"} {}",
            b"{\"name\":",
        ] {
            let e = parse_json::<Body>(body).unwrap_err();
            assert_eq!(
                e.to_string(),
                "invalid_json",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn field_names_are_pulled_from_serde_messages() {
        assert_eq!(
            unknown_or_missing_field("missing field `name`").as_deref(),
            Some("name")
        );
        assert_eq!(
            strip_position("invalid type: integer at line 1 column 9"),
            "invalid type: integer"
        );
    }
}
