//! `TurnstileVerifier` against a local fake of Cloudflare's siteverify endpoint.
//!
//! The fake follows the documented contract: a form-encoded POST with `secret`, `response`,
//! optional `remoteip` and `idempotency_key`; a JSON answer with `success` and `error-codes`
//! (plus `challenge_ts`, `hostname`, `action`, `cdata` on success). Its secrets behave like
//! Cloudflare's dummy secrets.

use partneros_domain::applications::ports::{Captcha, CaptchaError, CaptchaVerdict};
use partneros_domain::shared::secret::Secret;
use partneros_turnstile::{SiteverifyError, TurnstileVerifier};
use serde_json::json;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ALWAYS_PASSES: &str = "1x0000000000000000000000000000000AA";
const ALWAYS_FAILS: &str = "2x0000000000000000000000000000000AA";
const ALREADY_SPENT: &str = "3x0000000000000000000000000000000AA";
const DUMMY_TOKEN: &str = "XXXX.DUMMY.TOKEN.XXXX";
const SITEVERIFY: &str = "/turnstile/v0/siteverify";

/// Answers like siteverify with Cloudflare's dummy secrets.
struct FakeSiteverify;

fn form_of(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn refusal(codes: &[&str]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "success": false, "error-codes": codes }))
}

impl Respond for FakeSiteverify {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form_encoded = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_encoded {
            return refusal(&["bad-request"]);
        }
        let form = form_of(request);
        let field = |name: &str| form.get(name).filter(|v| !v.is_empty());
        let Some(secret) = field("secret") else {
            return refusal(&["missing-input-secret"]);
        };
        let Some(_token) = field("response") else {
            return refusal(&["missing-input-response"]);
        };
        let key_ok = form
            .get("idempotency_key")
            .is_none_or(|k| uuid::Uuid::parse_str(k).is_ok());
        let ip_ok = form
            .get("remoteip")
            .is_none_or(|ip| ip.parse::<IpAddr>().is_ok());
        if !key_ok || !ip_ok {
            return refusal(&["bad-request"]);
        }
        match secret.as_str() {
            ALWAYS_PASSES => ResponseTemplate::new(200).set_body_json(json!({
                "success": true,
                "error-codes": [],
                "challenge_ts": "2022-02-28T15:14:30.096Z",
                "hostname": "example.com",
                "action": "apply",
                "cdata": "",
                "metadata": { "interactive": false }
            })),
            ALWAYS_FAILS => refusal(&["invalid-input-response"]),
            ALREADY_SPENT => refusal(&["timeout-or-duplicate"]),
            _ => refusal(&["invalid-input-secret"]),
        }
    }
}

async fn fake_siteverify() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SITEVERIFY))
        .respond_with(FakeSiteverify)
        .mount(&server)
        .await;
    server
}

/// A server answering every siteverify call with `answer`.
async fn canned(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SITEVERIFY))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn verifier_for(server: &MockServer, secret: &str) -> TurnstileVerifier {
    verifier_at(&format!("{}{SITEVERIFY}", server.uri()), secret)
}

fn verifier_at(url: &str, secret: &str) -> TurnstileVerifier {
    TurnstileVerifier::new(Secret::new(secret), url, Duration::from_millis(300)).unwrap()
}

async fn requests(server: &MockServer) -> Vec<HashMap<String, String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(form_of)
        .collect()
}

fn ip() -> Option<IpAddr> {
    Some("203.0.113.9".parse().unwrap())
}

fn failed(code: &str) -> CaptchaVerdict {
    CaptchaVerdict::Failed(vec![code.to_owned()])
}

/// The `SiteverifyError` inside an `Unavailable`.
fn cause(result: Result<CaptchaVerdict, CaptchaError>) -> SiteverifyError {
    match result {
        Err(CaptchaError::Unavailable(source)) => *source.downcast::<SiteverifyError>().unwrap(),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_passing_token_is_passed_and_the_form_carries_every_field() {
    let server = fake_siteverify().await;
    let verdict = verifier_for(&server, ALWAYS_PASSES)
        .verify(DUMMY_TOKEN, ip())
        .await
        .unwrap();
    assert_eq!(verdict, CaptchaVerdict::Passed);

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["secret"], ALWAYS_PASSES);
    assert_eq!(sent[0]["response"], DUMMY_TOKEN);
    assert_eq!(sent[0]["remoteip"], "203.0.113.9");
    assert!(uuid::Uuid::parse_str(&sent[0]["idempotency_key"]).is_ok());
}

#[tokio::test]
async fn an_invalid_token_is_failed_with_cloudflares_code() {
    let server = fake_siteverify().await;
    let verdict = verifier_for(&server, ALWAYS_FAILS)
        .verify(DUMMY_TOKEN, ip())
        .await
        .unwrap();
    assert_eq!(verdict, failed("invalid-input-response"));
}

#[tokio::test]
async fn a_spent_token_is_failed_with_timeout_or_duplicate() {
    let server = fake_siteverify().await;
    let verdict = verifier_for(&server, ALREADY_SPENT)
        .verify(DUMMY_TOKEN, ip())
        .await
        .unwrap();
    assert_eq!(verdict, failed("timeout-or-duplicate"));
}

#[tokio::test]
async fn a_wrong_secret_is_a_failed_verdict() {
    let server = fake_siteverify().await;
    let verdict = verifier_for(&server, "0x4AAAAAAAnot-our-secret")
        .verify(DUMMY_TOKEN, ip())
        .await
        .unwrap();
    assert_eq!(verdict, failed("invalid-input-secret"));
}

#[tokio::test]
async fn the_remote_ip_is_sent_only_when_known() {
    let server = fake_siteverify().await;
    let verifier = verifier_for(&server, ALWAYS_PASSES);
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    assert_eq!(
        verifier.verify(DUMMY_TOKEN, Some(v6)).await.unwrap(),
        CaptchaVerdict::Passed
    );
    assert_eq!(
        verifier.verify(DUMMY_TOKEN, None).await.unwrap(),
        CaptchaVerdict::Passed
    );

    let sent = requests(&server).await;
    assert_eq!(sent[0]["remoteip"], "2001:db8::1");
    assert!(!sent[1].contains_key("remoteip"));
    assert_eq!(sent[1]["secret"], ALWAYS_PASSES);
    // Each verification carries its own idempotency key.
    assert_ne!(sent[0]["idempotency_key"], sent[1]["idempotency_key"]);
}

#[tokio::test]
async fn blank_or_oversized_tokens_never_reach_cloudflare() {
    let server = fake_siteverify().await;
    let verifier = verifier_for(&server, ALWAYS_PASSES);
    assert_eq!(
        verifier.verify("", ip()).await.unwrap(),
        failed("missing-input-response")
    );
    assert_eq!(
        verifier.verify("   ", None).await.unwrap(),
        failed("missing-input-response")
    );
    let oversized = "a".repeat(2049);
    assert_eq!(
        verifier.verify(&oversized, ip()).await.unwrap(),
        failed("invalid-input-response")
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn internal_error_is_unavailable() {
    let server = canned(refusal(&["internal-error"])).await;
    let result = verifier_for(&server, ALWAYS_PASSES)
        .verify(DUMMY_TOKEN, ip())
        .await;
    assert!(matches!(cause(result), SiteverifyError::InternalError));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_unavailable() {
    let page =
        ResponseTemplate::new(200).set_body_raw("<html>Just a moment...</html>", "text/html");
    let server = canned(page).await;
    let result = verifier_for(&server, ALWAYS_PASSES)
        .verify(DUMMY_TOKEN, ip())
        .await;
    assert!(matches!(cause(result), SiteverifyError::NotJson(_)));
}

#[tokio::test]
async fn json_without_success_is_unavailable() {
    let server =
        canned(ResponseTemplate::new(200).set_body_json(json!({ "error-codes": [] }))).await;
    let result = verifier_for(&server, ALWAYS_PASSES)
        .verify(DUMMY_TOKEN, ip())
        .await;
    assert!(matches!(cause(result), SiteverifyError::MissingSuccess));
}

#[tokio::test]
async fn an_error_status_is_unavailable_even_with_a_verdict_body() {
    let server = canned(ResponseTemplate::new(500).set_body_json(json!({ "success": true }))).await;
    let result = verifier_for(&server, ALWAYS_PASSES)
        .verify(DUMMY_TOKEN, ip())
        .await;
    assert!(matches!(cause(result), SiteverifyError::Status(s) if s.as_u16() == 500));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let moved =
        ResponseTemplate::new(307).insert_header("location", "http://127.0.0.1:9/elsewhere");
    let server = canned(moved).await;
    let result = verifier_for(&server, ALWAYS_PASSES)
        .verify(DUMMY_TOKEN, ip())
        .await;
    assert!(matches!(cause(result), SiteverifyError::Status(s) if s.as_u16() == 307));
}

#[tokio::test]
async fn an_answer_past_the_timeout_is_unavailable() {
    let slow = ResponseTemplate::new(200)
        .set_body_json(json!({ "success": true, "error-codes": [] }))
        .set_delay(Duration::from_secs(5));
    let server = canned(slow).await;
    let started = Instant::now();
    let result = verifier_for(&server, ALWAYS_PASSES)
        .verify(DUMMY_TOKEN, ip())
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(cause(result), SiteverifyError::Timeout(_)));
}

#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let verifier = verifier_at(
        &format!("http://127.0.0.1:{port}{SITEVERIFY}"),
        ALWAYS_PASSES,
    );
    let result = verifier.verify(DUMMY_TOKEN, ip()).await;
    assert!(matches!(cause(result), SiteverifyError::Transport(_)));
}

#[test]
fn the_secret_never_shows_in_debug_output() {
    let secret = "0x4AAAAAAAsuper-secret-value";
    let verifier = TurnstileVerifier::cloudflare(Secret::new(secret)).unwrap();
    let debug = format!("{verifier:?}");
    assert!(!debug.contains(secret), "{debug}");
    assert!(debug.contains("challenges.cloudflare.com"), "{debug}");
}

/// Collects what the verifier logs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_wrong_secret_is_logged_at_error_level_without_the_secret_or_token() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        // Everything, the HTTP client's own events included; the fake server's are not ours.
        .with_env_filter("trace,wiremock=off")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so the thread-local subscriber sees every event.
    let _guard = tracing::subscriber::set_default(subscriber);

    let secret = "0x4AAAAAAAsuper-secret-value";
    let token = "a-visitor-token-0123456789";
    let server = fake_siteverify().await;
    let verdict = verifier_for(&server, secret)
        .verify(token, ip())
        .await
        .unwrap();
    assert_eq!(verdict, failed("invalid-input-secret"));
    let down = canned(ResponseTemplate::new(503)).await;
    assert!(
        verifier_for(&down, secret)
            .verify(token, ip())
            .await
            .is_err()
    );

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("ERROR"), "{logged}");
    assert!(logged.contains("invalid-input-secret"), "{logged}");
    assert!(!logged.contains(secret), "{logged}");
    assert!(!logged.contains(token), "{logged}");
}
