//! What browsers may do across origins.
//!
//! CORS: the public side of application forms answers any origin without credentials (a form on
//! the customer's own site submits to it); every other `/api` route answers only trusted origins,
//! with credentials.
//!
//! CSRF: a browser attaches the session cookie whoever started the request, and `SameSite=Lax`
//! only keeps it off requests from other *sites*: a sibling subdomain is the same site, and old
//! browsers ignore the attribute. So an unsafe request authenticated by the cookie must come from
//! a trusted origin. A request with `Authorization` carries a credential that a foreign page
//! cannot have, and is left alone.
//!
//! Framing: no page of another origin may frame a response (clickjacking: the invitation page
//! and `/docs` take passwords and tokens), except the hosted application form, which the embed
//! (`/embed.js`) frames on the customer's own site.

use crate::error::ApiError;
use crate::middleware::REQUEST_ID;
use crate::state::AppState;
use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{
    AUTHORIZATION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, HeaderName, HeaderValue, ORIGIN,
    RETRY_AFTER, X_FRAME_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};
use partneros_domain::shared::error::ErrorKind;

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// How long a browser may reuse a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: usize = 3600;

/// CORS of the public application endpoints: any origin, no credentials.
pub(crate) fn public_cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID, RETRY_AFTER])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// CORS of every other `/api` route: the trusted origins only, with credentials.
pub(crate) fn trusted_cors(trusted_origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([AUTHORIZATION, CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID, RETRY_AFTER])
        .supports_credentials()
        .max_age(PREFLIGHT_MAX_AGE)
        // A request from another origin still reaches its handler, only without CORS headers
        // (the foreign page cannot read the answer): same-origin pages such as `/docs` and
        // clients that send no `Origin` keep working, and `refuse_cross_origin` stops
        // cookie-authenticated writes.
        .block_on_origin_mismatch(false);
    trusted_origins
        .iter()
        .fold(cors, |cors, origin| cors.allowed_origin(origin))
}

/// Put into a response's extensions by a handler whose page any origin may frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frameable;

/// Forbids framing every response that is not [`Frameable`]: `X-Frame-Options: DENY` for old
/// browsers, and `frame-ancestors 'none'` in the Content-Security-Policy (added to the
/// response's own policy when it has one that says nothing about framing).
pub async fn deny_framing(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let mut res = next.call(req).await?;
    if res.response().extensions().get::<Frameable>().is_some() {
        return Ok(res);
    }
    let headers = res.headers_mut();
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let csp = match headers.get(CONTENT_SECURITY_POLICY) {
        None => Some(HeaderValue::from_static(DENY_FRAMING_POLICY)),
        Some(own) => own
            .to_str()
            .ok()
            .filter(|own| !own.contains("frame-ancestors"))
            .and_then(|own| {
                let own = own.trim_end().trim_end_matches(';');
                HeaderValue::from_str(&format!("{own}; {DENY_FRAMING_POLICY}")).ok()
            }),
    };
    if let Some(csp) = csp {
        headers.insert(CONTENT_SECURITY_POLICY, csp);
    }
    Ok(res)
}

const DENY_FRAMING_POLICY: &str = "frame-ancestors 'none'";

/// Refuses an unsafe request authenticated by the session cookie that a browser sent from a
/// page of another origin (403 `forbidden`), before its body is read.
pub(crate) fn refuse_cross_origin(req: &HttpRequest) -> Result<(), ApiError> {
    if req.method().is_safe() || !cross_origin(req) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorKind::Forbidden,
        "cross-origin request refused: a change authenticated by the session cookie must come \
         from this service's own pages or an origin in CORS_ALLOWED_ORIGINS; API clients send \
         Authorization: Bearer",
    ))
}

/// Whether a browser sent the request from a page of an untrusted origin. `Origin` decides when
/// present; else `Sec-Fetch-Site`; a request with neither is not a browser's cross-origin
/// request (curl, another server).
fn cross_origin(req: &HttpRequest) -> bool {
    untrusted_origin(req).unwrap_or_else(|| {
        req.headers()
            .get(SEC_FETCH_SITE)
            .is_some_and(|site| !matches!(site.as_bytes(), b"same-origin" | b"none"))
    })
}

/// Whether the request's `Origin` is untrusted (`null` is); `None` without one.
fn untrusted_origin(req: &HttpRequest) -> Option<bool> {
    let origin = req.headers().get(ORIGIN)?;
    Some(!origin.to_str().is_ok_and(|o| trusted(req, o)))
}

/// The service's own origin, `CORS_ALLOWED_ORIGINS`, or the host the request was sent to: only a
/// page served from that host sends it as its origin, and a browser sends our cookie only to
/// our host (this also covers `localhost` versus `127.0.0.1` in development).
fn trusted(req: &HttpRequest, origin: &str) -> bool {
    let listed = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.trusted_origins.iter().any(|t| t == origin));
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    listed
        || host.is_some_and(|host| {
            req.headers()
                .get(HOST)
                .is_some_and(|h| h.as_bytes().eq_ignore_ascii_case(host.as_bytes()))
        })
}

/// Refuses a sign-in from a page of a foreign origin (login CSRF: a foreign page signing the
/// browser into the attacker's account). Only a present, untrusted `Origin` is refused, so
/// clients that send none are unaffected.
pub struct NotCrossOrigin;

impl FromRequest for NotCrossOrigin {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(if untrusted_origin(req) == Some(true) {
            Err(ApiError::new(
                ErrorKind::Forbidden,
                "cross-origin sign-in refused: sign in from this service's own pages or an \
                 origin in CORS_ALLOWED_ORIGINS",
            ))
        } else {
            Ok(NotCrossOrigin)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn refused(req: TestRequest) -> bool {
        refuse_cross_origin(&req.to_http_request()).is_err()
    }

    #[actix_web::test]
    async fn only_frameable_responses_may_be_framed() {
        use actix_web::{App, HttpResponse, test as web_test};
        let app = web_test::init_service(
            App::new()
                .route("/json", web::get().to(HttpResponse::Ok))
                .route(
                    "/page",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .insert_header((CONTENT_SECURITY_POLICY, "default-src 'none';"))
                            .finish()
                    }),
                )
                .route(
                    "/form",
                    web::get().to(|| async {
                        let mut res = HttpResponse::Ok()
                            .insert_header((CONTENT_SECURITY_POLICY, "frame-ancestors *"))
                            .finish();
                        res.extensions_mut().insert(Frameable);
                        res
                    }),
                )
                .wrap(actix_web::middleware::from_fn(deny_framing)),
        )
        .await;
        let headers = |path: &'static str| {
            let req = web_test::TestRequest::get().uri(path).to_request();
            let app = &app;
            async move { web_test::call_service(app, req).await.headers().clone() }
        };
        let get = |h: &actix_web::http::header::HeaderMap, name| {
            h.get(name)
                .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
        };

        let json = headers("/json").await;
        assert_eq!(get(&json, X_FRAME_OPTIONS).as_deref(), Some("DENY"));
        assert_eq!(
            get(&json, CONTENT_SECURITY_POLICY).as_deref(),
            Some("frame-ancestors 'none'")
        );
        let page = headers("/page").await;
        assert_eq!(get(&page, X_FRAME_OPTIONS).as_deref(), Some("DENY"));
        assert_eq!(
            get(&page, CONTENT_SECURITY_POLICY).as_deref(),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        let form = headers("/form").await;
        assert_eq!(get(&form, X_FRAME_OPTIONS), None);
        assert_eq!(
            get(&form, CONTENT_SECURITY_POLICY).as_deref(),
            Some("frame-ancestors *")
        );
    }

    #[test]
    fn unsafe_requests_from_foreign_pages_are_refused() {
        let post = || TestRequest::post().insert_header((HOST, "api.example"));
        assert!(refused(
            post().insert_header((ORIGIN, "https://evil.example"))
        ));
        assert!(refused(post().insert_header((ORIGIN, "null"))));
        assert!(refused(
            post().insert_header((SEC_FETCH_SITE, "cross-site"))
        ));
        assert!(refused(post().insert_header((SEC_FETCH_SITE, "same-site"))));
        assert!(refused(
            TestRequest::delete().insert_header((ORIGIN, "https://api.example.evil"))
        ));
    }

    #[test]
    fn same_origin_safe_and_non_browser_requests_pass() {
        let post = || TestRequest::post().insert_header((HOST, "api.example"));
        assert!(!refused(
            post().insert_header((ORIGIN, "https://api.example"))
        ));
        assert!(!refused(
            post().insert_header((ORIGIN, "http://API.example"))
        ));
        assert!(!refused(
            post().insert_header((SEC_FETCH_SITE, "same-origin"))
        ));
        assert!(!refused(post().insert_header((SEC_FETCH_SITE, "none"))));
        assert!(!refused(post()));
        assert!(!refused(
            TestRequest::get().insert_header((ORIGIN, "https://evil.example"))
        ));
    }
}
