//! An SMTP server inside the test process: enough ESMTP for lettre (EHLO, STARTTLS, AUTH PLAIN
//! and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT), a certificate made at start, the messages it
//! received, and faults switched on and off by the test.

mod parsed;
mod session;

pub use parsed::ParsedMail;

use session::Session;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// How the server protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text, like Mailpit (`smtp://`).
    None,
    /// STARTTLS offered, and required before `AUTH` and `MAIL` (`smtp://…?tls=required`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// A failure the server plays until [`SmtpServer::recover`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpFault {
    /// Answer `MAIL FROM` with this code (451: try again later).
    MailFrom(u16),
    /// Take the whole message, then answer with this code instead of 250.
    Data(u16),
    /// Greet new connections with `421` and close them.
    Refuse,
    /// Accept connections and never say a word (for timeouts).
    Silent,
}

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub recipients: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, with its CRLF line ends.
    pub data: Vec<u8>,
    /// Whether the connection was encrypted (STARTTLS or implicit TLS).
    pub tls: bool,
    /// The user that authenticated, if any.
    pub user: Option<String>,
}

pub(super) struct Config {
    pub(super) tls: SmtpTls,
    pub(super) credentials: Option<(String, String)>,
    pub(super) mechanisms: Vec<String>,
    pub(super) acceptor: Option<TlsAcceptor>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) messages: Vec<ReceivedMail>,
    pub(super) fault: Option<SmtpFault>,
    pub(super) connections: usize,
}

/// Builds an [`SmtpServer`]: plain text and no authentication unless told otherwise.
pub struct SmtpServerBuilder {
    tls: SmtpTls,
    credentials: Option<(String, String)>,
    mechanisms: Vec<String>,
}

impl SmtpServerBuilder {
    pub fn tls(mut self, tls: SmtpTls) -> Self {
        self.tls = tls;
        self
    }

    /// Requires `AUTH` with these credentials before `MAIL`; others get `535`.
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// The mechanisms offered and accepted (default `PLAIN` and `LOGIN`).
    pub fn mechanisms(mut self, mechanisms: &[&str]) -> Self {
        self.mechanisms = mechanisms.iter().map(|m| m.to_ascii_uppercase()).collect();
        self
    }

    /// Binds 127.0.0.1 on a free port and serves until the server is dropped.
    pub async fn start(self) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("the bound address");
        let (acceptor, ca_pem) = match self.tls {
            SmtpTls::None => (None, String::new()),
            _ => {
                let (acceptor, ca_pem) = tls_acceptor();
                (Some(acceptor), ca_pem)
            }
        };
        let config = Arc::new(Config {
            tls: self.tls,
            credentials: self.credentials,
            mechanisms: self.mechanisms,
            acceptor,
        });
        let state = Arc::new(Mutex::new(State::default()));
        let accept_state = state.clone();
        let accept = tokio::spawn(async move {
            // Dropped (and its sessions aborted) when the server is.
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let session = Session::new(config.clone(), accept_state.clone());
                sessions.spawn(session.serve(tcp));
                while sessions.try_join_next().is_some() {}
            }
        });
        SmtpServer {
            address,
            tls: self.tls,
            ca_pem,
            state,
            accept,
        }
    }
}

/// The running server; stops when dropped.
pub struct SmtpServer {
    address: SocketAddr,
    tls: SmtpTls,
    ca_pem: String,
    state: Arc<Mutex<State>>,
    accept: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    pub fn builder() -> SmtpServerBuilder {
        SmtpServerBuilder {
            tls: SmtpTls::None,
            credentials: None,
            mechanisms: vec!["PLAIN".into(), "LOGIN".into()],
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server in lettre's URL form, e.g. `smtp://127.0.0.1:40123?tls=required`.
    pub fn url(&self) -> String {
        self.url_with_userinfo("")
    }

    /// [`url`](Self::url) with `user:password@` (both must be URL-safe as given).
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        self.url_with_userinfo(&format!("{user}:{password}@"))
    }

    fn url_with_userinfo(&self, userinfo: &str) -> String {
        let address = self.address;
        match self.tls {
            SmtpTls::None => format!("smtp://{userinfo}{address}"),
            SmtpTls::StartTls => format!("smtp://{userinfo}{address}?tls=required"),
            SmtpTls::Implicit => format!("smtps://{userinfo}{address}"),
        }
    }

    /// The PEM of the CA that signed the server's certificate (for `localhost` and
    /// `127.0.0.1`); empty without TLS.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The messages received so far, in order. A message is recorded before the server answers
    /// its data, so it is here as soon as the client's send returned.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.state.lock().unwrap().messages.clone()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    pub fn fail(&self, fault: SmtpFault) {
        self.state.lock().unwrap().fault = Some(fault);
    }

    pub fn recover(&self) {
        self.state.lock().unwrap().fault = None;
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A CA and a certificate it signs for `localhost` and `127.0.0.1`.
fn tls_acceptor() -> (TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "partneros test SMTP CA");
    let ca = ca.self_signed(&ca_key).expect("the CA certificate");
    let key = KeyPair::generate().expect("a server key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server parameters")
        .signed_by(&key, &ca, &ca_key)
        .expect("the server certificate");
    let private_key = pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], private_key)
    .expect("the server certificate and key");
    (TlsAcceptor::from(Arc::new(config)), ca.pem())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// Sends one line and returns the code of the (last line of the) answer.
    async fn say(s: &mut BufReader<tokio::net::TcpStream>, line: &str) -> String {
        if !line.is_empty() {
            s.get_mut()
                .write_all(format!("{line}\r\n").as_bytes())
                .await
                .unwrap();
        }
        loop {
            let mut answer = String::new();
            s.read_line(&mut answer).await.unwrap();
            if answer.as_bytes().get(3) != Some(&b'-') {
                return answer[..3].to_owned();
            }
        }
    }

    #[tokio::test]
    async fn the_commands_lettre_does_not_send_and_dot_unstuffing() {
        let server = SmtpServer::builder().start().await;
        let tcp = tokio::net::TcpStream::connect(server.address())
            .await
            .unwrap();
        let mut s = BufReader::new(tcp);
        let script = [
            ("", "220"),
            ("EHLO client.test", "250"),
            ("RCPT TO:<a@example.com>", "503"),
            ("MAIL FROM:<me@example.com> BODY=8BITMIME", "250"),
            ("RCPT TO:<a@example.com>", "250"),
            ("RSET", "250"),
            ("DATA", "503"),
            ("NOOP", "250"),
            ("VRFY a", "502"),
            ("MAIL FROM:<me@example.com>", "250"),
            ("RCPT TO:<b@example.com>", "250"),
            ("DATA", "354"),
            ("Subject: x\r\n\r\n..starts with a dot\r\n.", "250"),
            ("QUIT", "221"),
        ];
        for (line, code) in script {
            assert_eq!(say(&mut s, line).await, code, "{line}");
        }
        let received = server.messages();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].from, "me@example.com");
        assert_eq!(received[0].recipients, ["b@example.com"]);
        assert_eq!(
            received[0].data,
            b"Subject: x\r\n\r\n.starts with a dot\r\n"
        );
    }
}
