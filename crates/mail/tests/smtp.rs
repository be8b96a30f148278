//! Real SMTP exchanges through `SmtpMailer` against the in-process test server: plain text,
//! STARTTLS and implicit TLS with a certificate made for the test, authentication, and the
//! server's failures. Every test has its own server on its own port.

use partneros_domain::organizations::mail::{MailError, Mailer, OutgoingMail};
use partneros_mail::{SmtpMailer, SmtpSettings, SmtpSetupError};
use partneros_test_support::{SmtpFault, SmtpServer, SmtpTls};
use std::time::{Duration, Instant};

const FROM: &str = "PartnerOS <no-reply@partneros.test>";

fn invitation(to: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.into(),
        subject: "Einladung: join Acme – now".into(),
        text: "Accept: https://app.example/accept?token=pi_abc\n.hidden line\n".into(),
        html: "<p><a href=\"https://app.example/accept?token=pi_abc\">Accept</a></p>".into(),
    }
}

/// A mailer for `url` that trusts the server's CA (kept in `dir`).
fn mailer(server: &SmtpServer, url: &str, dir: &tempfile::TempDir) -> SmtpMailer {
    let mut settings = SmtpSettings::from_url(url).unwrap();
    if !server.ca_pem().is_empty() {
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, server.ca_pem()).unwrap();
        settings = settings.with_ca_file(ca);
    }
    SmtpMailer::new(&settings, FROM.parse().unwrap()).unwrap()
}

/// The cause chain of a failed send, as one line.
fn chain(err: &MailError) -> String {
    let mut out = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        out.push_str(&format!(": {e}"));
        source = e.source();
    }
    out
}

#[tokio::test]
async fn a_plain_exchange_delivers_one_multipart_alternative_message() {
    let server = SmtpServer::builder().start().await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer(&server, &server.url(), &dir);

    mailer.send(invitation("ann@example.com")).await.unwrap();

    let received = server.messages();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.from, "no-reply@partneros.test");
    assert_eq!(mail.recipients, ["ann@example.com"]);
    assert!(!mail.tls && mail.user.is_none());
    let parsed = mail.parse();
    assert_eq!(parsed.content_type, "multipart/alternative");
    assert_eq!(
        parsed.subject.as_deref(),
        Some("Einladung: join Acme – now")
    );
    assert_eq!(parsed.to, ["ann@example.com"]);
    assert_eq!(parsed.from, ["no-reply@partneros.test"]);
    let text = parsed.text.unwrap();
    assert!(text.contains("token=pi_abc"), "{text}");
    // lettre dot-stuffs the line, the server unstuffs it.
    assert!(text.contains("\n.hidden line"), "{text}");
    assert!(parsed.html.unwrap().contains("<a href="));
}

#[tokio::test]
async fn starttls_required_with_auth_plain() {
    let server = SmtpServer::builder()
        .tls(SmtpTls::StartTls)
        .credentials("relay", "s3cret")
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url_with_credentials("relay", "s3cret");
    assert!(url.ends_with("?tls=required"), "{url}");
    let mailer = mailer(&server, &url, &dir);

    mailer.send(invitation("ann@example.com")).await.unwrap();

    let received = server.messages();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls, "the message went over TLS");
    assert_eq!(received[0].user.as_deref(), Some("relay"));
    assert_eq!(received[0].parse().content_type, "multipart/alternative");
}

#[tokio::test]
async fn implicit_tls_with_auth_login() {
    let server = SmtpServer::builder()
        .tls(SmtpTls::Implicit)
        .credentials("relay", "s3cret")
        .mechanisms(&["LOGIN"])
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url_with_credentials("relay", "s3cret");
    assert!(url.starts_with("smtps://"), "{url}");
    let mailer = mailer(&server, &url, &dir);

    mailer.send(invitation("bob@example.com")).await.unwrap();

    let received = server.messages();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls);
    assert_eq!(received[0].user.as_deref(), Some("relay"));
    assert_eq!(received[0].recipients, ["bob@example.com"]);
}

#[tokio::test]
async fn wrong_credentials_are_a_mail_error_and_nothing_is_sent() {
    let server = SmtpServer::builder()
        .tls(SmtpTls::StartTls)
        .credentials("relay", "s3cret")
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer(
        &server,
        &server.url_with_credentials("relay", "wrong"),
        &dir,
    );

    let err = mailer
        .send(invitation("ann@example.com"))
        .await
        .unwrap_err();

    assert!(chain(&err).contains("535"), "{}", chain(&err));
    assert!(!chain(&err).contains("wrong"), "{}", chain(&err));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let server = SmtpServer::builder().tls(SmtpTls::StartTls).start().await;
    // No CA file: the test server's certificate is not signed by a public root.
    let settings = SmtpSettings::from_url(&server.url()).unwrap();
    let mailer = SmtpMailer::new(&settings, FROM.parse().unwrap()).unwrap();

    let err = mailer
        .send(invitation("ann@example.com"))
        .await
        .unwrap_err();

    assert!(chain(&err).contains("UnknownIssuer"), "{}", chain(&err));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_451_is_a_mail_error_and_the_next_send_after_recovery_succeeds() {
    let server = SmtpServer::builder().start().await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer(&server, &server.url(), &dir);

    for fault in [SmtpFault::MailFrom(451), SmtpFault::Data(451)] {
        server.fail(fault);
        let err = mailer
            .send(invitation("ann@example.com"))
            .await
            .unwrap_err();
        assert!(chain(&err).contains("451"), "{fault:?}: {}", chain(&err));
        assert!(server.messages().is_empty(), "{fault:?}");
        server.recover();
    }
    mailer.send(invitation("ann@example.com")).await.unwrap();
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_a_mail_error_until_the_server_recovers() {
    let server = SmtpServer::builder().start().await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer(&server, &server.url(), &dir);

    server.fail(SmtpFault::Refuse);
    assert!(mailer.send(invitation("ann@example.com")).await.is_err());
    server.recover();
    mailer.send(invitation("ann@example.com")).await.unwrap();
    assert_eq!(server.messages().len(), 1);
    assert_eq!(server.connections(), 2, "no retry inside the mailer");
}

#[tokio::test]
async fn a_silent_server_is_given_up_on_after_the_send_timeout() {
    let server = SmtpServer::builder().start().await;
    server.fail(SmtpFault::Silent);
    let mut settings = SmtpSettings::from_url(&server.url()).unwrap();
    settings.send_timeout = Duration::from_millis(300);
    let mailer = SmtpMailer::new(&settings, FROM.parse().unwrap()).unwrap();

    let started = Instant::now();
    let err = mailer
        .send(invitation("ann@example.com"))
        .await
        .unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(chain(&err).contains("did not finish"), "{}", chain(&err));
}

#[tokio::test]
async fn nobody_listening_is_a_mail_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let settings = SmtpSettings::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
    let mailer = SmtpMailer::new(&settings, FROM.parse().unwrap()).unwrap();
    assert!(mailer.send(invitation("ann@example.com")).await.is_err());
}

#[tokio::test]
async fn an_invalid_recipient_is_refused_before_connecting() {
    let server = SmtpServer::builder().start().await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer(&server, &server.url(), &dir);
    assert!(mailer.send(invitation("not an address")).await.is_err());
    assert_eq!(server.connections(), 0);
}

#[test]
fn a_missing_or_empty_ca_file_is_a_setup_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate").unwrap();
    for path in [dir.path().join("missing.pem"), empty] {
        let settings = SmtpSettings::from_url("smtp://127.0.0.1:2525?tls=required")
            .unwrap()
            .with_ca_file(&path);
        let err = SmtpMailer::new(&settings, FROM.parse().unwrap())
            .err()
            .unwrap();
        assert!(matches!(err, SmtpSetupError::CaFile { .. }), "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    }
}
