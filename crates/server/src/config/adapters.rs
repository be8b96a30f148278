//! Settings of the outbound adapters, in the adapters' own types where they have one.

use super::ConfigError;
use super::vars::{Vars, err, http_url};
use partneros_docuseal::DocusealSettings;
use partneros_domain::shared::secret::Secret;
use partneros_llm::LlmSettings;
use partneros_mail::{SmtpSecurity, SmtpSettings};
use partneros_storage::S3Settings;
use partneros_turnstile::TurnstileSettings;
use std::path::PathBuf;
use std::time::Duration;

/// Where uploaded files are kept (`STORAGE_BACKEND`).
#[derive(Debug, Clone)]
pub enum Storage {
    /// On this machine, under `LOCAL_STORAGE_DIR`, served at `/files/`.
    Local { dir: PathBuf },
    /// An S3-compatible store (`S3_*`).
    S3(S3Settings),
}

impl Storage {
    pub(super) fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        match vars.get("STORAGE_BACKEND").unwrap_or("local") {
            "local" => Ok(Storage::Local {
                dir: vars
                    .get("LOCAL_STORAGE_DIR")
                    .unwrap_or(".data/files")
                    .into(),
            }),
            "s3" => {
                let need = |k: &'static str| {
                    vars.get(k)
                        .map(str::to_owned)
                        .ok_or_else(|| err(k, "is required when STORAGE_BACKEND=s3"))
                };
                Ok(Storage::S3(S3Settings {
                    endpoint: vars
                        .get("S3_ENDPOINT")
                        .map(|e| http_url("S3_ENDPOINT", e))
                        .transpose()?,
                    region: vars.get("S3_REGION").unwrap_or("us-east-1").to_owned(),
                    bucket: need("S3_BUCKET")?,
                    access_key_id: need("S3_ACCESS_KEY_ID")?,
                    secret_access_key: Secret::new(need("S3_SECRET_ACCESS_KEY")?),
                    force_path_style: vars.bool("S3_FORCE_PATH_STYLE", true)?,
                    public_base_url: vars
                        .get("S3_PUBLIC_BASE_URL")
                        .map(|u| http_url("S3_PUBLIC_BASE_URL", u))
                        .transpose()?,
                    timeout: Duration::from_secs(30),
                }))
            }
            other => Err(err(
                "STORAGE_BACKEND",
                format!("must be local or s3, got {other:?}"),
            )),
        }
    }
}

/// `DOCUSEAL_URL` and `DOCUSEAL_API_KEY`, which go together.
pub(super) fn docuseal(vars: &Vars) -> Result<Option<DocusealSettings>, ConfigError> {
    match (vars.get("DOCUSEAL_URL"), vars.get("DOCUSEAL_API_KEY")) {
        (Some(u), Some(k)) => Ok(Some(DocusealSettings::new(
            http_url("DOCUSEAL_URL", u)?,
            Secret::new(k),
        ))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(err(
            "DOCUSEAL_API_KEY",
            "is required when DOCUSEAL_URL is set",
        )),
        (None, Some(_)) => Err(err(
            "DOCUSEAL_URL",
            "is required when DOCUSEAL_API_KEY is set",
        )),
    }
}

/// The captcha of the public application forms.
#[derive(Debug, Clone, Default)]
pub struct TurnstileConfig {
    /// The verifier (`TURNSTILE_SECRET_KEY`); `None` accepts forms without a captcha
    /// (development only).
    pub verifier: Option<TurnstileSettings>,
    /// The widget's public key shown on hosted forms (`TURNSTILE_SITE_KEY`).
    pub site_key: Option<String>,
}

impl TurnstileConfig {
    pub(super) fn from_vars(vars: &Vars, prod: bool) -> Result<Self, ConfigError> {
        let verifier = vars
            .get("TURNSTILE_SECRET_KEY")
            .map(|s| TurnstileSettings::new(Secret::new(s)));
        if prod && verifier.is_none() {
            return Err(err(
                "TURNSTILE_SECRET_KEY",
                "is required in production (public application forms must be protected)",
            ));
        }
        Ok(Self {
            verifier,
            site_key: vars.get("TURNSTILE_SITE_KEY").map(str::to_owned),
        })
    }
}

/// `LLM_BASE_URL` and `LLM_MODEL` (with an optional `LLM_API_KEY`), which go together.
pub(super) fn llm(vars: &Vars) -> Result<Option<LlmSettings>, ConfigError> {
    match (vars.get("LLM_BASE_URL"), vars.get("LLM_MODEL")) {
        (Some(u), Some(m)) => {
            let settings = LlmSettings::new(http_url("LLM_BASE_URL", u)?, m);
            Ok(Some(match vars.get("LLM_API_KEY") {
                Some(key) => settings.with_api_key(Secret::new(key)),
                None => settings,
            }))
        }
        (None, None) => {
            if vars.get("LLM_API_KEY").is_some() {
                return Err(err("LLM_BASE_URL", "is required when LLM_API_KEY is set"));
            }
            Ok(None)
        }
        (Some(_), None) => Err(err("LLM_MODEL", "is required when LLM_BASE_URL is set")),
        (None, Some(_)) => Err(err("LLM_BASE_URL", "is required when LLM_MODEL is set")),
    }
}

/// Outgoing mail.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The SMTP server (`SMTP_URL`, with `SMTP_CA_FILE`); `None` writes files into `dir`.
    pub smtp: Option<SmtpSettings>,
    /// Where mail goes without an SMTP server: one `.eml` file a message (`MAIL_DIR`).
    pub dir: PathBuf,
    /// The sender of the service's mail (`MAIL_FROM`).
    pub from: partneros_mail::Mailbox,
    /// The page that accepts invitations (`INVITATION_URL`); the token is appended as `?token=`.
    pub invitation_url: String,
    /// The page that verifies a new account's address (`VERIFY_EMAIL_URL`); `?token=` appended.
    pub verify_email_url: String,
    /// The page that sets a new password (`RESET_PASSWORD_URL`); `?token=` appended.
    pub reset_password_url: String,
    /// The product's web app (`PUBLIC_APP_URL`): the base of the three pages above unless they
    /// are set, and of the links in new-submission notices (plain text without it).
    pub app_url: Option<String>,
}

impl MailConfig {
    /// Where the links in mail point.
    pub fn links(&self) -> partneros_domain::organizations::mail::MailLinks {
        partneros_domain::organizations::mail::MailLinks {
            accept_invitation: self.invitation_url.clone(),
            verify_email: self.verify_email_url.clone(),
            reset_password: self.reset_password_url.clone(),
            app: self.app_url.clone(),
        }
    }
}

impl MailConfig {
    pub(super) fn from_vars(
        vars: &Vars,
        public_base_url: &str,
        prod: bool,
    ) -> Result<Self, ConfigError> {
        let smtp = smtp(vars)?;
        if prod && smtp.is_some() && vars.get("MAIL_FROM").is_none() {
            // The development default's domain does not exist: a relay would refuse it.
            return Err(err(
                "MAIL_FROM",
                "is required in production when SMTP_URL is set (e.g. `Acme Partners <partners@acme.example>`)",
            ));
        }
        let from = vars
            .get("MAIL_FROM")
            .unwrap_or("PartnerOS <no-reply@partneros.local>")
            .parse()
            .map_err(|_| {
                err(
                    "MAIL_FROM",
                    "must be an address such as `PartnerOS <no-reply@example.com>`",
                )
            })?;
        let app_url = vars
            .get("PUBLIC_APP_URL")
            .map(|u| http_url("PUBLIC_APP_URL", u))
            .transpose()?;
        // The service hosts the three pages itself; a web app of its own replaces them.
        let base = app_url.as_deref().unwrap_or(public_base_url);
        let page = |variable: &'static str, path: &str| match vars.get(variable) {
            Some(u) => http_url(variable, u),
            None => Ok(format!("{base}/{path}")),
        };
        Ok(Self {
            smtp,
            dir: vars.get("MAIL_DIR").unwrap_or(".data/mail").into(),
            from,
            invitation_url: page("INVITATION_URL", "accept-invitation")?,
            verify_email_url: page("VERIFY_EMAIL_URL", "verify-email")?,
            reset_password_url: page("RESET_PASSWORD_URL", "reset-password")?,
            app_url,
        })
    }
}

/// `SMTP_URL` in lettre's URL form, and `SMTP_CA_FILE`, which needs it and TLS. The file itself
/// is read when the mailer is built at start.
fn smtp(vars: &Vars) -> Result<Option<SmtpSettings>, ConfigError> {
    let ca_file = vars.get("SMTP_CA_FILE");
    let Some(url) = vars.get("SMTP_URL") else {
        return match ca_file {
            Some(_) => Err(err("SMTP_CA_FILE", "is set but SMTP_URL is not")),
            None => Ok(None),
        };
    };
    // The adapter's messages never repeat the URL, so the password stays out of the error.
    let settings = SmtpSettings::from_url(url).map_err(|e| {
        err(
            "SMTP_URL",
            format!(
                "{e} (expected e.g. smtp://user:pass@host:587?tls=required, \
                 smtps://user:pass@host:465 or smtp://localhost:1025)"
            ),
        )
    })?;
    Ok(Some(match ca_file {
        Some(_) if settings.security == SmtpSecurity::None => {
            return Err(err(
                "SMTP_CA_FILE",
                "is only used with TLS: SMTP_URL must be smtps:// or carry ?tls=required",
            ));
        }
        Some(path) => settings.with_ca_file(path),
        None => settings,
    }))
}
