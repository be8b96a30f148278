//! The message arrives as sent, with Standard Webhooks headers that the reference library verifies.

use crate::support::{SECRET_A, SECRET_B, message, sender_for, url};
use partneros_domain::webhooks::sender::WebhookSender;
use standardwebhooks::Webhook;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/in"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

fn verifies(secret: &str, received: &wiremock::Request) -> bool {
    Webhook::new(secret)
        .expect("the secret")
        .verify(&received.body, &received.headers)
        .is_ok()
}

#[tokio::test]
async fn one_secret_signs_a_message_that_arrives_unchanged() {
    let server = receiver().await;
    let sender = sender_for(&[*server.address()]);
    let request = message(url(*server.address(), "/hooks/in?tenant=42"), &[SECRET_A]);

    let outcome = sender.deliver(&request).await;

    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(outcome.status, Some(204));
    let received = server.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.method.as_str(), "POST");
    assert_eq!(got.url.path(), "/hooks/in");
    assert_eq!(got.url.query(), Some("tenant=42"));
    assert_eq!(got.body, request.body.as_bytes());
    let header = |name: &str| {
        got.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("webhook-id"), request.message_id);
    assert_eq!(
        header("webhook-timestamp"),
        request.timestamp.timestamp().to_string()
    );
    assert!(
        header("user-agent").starts_with("PartnerOS-Webhooks/"),
        "{}",
        header("user-agent")
    );
    assert_eq!(header("webhook-signature").split(' ').count(), 1);
    assert!(header("webhook-signature").starts_with("v1,"));
    assert_eq!(
        header("host"),
        format!("hooks.partner.test:{}", server.address().port())
    );

    assert!(verifies(SECRET_A, got), "the reference library rejects it");
    // The verifier does reject what it should: another secret, another body.
    assert!(!verifies(SECRET_B, got));
    let mut tampered = got.clone();
    tampered.body.push(b' ');
    assert!(!verifies(SECRET_A, &tampered));
}

#[tokio::test]
async fn two_secrets_give_two_signatures_each_verifying() {
    let server = receiver().await;
    let sender = sender_for(&[*server.address()]);
    let request = message(url(*server.address(), "/hooks/in"), &[SECRET_A, SECRET_B]);

    let outcome = sender.deliver(&request).await;

    assert!(outcome.succeeded(), "{outcome:?}");
    let received = server.received_requests().await.expect("recorded");
    let got = &received[0];
    let signatures = got
        .headers
        .get("webhook-signature")
        .and_then(|v| v.to_str().ok())
        .expect("a signature header");
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    assert!(verifies(SECRET_A, got));
    assert!(verifies(SECRET_B, got));
    assert!(!verifies("whsec_dGhpcyBpcyBub3QgYSBrZXkgb2YgdGhlbQ==", got));
}
