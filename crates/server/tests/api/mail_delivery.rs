//! Mail over real SMTP: the app's relay sends through `SmtpMailer` to the in-process test SMTP
//! server (STARTTLS with its own CA, authentication). An SMTP outage delays mail and loses none.

use crate::helpers::*;
use partneros_mail::{SmtpMailer, SmtpSettings};
use partneros_test_support::{SmtpFault, SmtpServer, SmtpTls};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

async fn app_mailing_to(server: &SmtpServer, dir: &tempfile::TempDir) -> TestApp {
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).unwrap();
    let settings = SmtpSettings::from_url(&server.url_with_credentials("relay", "s3cret"))
        .unwrap()
        .with_ca_file(ca);
    let mailer = Arc::new(
        SmtpMailer::new(
            &settings,
            "PartnerOS <no-reply@partneros.test>".parse().unwrap(),
        )
        .unwrap(),
    );
    spawn_app_with(Options {
        externals: Box::new(move |e| e.mailer = mailer),
        ..Options::default()
    })
    .await
}

/// The messages the SMTP server accepted for `to`, parsed.
fn mail_to(server: &SmtpServer, to: &str) -> Vec<partneros_test_support::ParsedMail> {
    server
        .messages()
        .into_iter()
        .filter(|m| m.recipients.iter().any(|r| r == to))
        .map(|m| m.parse())
        .collect()
}

async fn wait_for_mail(server: &SmtpServer, to: &str) -> partneros_test_support::ParsedMail {
    for _ in 0..400 {
        if let Some(m) = mail_to(server, to).pop() {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no mail to {to}");
}

async fn invite(app: &TestApp, owner: &Owner, email: &str) {
    let res = app
        .post(
            "/api/organizations/members",
            Some(&owner.token),
            json!({"email": email, "role": "member"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
}

#[tokio::test]
async fn an_invitation_goes_out_over_smtp_and_its_link_works_once() {
    let server = SmtpServer::builder()
        .tls(SmtpTls::StartTls)
        .credentials("relay", "s3cret")
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_mailing_to(&server, &dir).await;
    let owner = app.owner("smtp").await;
    invite(&app, &owner, "ann@smtp.example").await;

    let mail = wait_for_mail(&server, "ann@smtp.example").await;
    let received = server.messages();
    let sent = received
        .iter()
        .find(|m| m.recipients == ["ann@smtp.example"])
        .unwrap();
    assert!(sent.tls, "STARTTLS was used");
    assert_eq!(sent.user.as_deref(), Some("relay"));
    assert_eq!(mail.content_type, "multipart/alternative");
    assert_eq!(
        mail.subject.as_deref(),
        Some("You are invited to join Org smtp")
    );
    let text = mail.text.clone().unwrap();
    let html = mail.html.clone().unwrap();
    assert!(
        text.contains(&format!("{}/accept-invitation?token=", app.address)),
        "{text}"
    );
    let token = token_in(&text);
    assert!(html.contains(&token), "both parts carry the link");

    let accept = json!({"token": token, "name": "Ann", "password": PASSWORD});
    let res = app
        .post("/api/auth/invitations/accept", None, accept.clone())
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.post("/api/auth/invitations/accept", None, accept).await;
    assert!(
        res.status.is_client_error(),
        "the link works once: {:?}",
        res.body
    );
}

#[tokio::test]
async fn an_smtp_outage_delays_mail_and_loses_none() {
    let server = SmtpServer::builder()
        .tls(SmtpTls::StartTls)
        .credentials("relay", "s3cret")
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_mailing_to(&server, &dir).await;
    let owner = app.owner("outage").await;
    server.fail(SmtpFault::MailFrom(451));
    invite(&app, &owner, "bob@smtp.example").await;
    // The relay tries, fails and keeps the event.
    for _ in 0..40 {
        if server.connections() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(server.connections() >= 2, "the relay retried");
    assert!(mail_to(&server, "bob@smtp.example").is_empty());
    let pending: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM events WHERE kind = 'invitation_created' AND published_at IS NULL AND attempts > 0", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 1, "the invitation's event waits to be retried");

    server.recover();
    let mail = wait_for_mail(&server, "bob@smtp.example").await;
    assert_eq!(mail_to(&server, "bob@smtp.example").len(), 1);
    let token = token_in(&mail.text.unwrap());
    let res = app
        .post(
            "/api/auth/invitations/accept",
            None,
            json!({"token": token, "name": "Bob", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        res.status, 200,
        "the delayed mail's link works: {:?}",
        res.body
    );
}
