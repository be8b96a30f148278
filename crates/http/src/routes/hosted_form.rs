//! The hosted application page: `GET /apply/{slug}` serves one self-contained HTML page that reads
//! the slug from its own URL, loads the form from `GET /api/partners/applications/public/{slug}`
//! and submits it to `POST /api/partners/applications/submit`.
//!
//! The page is static; the only per-response value is the Content-Security-Policy nonce that lets
//! its inline `<style>` and `<script>` run. Nothing from the request is written into the page, so
//! there is nothing to escape. Not part of the OpenAPI document (it is HTML, not the JSON API).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

const PAGE: &str = include_str!("../../assets/apply.html");
const NONCE_PLACEHOLDER: &str = "{{CSP_NONCE}}";
/// Cloudflare Turnstile's origin: its script and its challenge iframe.
const TURNSTILE_ORIGIN: &str = "https://challenges.cloudflare.com";

/// Registers the hosted page; call from the app builder before the default service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(apply_page);
}

#[actix_web::get("/apply/{slug}")]
pub async fn apply_page(slug: web::Path<String>) -> HttpResponse {
    // A slug that cannot exist still gets the page (which then says the form is not available),
    // but with a 404 status so crawlers and monitors see the truth.
    let mut res = if plausible_slug(&slug) {
        HttpResponse::Ok()
    } else {
        HttpResponse::NotFound()
    };
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let csp = content_security_policy(&nonce);
    res.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    ))
    .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
    .insert_header((
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
    .insert_header((
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    ))
    .insert_header((header::CONTENT_SECURITY_POLICY, csp))
    .body(PAGE.replace(NONCE_PLACEHOLDER, &nonce))
}

/// Inline code runs only with this response's nonce; Turnstile's script (added by the page only
/// when the form has a site key) and its iframe come from Cloudflare; the page talks to its own
/// origin only. Banners may live on any http(s) host or be data URLs.
fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; \
         script-src 'nonce-{nonce}' {TURNSTILE_ORIGIN}; \
         style-src 'nonce-{nonce}'; \
         img-src 'self' https: http: data:; \
         connect-src 'self'; \
         frame-src {TURNSTILE_ORIGIN}; \
         form-action 'self'; \
         base-uri 'none'; \
         object-src 'none'"
    )
}

/// The shape of an application slug (`[a-z0-9-]{3,64}`).
fn plausible_slug(slug: &str) -> bool {
    (3..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::App;
    use actix_web::test as web_test;

    async fn get(path: &str) -> (u16, header::HeaderMap, String) {
        let app = web_test::init_service(App::new().configure(configure)).await;
        let res =
            web_test::call_service(&app, web_test::TestRequest::get().uri(path).to_request()).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = web_test::read_body(res).await;
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    fn header(headers: &header::HeaderMap, name: header::HeaderName) -> &str {
        headers.get(name).unwrap().to_str().unwrap()
    }

    #[actix_web::test]
    async fn serves_the_page_with_its_security_headers() {
        let (status, headers, body) = get("/apply/partner-program").await;
        assert_eq!(status, 200);
        assert_eq!(
            header(&headers, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
        assert_eq!(header(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(
            header(&headers, header::REFERRER_POLICY),
            "strict-origin-when-cross-origin"
        );
        let csp = header(&headers, header::CONTENT_SECURITY_POLICY);
        assert!(body.contains("id=\"main\""));
        assert!(!body.contains(NONCE_PLACEHOLDER));
        // Every inline block carries the nonce the policy names, and there is no other.
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap();
        assert_eq!(nonce.len(), 32);
        assert_eq!(body.matches("<script").count(), 1);
        assert_eq!(body.matches("<style").count(), 1);
        assert_eq!(body.matches(&format!("nonce=\"{nonce}\"")).count(), 2);
        assert!(csp.contains("connect-src 'self'"));
        assert!(csp.contains("frame-src https://challenges.cloudflare.com"));
        assert!(!csp.contains("unsafe-inline"));
    }

    #[actix_web::test]
    async fn every_response_gets_a_fresh_nonce() {
        let (_, a, _) = get("/apply/partner-program").await;
        let (_, b, _) = get("/apply/partner-program").await;
        assert_ne!(
            header(&a, header::CONTENT_SECURITY_POLICY),
            header(&b, header::CONTENT_SECURITY_POLICY)
        );
    }

    #[actix_web::test]
    async fn an_impossible_slug_is_a_404_that_still_renders_and_echoes_nothing() {
        let (status, headers, body) = get("/apply/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
        assert_eq!(status, 404);
        assert_eq!(
            header(&headers, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert!(!body.contains("alert(1)"));
    }

    #[test]
    fn slug_shape() {
        assert!(plausible_slug("abc"));
        assert!(plausible_slug("partner-program-2026"));
        assert!(!plausible_slug("ab"));
        assert!(!plausible_slug("Partner"));
        assert!(!plausible_slug(&"a".repeat(65)));
    }
}
