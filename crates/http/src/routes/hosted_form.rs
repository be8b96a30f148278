//! The hosted pages, each one self-contained HTML file (no build step):
//! - `GET /apply/{slug}` reads the slug from its own URL, loads the form from
//!   `GET /api/partners/applications/public/{slug}` and submits it to
//!   `POST /api/partners/applications/submit`;
//! - `GET /accept-invitation?token=…` (the link of invitation mails, `INVITATION_URL`) posts the
//!   token to `POST /api/auth/invitations/accept` once the invitee clicks, and asks for a new
//!   account's password or for signing in as the invited account when the answer says so;
//! - `GET /verify-email?token=…` (the link of verification mails, `VERIFY_EMAIL_URL`) posts the
//!   token to `POST /api/auth/verify-email` once the user clicks;
//! - `GET /reset-password?token=…` (the link of reset mails, `RESET_PASSWORD_URL`) asks for the
//!   new password and posts it with the token to `POST /api/auth/password-reset/confirm`.
//!
//! The pages are static; the only per-response value is the Content-Security-Policy nonce that
//! lets their inline `<style>` and `<script>` run. Nothing from the request is written into a
//! page, so there is nothing to escape. Not part of the OpenAPI document (HTML, not the JSON API).
//!
//! Any page may frame the application form (`/embed.js` does, see [`super::embed`]); with
//! `?embed=1` it drops its own page chrome and, framed, reports its height to the embedding page.

use crate::browser::Frameable;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use partneros_domain::shared::slug::Slug;

const PAGE: &str = include_str!("../../assets/apply.html");
const ACCEPT_PAGE: &str = include_str!("../../assets/accept-invitation.html");
const VERIFY_PAGE: &str = include_str!("../../assets/verify-email.html");
const RESET_PAGE: &str = include_str!("../../assets/reset-password.html");
const NONCE_PLACEHOLDER: &str = "{{CSP_NONCE}}";
/// Cloudflare Turnstile's origin: its script and its challenge iframe.
const TURNSTILE_ORIGIN: &str = "https://challenges.cloudflare.com";

/// Registers the hosted page; call from the app builder before the default service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(apply_page)
        .service(accept_invitation_page)
        .service(verify_email_page)
        .service(reset_password_page);
}

#[actix_web::get("/verify-email")]
pub async fn verify_email_page() -> HttpResponse {
    page(HttpResponse::Ok(), VERIFY_PAGE, Reach::OwnOrigin)
}

#[actix_web::get("/reset-password")]
pub async fn reset_password_page() -> HttpResponse {
    page(HttpResponse::Ok(), RESET_PAGE, Reach::OwnOrigin)
}

#[actix_web::get("/accept-invitation")]
pub async fn accept_invitation_page() -> HttpResponse {
    page(HttpResponse::Ok(), ACCEPT_PAGE, Reach::OwnOrigin)
}

#[actix_web::get("/apply/{slug}")]
pub async fn apply_page(slug: web::Path<String>) -> HttpResponse {
    // A slug that cannot exist still gets the page (which then says the form is not available),
    // but with a 404 status so crawlers and monitors see the truth.
    let res = if plausible_slug(&slug) {
        HttpResponse::Ok()
    } else {
        HttpResponse::NotFound()
    };
    page(res, PAGE, Reach::Embeddable)
}

/// What a hosted page may do beyond its own origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The application form: Turnstile's widget (when the form has a site key), and any page may
    /// frame it (`/embed.js` puts it on the customer's site). Framing it gains a foreign page
    /// nothing: the form holds no session and anyone may submit it directly.
    Embeddable,
    /// Nothing but its own origin, and no framing (the invitation page takes passwords).
    OwnOrigin,
}

/// A hosted page with its own nonce.
fn page(mut res: actix_web::HttpResponseBuilder, template: &str, reach: Reach) -> HttpResponse {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let csp = content_security_policy(&nonce, reach);
    let mut res = res
        .insert_header((
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
        .body(template.replace(NONCE_PLACEHOLDER, &nonce));
    if reach == Reach::Embeddable {
        res.extensions_mut().insert(Frameable);
    }
    res
}

/// Inline code runs only with this response's nonce; Turnstile's script (added by the page only
/// when the form has a site key) and its iframe come from Cloudflare; the page talks to its own
/// origin only. Banners may live on any http(s) host or be data URLs.
fn content_security_policy(nonce: &str, reach: Reach) -> String {
    let (cloudflare, frames, ancestors) = match reach {
        Reach::Embeddable => (TURNSTILE_ORIGIN, TURNSTILE_ORIGIN, "*"),
        Reach::OwnOrigin => ("", "'none'", "'none'"),
    };
    format!(
        "default-src 'none'; \
         script-src 'nonce-{nonce}' {cloudflare}; \
         style-src 'nonce-{nonce}'; \
         img-src 'self' https: http: data:; \
         connect-src 'self'; \
         frame-src {frames}; \
         frame-ancestors {ancestors}; \
         form-action 'self'; \
         base-uri 'none'; \
         object-src 'none'"
    )
}

/// Whether the path segment has the shape of a slug (the domain's one rule, untrimmed here:
/// a path with spaces names no form).
fn plausible_slug(slug: &str) -> bool {
    slug.trim() == slug && Slug::parse(slug).is_ok()
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
        assert!(
            csp.contains("frame-ancestors *"),
            "any page may embed the form: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
    }

    #[actix_web::test]
    async fn serves_the_invitation_page_without_third_party_origins() {
        let (status, headers, body) = get("/accept-invitation?token=pi_x").await;
        assert_eq!(status, 200);
        let csp = header(&headers, header::CONTENT_SECURITY_POLICY);
        assert!(!csp.contains("cloudflare"), "{csp}");
        assert!(csp.contains("frame-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("connect-src 'self'"));
        assert!(!body.contains(NONCE_PLACEHOLDER));
        assert!(body.contains("/api/auth/invitations/accept"));
        assert_eq!(header(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    }

    #[actix_web::test]
    async fn serves_the_verification_and_reset_pages_without_third_party_origins() {
        for (path, api) in [
            ("/verify-email?token=pv_x", "/api/auth/verify-email"),
            (
                "/reset-password?token=pr_x",
                "/api/auth/password-reset/confirm",
            ),
        ] {
            let (status, headers, body) = get(path).await;
            assert_eq!(status, 200, "{path}");
            let csp = header(&headers, header::CONTENT_SECURITY_POLICY);
            assert!(!csp.contains("cloudflare"), "{csp}");
            assert!(csp.contains("connect-src 'self'"));
            assert!(!body.contains(NONCE_PLACEHOLDER));
            assert!(body.contains(api), "{path}");
            assert_eq!(body.matches("<script").count(), 1);
        }
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
