#![doc = include_str!("../README.md")]

mod smtp;
mod smtp_settings;

pub use smtp::SmtpMailer;
pub use smtp_settings::{SmtpSecurity, SmtpSettings, SmtpSetupError};

use async_trait::async_trait;
use lettre::message::MultiPart;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use partneros_domain::organizations::mail::{MailError, Mailer, OutgoingMail};
use std::path::PathBuf;

pub use lettre::message::Mailbox;

/// Builds the RFC 5322 message: a `multipart/alternative` with the text and the HTML body.
pub fn message(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    let to: Mailbox = mail.to.parse().map_err(|e| MailError(Box::new(e)))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| MailError(Box::new(e)))
}

/// Writes each message as an `.eml` file into a directory (development: no mail server needed).
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
    transport: AsyncFileTransport<Tokio1Executor>,
}

impl FileMailer {
    /// The directory is created with the first message.
    pub fn new(dir: impl Into<PathBuf>, from: Mailbox) -> Self {
        let dir = dir.into();
        Self {
            transport: AsyncFileTransport::new(&dir),
            dir,
            from,
        }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let message = message(&self.from, &mail)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| MailError(Box::new(e)))?;
        let id = self
            .transport
            .send(message)
            .await
            .map_err(|e| MailError(Box::new(e)))?;
        let file = self.dir.join(format!("{id}.eml"));
        tracing::info!(to = %mail.to, subject = %mail.subject, file = %file.display(), "mail written");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_becomes_one_eml_file_with_both_parts() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(
            dir.path().join("mail"),
            "PartnerOS <no-reply@partneros.local>".parse().unwrap(),
        );
        assert!(
            !dir.path().join("mail").exists(),
            "created with the first message"
        );
        mailer
            .send(OutgoingMail {
                to: "ann@example.com".into(),
                subject: "You are invited to join Acme".into(),
                text: "Accept: https://app.example/accept?token=pi_abc".into(),
                html: "<p><a href=\"https://app.example/accept?token=pi_abc\">Accept</a></p>"
                    .into(),
            })
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().unwrap(), "eml");
        let eml = std::fs::read_to_string(&files[0]).unwrap();
        for part in [
            "To: ann@example.com",
            "From: PartnerOS <no-reply@partneros.local>",
            "Subject: You are invited to join Acme",
            "multipart/alternative",
            "text/plain",
            "text/html",
        ] {
            assert!(eml.contains(part), "{part} in {eml}");
        }
        assert!(eml.contains("token=pi_abc"));
    }

    #[tokio::test]
    async fn an_invalid_recipient_is_an_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(dir.path(), "no-reply@partneros.local".parse().unwrap());
        let err = mailer
            .send(OutgoingMail {
                to: "not an address".into(),
                subject: "x".into(),
                text: "x".into(),
                html: "x".into(),
            })
            .await;
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
