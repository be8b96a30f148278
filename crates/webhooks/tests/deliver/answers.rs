//! What the outcome says about the answer: statuses, body prefixes, timeouts, caps, redirects.

use crate::support::{HOST, LOCALHOST, RawServer, SECRET_A, config_for, message, sender_for, url};
use partneros_domain::webhooks::sender::{AttemptFailure, RESPONSE_PREFIX_BYTES, WebhookSender};
use partneros_web_fetch::StaticResolver;
use partneros_webhooks::{HttpWebhookSender, WebhookSenderConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_server_error_is_a_status_failure_with_the_body_prefix() {
    let server = answering(
        ResponseTemplate::new(500).set_body_string(r#"{"error":"database unavailable"}"#),
    )
    .await;
    let sender = sender_for(&[*server.address()]);

    let outcome = sender
        .deliver(&message(url(*server.address(), "/in"), &[SECRET_A]))
        .await;

    assert_eq!(outcome.failure, Some(AttemptFailure::Status(500)));
    assert_eq!(outcome.status, Some(500));
    assert_eq!(
        outcome.response_prefix,
        r#"{"error":"database unavailable"}"#
    );
    assert!(!outcome.succeeded());
}

#[tokio::test]
async fn any_2xx_succeeds_and_keeps_only_the_first_bytes() {
    let body = "ü".repeat(3000); // 6 000 bytes, two per character
    let server = answering(ResponseTemplate::new(202).set_body_string(body.clone())).await;
    let sender = sender_for(&[*server.address()]);

    let outcome = sender
        .deliver(&message(url(*server.address(), "/in"), &[SECRET_A]))
        .await;

    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(outcome.status, Some(202));
    assert_eq!(outcome.response_prefix.len(), RESPONSE_PREFIX_BYTES);
    assert!(body.starts_with(&outcome.response_prefix));
}

#[tokio::test]
async fn a_slow_receiver_times_out_within_the_total_timeout() {
    let server = answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(30))).await;
    let sender = HttpWebhookSender::new(&WebhookSenderConfig {
        total_timeout: Duration::from_millis(500),
        ..config_for(&[*server.address()])
    });

    let started = Instant::now();
    let outcome = sender
        .deliver(&message(url(*server.address(), "/in"), &[SECRET_A]))
        .await;

    assert_eq!(outcome.failure, Some(AttemptFailure::Timeout));
    assert_eq!(outcome.status, None);
    assert!(outcome.latency >= Duration::from_millis(500), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{outcome:?}");
}

#[tokio::test]
async fn an_answer_that_never_finishes_times_out_with_its_status() {
    let server = RawServer::answering(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\nthe start"
            .to_vec(),
    )
    .await;
    let sender = HttpWebhookSender::new(&WebhookSenderConfig {
        total_timeout: Duration::from_millis(500),
        ..config_for(&[server.addr])
    });

    let started = Instant::now();
    let outcome = sender
        .deliver(&message(url(server.addr, "/in"), &[SECRET_A]))
        .await;

    assert_eq!(outcome.failure, Some(AttemptFailure::Timeout));
    assert_eq!(outcome.status, Some(200));
    assert_eq!(outcome.response_prefix, "the start");
    assert!(started.elapsed() < Duration::from_secs(3), "{outcome:?}");
}

#[tokio::test]
async fn a_huge_answer_is_read_up_to_the_cap_only() {
    // Announces 1 GiB, sends 1 MiB, and never closes: the sender must stop at its cap and not wait.
    let mut answer =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1073741824\r\n\r\n"
            .to_vec();
    answer.extend(std::iter::repeat_n(b'x', 1024 * 1024));
    let server = RawServer::answering(answer).await;
    let sender = HttpWebhookSender::new(&WebhookSenderConfig {
        total_timeout: Duration::from_secs(10),
        max_response_bytes: 64 * 1024,
        ..config_for(&[server.addr])
    });

    let outcome = sender
        .deliver(&message(url(server.addr, "/in"), &[SECRET_A]))
        .await;

    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(outcome.status, Some(200));
    assert_eq!(outcome.response_prefix, "x".repeat(RESPONSE_PREFIX_BYTES));
    assert!(outcome.latency < Duration::from_secs(5), "{outcome:?}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    for code in [301, 302, 303, 307, 308] {
        let target = answering(ResponseTemplate::new(200)).await;
        let redirecting = answering(
            ResponseTemplate::new(code).insert_header("location", url(*target.address(), "/in")),
        )
        .await;
        // Both allow-listed: only the redirect policy stands between the sender and the target.
        let sender = sender_for(&[*redirecting.address(), *target.address()]);

        let outcome = sender
            .deliver(&message(url(*redirecting.address(), "/in"), &[SECRET_A]))
            .await;

        assert_eq!(outcome.failure, Some(AttemptFailure::Status(code)));
        assert_eq!(outcome.status, Some(code));
        let at_target = target.received_requests().await.expect("recorded");
        assert!(at_target.is_empty(), "{code}: the target got {at_target:?}");
    }
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = TcpListener::bind(SocketAddr::new(LOCALHOST, 0))
        .await
        .expect("a loopback port");
    let closed = listener.local_addr().expect("bound");
    drop(listener);
    let sender = sender_for(&[closed]);

    let outcome = sender
        .deliver(&message(url(closed, "/in"), &[SECRET_A]))
        .await;

    assert!(
        matches!(outcome.failure, Some(AttemptFailure::Unreachable(_))),
        "{outcome:?}"
    );
    assert_eq!(outcome.status, None);
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_unreachable() {
    let server = RawServer::silent().await;
    let sender = HttpWebhookSender::new(&WebhookSenderConfig {
        resolver: Arc::new(StaticResolver::new()),
        ..config_for(&[server.addr])
    });

    let outcome = sender
        .deliver(&message(url(server.addr, "/in"), &[SECRET_A]))
        .await;

    match &outcome.failure {
        Some(AttemptFailure::Unreachable(why)) => assert!(why.contains(HOST), "{why}"),
        other => panic!("expected unreachable, got {other:?}"),
    }
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn a_connection_that_is_never_accepted_times_out_at_the_connect_timeout() {
    // A listener that never accepts, its backlog filled: the kernel drops further SYNs, so a new
    // connection hangs (without any packet leaving the loopback interface).
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::new(LOCALHOST, 0))
        .expect("a loopback port");
    let listener = socket.listen(1).expect("listening");
    let addr = listener.local_addr().expect("bound");
    let mut held = Vec::new();
    loop {
        match tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => held.push(stream),
            Ok(Err(e)) => panic!("filling the backlog: {e}"),
            Err(_) => break, // this one hangs: the backlog is full
        }
        assert!(held.len() < 64, "the backlog never filled");
    }
    let sender = HttpWebhookSender::new(&WebhookSenderConfig {
        connect_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_secs(10),
        ..config_for(&[addr])
    });

    let outcome = sender
        .deliver(&message(url(addr, "/in"), &[SECRET_A]))
        .await;

    assert_eq!(
        outcome.failure,
        Some(AttemptFailure::Timeout),
        "{outcome:?}"
    );
    assert!(outcome.latency < Duration::from_secs(5), "{outcome:?}");
    drop(listener);
}
