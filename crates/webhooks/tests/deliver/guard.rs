//! The SSRF guard at delivery time: refused URLs and addresses are never connected to.

use crate::support::{LOCALHOST, RawServer, SECRET_A, config_for, message, url};
use partneros_domain::webhooks::sender::{AttemptFailure, WebhookSender};
use partneros_web_fetch::{GuardPolicy, StaticResolver};
use partneros_webhooks::{HttpWebhookSender, WebhookSenderConfig};
use std::sync::Arc;
use std::time::Duration;

fn assert_blocked(failure: Option<&AttemptFailure>, contains: &str) {
    match failure {
        Some(AttemptFailure::Blocked(why)) => assert!(why.contains(contains), "{why}"),
        other => panic!("expected blocked ({contains}), got {other:?}"),
    }
}

/// The production guard (nothing allow-listed), except that http is allowed and the http port is
/// the listener's, so that only the address rules stand between the sender and the listener.
fn production_guard_on_port(port: u16, resolver: StaticResolver) -> HttpWebhookSender {
    HttpWebhookSender::new(&WebhookSenderConfig {
        resolver: Arc::new(resolver),
        policy: GuardPolicy::default(),
        allow_http: true,
        http_port: port,
        total_timeout: Duration::from_secs(5),
        ..WebhookSenderConfig::default()
    })
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_blocked_without_connecting() {
    let server = RawServer::silent().await;
    let port = server.addr.port();
    let resolver = StaticResolver::new()
        .with("internal.partner.test", [LOCALHOST])
        .with(
            "rebind.partner.test",
            ["::1".parse().expect("ip"), LOCALHOST],
        );
    let sender = production_guard_on_port(port, resolver);

    for target in [
        "http://internal.partner.test/hooks".to_owned(),
        format!("http://internal.partner.test:{port}/hooks"),
        "http://rebind.partner.test/hooks".to_owned(),
        format!("http://127.0.0.1:{port}/hooks"),
        format!("http://2130706433:{port}/hooks"),
        format!("http://[::ffff:127.0.0.1]:{port}/hooks"),
    ] {
        let outcome = sender.deliver(&message(target.clone(), &[SECRET_A])).await;
        assert_blocked(outcome.failure.as_ref(), "is not public");
        assert_eq!(outcome.status, None, "{target}");
    }
    assert_eq!(server.connections(), 0, "the listener was connected to");
}

#[tokio::test]
async fn urls_the_guard_refuses_outright_are_blocked() {
    let server = RawServer::silent().await;
    let sender = HttpWebhookSender::new(&config_for(&[server.addr]));
    let port = server.addr.port();

    for (target, why) in [
        (format!("ftp://hooks.partner.test:{port}/in"), "scheme"),
        (
            format!("http://user:pw@hooks.partner.test:{port}/in"),
            "credentials",
        ),
        ("http://hooks.partner.test:6379/in".to_owned(), "port 6379"),
        ("not a url".to_owned(), "invalid URL"),
    ] {
        let outcome = sender.deliver(&message(target, &[SECRET_A])).await;
        assert_blocked(outcome.failure.as_ref(), why);
    }
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let server = RawServer::silent().await;
    let sender = HttpWebhookSender::new(&WebhookSenderConfig {
        allow_http: false,
        ..config_for(&[server.addr])
    });

    let outcome = sender
        .deliver(&message(url(server.addr, "/in"), &[SECRET_A]))
        .await;

    assert_blocked(outcome.failure.as_ref(), "https only");
    assert_eq!(server.connections(), 0);
}
