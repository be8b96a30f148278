//! The SMTP adapter: one connection per message, bounded in time, never retried here (the
//! caller, the outbox relay, retries later).

use crate::smtp_settings::{SmtpSecurity, SmtpSettings, SmtpSetupError};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use partneros_domain::organizations::mail::{MailError, Mailer, OutgoingMail};

/// Hands each message to an SMTP server (a relay such as Postmark, SES, or a local Mailpit).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
    send_timeout: std::time::Duration,
}

/// The whole exchange took longer than [`SmtpSettings::send_timeout`].
#[derive(Debug, thiserror::Error)]
#[error("the SMTP server did not finish within {0:?}")]
struct SendTimedOut(std::time::Duration);

impl SmtpMailer {
    /// Checks the settings and reads the CA file; connects to nothing (the first message
    /// does).
    pub fn new(settings: &SmtpSettings, from: Mailbox) -> Result<Self, SmtpSetupError> {
        settings.validate()?;
        let tls = match settings.security {
            SmtpSecurity::None => Tls::None,
            security => {
                let params = tls_parameters(settings)?;
                match security {
                    SmtpSecurity::ImplicitTls => Tls::Wrapper(params),
                    SmtpSecurity::StartTls => Tls::Required(params),
                    _ => Tls::Opportunistic(params),
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.connect_timeout));
        if let Some((user, password)) = &settings.credentials {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        if let Some(name) = &settings.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            server: settings.server(),
            send_timeout: settings.send_timeout,
        })
    }
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, SmtpSetupError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let ca_error = |reason: String| SmtpSetupError::CaFile {
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(ca_error("no PEM certificate in the file".into()));
        }
        let certificate = Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|_| SmtpSetupError::InvalidSettings("the TLS client cannot be built"))
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let message = crate::message(&self.from, &mail)?;
        let response = tokio::time::timeout(self.send_timeout, self.transport.send(message))
            .await
            .map_err(|_| MailError(Box::new(SendTimedOut(self.send_timeout))))?
            .map_err(|e| MailError(Box::new(e)))?;
        // Never the body: it carries single-use tokens.
        tracing::info!(
            to = %mail.to,
            subject = %mail.subject,
            server = %self.server,
            code = %response.code(),
            "mail sent"
        );
        Ok(())
    }
}
