//! What the SMTP adapter is configured with (`SMTP_URL`), and how that is checked before any
//! message is sent.

use partneros_domain::shared::secret::Secret;
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    ImplicitTls,
    /// `smtp://…?tls=required`: STARTTLS, and no mail if the server does not offer it (port 587
    /// by default).
    StartTls,
    /// `smtp://…?tls=opportunistic`: STARTTLS when the server offers it, else in the clear
    /// (port 587 by default).
    Opportunistic,
    /// `smtp://host:port`: no TLS at all (port 25 by default); for a local catcher such as
    /// Mailpit.
    None,
}

/// How to reach the SMTP server that relays the service's mail.
///
/// `Debug` is safe to log: the password is a [`Secret`].
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// The user name and password of `AUTH` (PLAIN or LOGIN, whichever the server offers).
    pub credentials: Option<(String, Secret)>,
    /// The name given in `EHLO` (the URL's path, as in lettre's URL form); the machine's host
    /// name when unset.
    pub hello_name: Option<String>,
    /// A PEM file of extra root certificates to trust besides the public ones (a self-hosted
    /// server's own CA, a test server's certificate).
    pub ca_file: Option<PathBuf>,
    /// Bounds establishing the TCP connection.
    pub connect_timeout: Duration,
    /// Bounds one whole message: connecting, TLS, authentication and the server's answer to the
    /// data. A message that takes longer is abandoned and reported as not sent.
    pub send_timeout: Duration,
}

/// Why the SMTP settings cannot be used. Never carries the password.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("invalid SMTP URL: {0}")]
    InvalidUrl(String),
    #[error("cannot use the CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("invalid SMTP settings: {0}")]
    InvalidSettings(&'static str),
}

impl SmtpSettings {
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);

    /// Reads lettre's URL form:
    ///
    /// - `smtp://user:pass@host:587?tls=required`: STARTTLS, required;
    /// - `smtps://user:pass@host:465`: implicit TLS;
    /// - `smtp://host:1025`: no TLS (a local catcher such as Mailpit);
    /// - `smtp://host?tls=opportunistic`: STARTTLS when offered.
    ///
    /// The user name and password are percent-decoded. Credentials are refused on a connection
    /// that may stay in the clear unless the server is on this machine, and an unknown `tls`
    /// value or query parameter is an error rather than a silent downgrade.
    pub fn from_url(raw: &str) -> Result<Self, SmtpSetupError> {
        let invalid = |reason: &str| SmtpSetupError::InvalidUrl(reason.to_owned());
        // url::ParseError never echoes its input, so the password cannot leak from here.
        let url = url::Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" if tls.is_none() => tls = Some(value.into_owned()),
                "tls" => return Err(invalid("`tls` is given twice")),
                other => {
                    return Err(SmtpSetupError::InvalidUrl(format!(
                        "unknown parameter {other:?} (only `tls` is read)"
                    )));
                }
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None | Some("required")) => SmtpSecurity::ImplicitTls,
            ("smtp", Some("required")) => SmtpSecurity::StartTls,
            ("smtp", Some("opportunistic")) => SmtpSecurity::Opportunistic,
            ("smtp", None) => SmtpSecurity::None,
            ("smtps", Some(_)) => {
                return Err(invalid(
                    "smtps:// is TLS from the first byte: drop the tls parameter",
                ));
            }
            ("smtp", Some(other)) => {
                return Err(SmtpSetupError::InvalidUrl(format!(
                    "tls must be required or opportunistic, got {other:?}"
                )));
            }
            _ => return Err(invalid("the scheme must be smtp or smtps")),
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(invalid("the URL has no host")),
        };
        if host.is_empty() {
            return Err(invalid("the URL has no host"));
        }
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::StartTls | SmtpSecurity::Opportunistic => 587,
            SmtpSecurity::None => 25,
        });
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(Cow::into_owned)
                .map_err(|_| invalid("the user name or password is not valid UTF-8 once decoded"))
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (_, None) => return Err(invalid("a user name needs a password (user:pass@host)")),
            (user, Some(password)) => Some((decode(user)?, Secret::new(decode(password)?))),
        };
        let hello_name = Some(url.path().trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        if url.fragment().is_some() {
            return Err(invalid("the URL must not have a fragment"));
        }
        let settings = Self {
            host,
            port,
            security,
            credentials,
            hello_name,
            ca_file: None,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            send_timeout: Self::DEFAULT_SEND_TIMEOUT,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// The same settings, also trusting the certificates of a PEM file.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// `host:port`, for log lines.
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether the connection may carry the messages (and a password) in the clear.
    pub fn may_be_cleartext(&self) -> bool {
        matches!(
            self.security,
            SmtpSecurity::None | SmtpSecurity::Opportunistic
        )
    }

    pub(crate) fn validate(&self) -> Result<(), SmtpSetupError> {
        let invalid = SmtpSetupError::InvalidSettings;
        if self.credentials.is_some() && self.may_be_cleartext() && !self.is_loopback() {
            return Err(invalid(
                "the password would cross the network in the clear: use smtps:// or ?tls=required",
            ));
        }
        if self.connect_timeout.is_zero() || self.send_timeout.is_zero() {
            return Err(invalid("the timeouts must be greater than zero"));
        }
        Ok(())
    }

    fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_of_lettre_urls() {
        let s =
            SmtpSettings::from_url("smtp://ann:s3cret@mail.example.com:587?tls=required").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("mail.example.com", 587));
        assert_eq!(s.security, SmtpSecurity::StartTls);
        let (user, password) = s.credentials.as_ref().unwrap();
        assert_eq!((user.as_str(), password.expose()), ("ann", "s3cret"));
        assert_eq!(s.connect_timeout, Duration::from_secs(10));
        assert!(s.ca_file.is_none() && s.hello_name.is_none());

        let s = SmtpSettings::from_url("smtps://ann:s3cret@mail.example.com").unwrap();
        assert_eq!((s.security, s.port), (SmtpSecurity::ImplicitTls, 465));

        let s = SmtpSettings::from_url("smtp://mailpit:1025").unwrap();
        assert_eq!((s.security, s.port), (SmtpSecurity::None, 1025));
        assert!(s.credentials.is_none());
        assert_eq!(s.server(), "mailpit:1025");
    }

    #[test]
    fn defaults_ports_and_the_rest_of_the_form() {
        for (url, port) in [
            ("smtp://h", 25),
            ("smtp://h?tls=required", 587),
            ("smtp://h?tls=opportunistic", 587),
            ("smtps://h", 465),
        ] {
            assert_eq!(SmtpSettings::from_url(url).unwrap().port, port, "{url}");
        }
        let s = SmtpSettings::from_url(
            "smtp://user%40example.com:p%3Ass%2Fw@[::1]:2525/client.example",
        )
        .unwrap();
        let (user, password) = s.credentials.as_ref().unwrap();
        assert_eq!(
            (user.as_str(), password.expose()),
            ("user@example.com", "p:ss/w")
        );
        assert_eq!(s.host, "::1");
        assert_eq!(s.server(), "[::1]:2525");
        assert_eq!(s.hello_name.as_deref(), Some("client.example"));
    }

    #[test]
    fn mistakes_are_refused_without_showing_the_password() {
        for (bad, says) in [
            ("", "relative URL"),
            ("mail.example.com:587", "scheme"),
            ("http://mail.example.com", "smtp or smtps"),
            ("smtp://h?tls=require", "required or opportunistic"),
            ("smtps://h?tls=opportunistic", "drop the tls parameter"),
            ("smtp://h?tls=required&tls=required", "twice"),
            ("smtp://h?timeout=5", "unknown parameter"),
            ("smtp://ann@h?tls=required", "needs a password"),
            ("smtp://h#x", "fragment"),
            ("smtp://ann:hunter2@mail.example.com:25", "in the clear"),
            (
                "smtp://ann:hunter2@mail.example.com?tls=opportunistic",
                "in the clear",
            ),
        ] {
            let err = SmtpSettings::from_url(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn a_password_in_the_clear_is_allowed_on_this_machine_only() {
        for ok in [
            "smtp://ann:pw@127.0.0.1:1025",
            "smtp://ann:pw@localhost:1025",
            "smtp://ann:pw@[::1]:1025",
        ] {
            assert!(SmtpSettings::from_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let s = SmtpSettings::from_url("smtps://ann:hunter2@mail.example.com").unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
