//! Opening a connection as `DATABASE_URL` says, TLS included.
//!
//! `tokio-postgres` parses the URL (hosts, ports, keepalives, `tcp_user_timeout`,
//! `connect_timeout`, …) but knows only `sslmode` `disable`, `prefer` and `require`, and no
//! `sslrootcert`; managed PostgreSQL services document `verify-full` with their CA bundle. So
//! the two TLS parameters are taken out of the URL here and applied through rustls as libpq
//! applies them:
//!
//! | `sslmode`     | encrypted            | certificate checked                      |
//! |---------------|----------------------|------------------------------------------|
//! | `disable`     | no                   | —                                        |
//! | `prefer`      | when the server can  | no (yes with `sslrootcert`, as libpq)    |
//! | `require`     | yes                  | no (chain only with `sslrootcert`)       |
//! | `verify-ca`   | yes                  | chain to a trusted root                  |
//! | `verify-full` | yes                  | chain and the host name                  |
//!
//! `sslrootcert` names a PEM file of trusted roots; without it (or with `sslrootcert=system`)
//! the verifying modes trust the operating system's roots. libpq's default is `prefer`.

use diesel::{ConnectionError, ConnectionResult};
use diesel_async::AsyncPgConnection;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConfig, WebPkiServerVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::config::SslMode as WireMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// `sslmode`, as libpq names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => Self::Disable,
            // `allow` tries without TLS first; plain is what it gets from a server that takes both.
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => return Err(format!("unknown sslmode `{other}`")),
        })
    }
}

/// What a connection is opened with: the driver's settings and the TLS to use.
#[derive(Clone)]
pub struct ConnectOptions {
    config: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
    mode: SslMode,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The driver's config prints its password; say only what is not secret.
        f.debug_struct("ConnectOptions")
            .field("hosts", &self.config.get_hosts())
            .field("ports", &self.config.get_ports())
            .field("dbname", &self.config.get_dbname())
            .field("sslmode", &self.mode)
            .finish()
    }
}

/// Keepalive and unacknowledged-data defaults for a URL that sets none: a peer that vanishes
/// (a failover, a dropped NAT entry) is noticed within about a minute instead of hours.
const KEEPALIVES_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVES_RETRIES: u32 = 3;
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);

impl ConnectOptions {
    /// Parses a `postgres://` URL or a `key=value` connection string.
    ///
    /// # Errors
    /// A message naming what is wrong: the URL's syntax, an unknown `sslmode`, an unreadable
    /// or empty `sslrootcert`.
    pub fn parse(database_url: &str) -> Result<Self, String> {
        let (rest, params) = take_libpq_params(database_url);
        let mut config: tokio_postgres::Config = rest
            .parse()
            .map_err(|e: tokio_postgres::Error| format!("invalid DATABASE_URL: {e}"))?;
        let mode = match params.mode.as_deref() {
            Some(value) => SslMode::parse(value)?,
            None => SslMode::Prefer,
        };
        if !has_param(&rest, "keepalives_idle") {
            config.keepalives_idle(KEEPALIVES_IDLE);
        }
        if !has_param(&rest, "keepalives_interval") {
            config.keepalives_interval(KEEPALIVES_INTERVAL);
        }
        if !has_param(&rest, "keepalives_retries") {
            config.keepalives_retries(KEEPALIVES_RETRIES);
        }
        config.tcp_user_timeout(match params.tcp_user_timeout.as_deref() {
            Some(ms) => {
                Duration::from_millis(ms.parse().map_err(|_| {
                    format!("tcp_user_timeout `{ms}` is not a number of milliseconds")
                })?)
            }
            None => TCP_USER_TIMEOUT,
        });
        config.ssl_mode(match mode {
            SslMode::Disable => WireMode::Disable,
            SslMode::Prefer => WireMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
        });
        let tls = match mode {
            SslMode::Disable => None,
            mode => Some(MakeRustlsConnect::new(client_config(
                mode,
                params.root_cert.as_deref(),
            )?)),
        };
        Ok(Self { config, tls, mode })
    }

    pub fn ssl_mode(&self) -> SslMode {
        self.mode
    }

    /// Opens a connection (the first host that accepts, as libpq does).
    pub async fn establish(&self) -> ConnectionResult<AsyncPgConnection> {
        match &self.tls {
            Some(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await.map_err(bad)?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
            None => {
                let (client, connection) = self
                    .config
                    .connect(tokio_postgres::NoTls)
                    .await
                    .map_err(bad)?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
        }
    }
}

fn bad(e: tokio_postgres::Error) -> ConnectionError {
    // The driver's top-level message ("error performing TLS handshake") hides the cause.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ConnectionError::BadConnection(message)
}

#[derive(Default)]
struct LibpqParams {
    mode: Option<String>,
    root_cert: Option<String>,
    /// libpq's `tcp_user_timeout` is in milliseconds; the driver would read it as seconds.
    tcp_user_timeout: Option<String>,
}

/// Takes `sslmode`, `sslrootcert` and `tcp_user_timeout` out of a URL's query or a
/// `key=value` string; the rest is left for the driver.
fn take_libpq_params(url: &str) -> (String, LibpqParams) {
    let mut params = LibpqParams::default();
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            params.mode = Some(value);
            true
        }
        "sslrootcert" => {
            params.root_cert = Some(value);
            true
        }
        "tcp_user_timeout" => {
            params.tcp_user_timeout = Some(value);
            true
        }
        _ => false,
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_owned(), params);
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let value = percent_decode(value);
                !take(key, value)
            })
            .collect();
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        (rest, params)
    } else {
        let kept: Vec<&str> = url
            .split_whitespace()
            .filter(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                !take(key.trim(), value.trim_matches('\'').to_owned())
            })
            .collect();
        (kept.join(" "), params)
    }
}

fn has_param(url: &str, key: &str) -> bool {
    let params = match url.split_once('?') {
        Some((_, query)) => query.split('&').collect::<Vec<_>>(),
        None => url.split_whitespace().collect(),
    };
    params
        .iter()
        .any(|pair| pair.split_once('=').is_some_and(|(k, _)| k.trim() == key))
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = value
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(root_cert: Option<&str>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match root_cert {
        Some(path) if path != "system" => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            for cert in certs {
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            }
            if store.is_empty() {
                return Err(format!("sslrootcert {path}: no certificate in it"));
            }
        }
        _ => {
            let native = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(native.certs);
            if store.is_empty() {
                return Err(
                    "no trusted root certificates: set sslrootcert to the server's CA file".into(),
                );
            }
        }
    }
    Ok(store)
}

fn client_config(mode: SslMode, root_cert: Option<&str>) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    // As libpq: a root certificate given to `prefer` or `require` makes them check the chain.
    let verify = match (mode, root_cert) {
        (SslMode::VerifyFull, _) => Some(true),
        (SslMode::VerifyCa, _) | (SslMode::Prefer | SslMode::Require, Some(_)) => Some(false),
        _ => None,
    };
    let config = match verify {
        Some(check_name) => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots(root_cert)?), provider)
                    .build()
                    .map_err(|e| e.to_string())?;
            if check_name {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
                    .with_no_client_auth()
            }
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is checked last, once the chain is valid: its failure alone is forgiven.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a root certificate: encrypted, the certificate unchecked
/// (the handshake's signatures still are).
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_parameters_are_taken_out_of_urls_and_connection_strings() {
        let (rest, params) = take_libpq_params(
            "postgres://u:p@db.example:5432/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
        );
        assert_eq!(
            rest,
            "postgres://u:p@db.example:5432/app?application_name=x"
        );
        assert_eq!(params.mode.as_deref(), Some("verify-full"));
        assert_eq!(params.root_cert.as_deref(), Some("/etc/ca.pem"));

        let (rest, params) = take_libpq_params("host=db user=u sslmode=require dbname=app");
        assert_eq!(rest, "host=db user=u dbname=app");
        assert_eq!(params.mode.as_deref(), Some("require"));

        let (rest, params) = take_libpq_params("postgres://db/app?sslmode=disable");
        assert_eq!(rest, "postgres://db/app");
        assert_eq!(params.mode.as_deref(), Some("disable"));
    }

    #[test]
    fn modes_parse_as_libpq_names_them_and_default_to_prefer() {
        let mode = |url: &str| ConnectOptions::parse(url).map(|o| o.ssl_mode());
        assert_eq!(mode("postgres://db/app"), Ok(SslMode::Prefer));
        assert_eq!(
            mode("postgres://db/app?sslmode=disable"),
            Ok(SslMode::Disable)
        );
        assert_eq!(
            mode("postgres://db/app?sslmode=require"),
            Ok(SslMode::Require)
        );
        assert!(
            mode("postgres://db/app?sslmode=sometimes")
                .unwrap_err()
                .contains("unknown sslmode")
        );
        assert!(
            mode("postgres://db/app?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
                .unwrap_err()
                .contains("/nonexistent/ca.pem")
        );
    }

    #[test]
    fn keepalives_and_user_timeout_default_unless_the_url_sets_them() {
        let options = ConnectOptions::parse("postgres://db/app").unwrap();
        assert_eq!(options.config.get_keepalives_idle(), KEEPALIVES_IDLE);
        assert_eq!(
            options.config.get_tcp_user_timeout(),
            Some(&TCP_USER_TIMEOUT)
        );
        let options = ConnectOptions::parse(
            "postgres://db/app?keepalives_idle=5&tcp_user_timeout=2000&sslmode=disable",
        )
        .unwrap();
        assert_eq!(options.config.get_keepalives_idle(), Duration::from_secs(5));
        assert_eq!(
            options.config.get_tcp_user_timeout(),
            Some(&Duration::from_millis(2000))
        );
    }

    #[test]
    fn debug_output_leaves_the_password_out() {
        let options = ConnectOptions::parse("postgres://u:hunter2@db/app").unwrap();
        assert!(!format!("{options:?}").contains("hunter2"));
    }
}
