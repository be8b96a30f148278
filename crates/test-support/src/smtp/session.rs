//! One SMTP conversation: the commands lettre sends, with STARTTLS and AUTH.

use super::{Config, ReceivedMail, SmtpFault, SmtpTls, State};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::io;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How a conversation ended: the client left, or STARTTLS hands back the plain stream.
enum End<S> {
    Closed,
    StartTls(S),
}

pub(super) struct Session {
    config: Arc<Config>,
    state: Arc<Mutex<State>>,
    tls: bool,
    user: Option<String>,
    from: Option<String>,
    recipients: Vec<String>,
}

impl Session {
    pub(super) fn new(config: Arc<Config>, state: Arc<Mutex<State>>) -> Self {
        Self {
            config,
            state,
            tls: false,
            user: None,
            from: None,
            recipients: Vec::new(),
        }
    }

    fn fault(&self) -> Option<SmtpFault> {
        self.state.lock().unwrap().fault
    }

    pub(super) async fn serve(mut self, mut tcp: TcpStream) -> io::Result<()> {
        self.state.lock().unwrap().connections += 1;
        match self.fault() {
            Some(SmtpFault::Refuse) => {
                return tcp.write_all(b"421 4.3.2 Service not available\r\n").await;
            }
            Some(SmtpFault::Silent) => {
                let mut sink = [0u8; 1024];
                while tcp.read(&mut sink).await? > 0 {}
                return Ok(());
            }
            _ => {}
        }
        let acceptor = self.config.acceptor.clone();
        if self.config.tls == SmtpTls::Implicit {
            let stream = acceptor.expect("a TLS server").accept(tcp).await?;
            self.tls = true;
            self.converse(stream, true).await?;
        } else if let End::StartTls(tcp) = self.converse(tcp, true).await? {
            let stream = acceptor.expect("a TLS server").accept(tcp).await?;
            // RFC 3207: everything learnt before the handshake is forgotten.
            self.tls = true;
            self.user = None;
            self.reset();
            self.converse(stream, false).await?;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.from = None;
        self.recipients.clear();
    }

    fn offers_starttls(&self) -> bool {
        self.config.tls == SmtpTls::StartTls && !self.tls
    }

    fn offers_auth(&self) -> bool {
        self.config.credentials.is_some() && !self.offers_starttls()
    }

    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: S,
        greet: bool,
    ) -> io::Result<End<S>> {
        let mut s = BufReader::new(stream);
        if greet {
            reply(&mut s, "220 127.0.0.1 ESMTP partneros test server").await?;
        }
        loop {
            let Some(line) = read_line(&mut s).await? else {
                return Ok(End::Closed);
            };
            let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
            let arg = arg.trim();
            match verb.to_ascii_uppercase().as_str() {
                "EHLO" => {
                    self.reset();
                    let mut lines = vec!["250-127.0.0.1".to_owned(), "250-8BITMIME".to_owned()];
                    if self.offers_starttls() {
                        lines.push("250-STARTTLS".into());
                    }
                    if self.offers_auth() {
                        lines.push(format!("250-AUTH {}", self.config.mechanisms.join(" ")));
                    }
                    lines.push("250 SMTPUTF8".into());
                    reply(&mut s, &lines.join("\r\n")).await?;
                }
                "HELO" => reply(&mut s, "250 127.0.0.1").await?,
                "STARTTLS" if self.offers_starttls() => {
                    reply(&mut s, "220 2.0.0 Ready to start TLS").await?;
                    return Ok(End::StartTls(s.into_inner()));
                }
                "AUTH" => {
                    let answer = self.auth(&mut s, arg).await?;
                    reply(&mut s, answer).await?;
                }
                "MAIL" => {
                    let answer = self.mail(arg);
                    reply(&mut s, &answer).await?;
                }
                "RCPT" if self.from.is_none() => reply(&mut s, "503 5.5.1 MAIL first").await?,
                "RCPT" => {
                    self.recipients.push(address(arg));
                    reply(&mut s, "250 2.1.5 OK").await?;
                }
                "DATA" if self.recipients.is_empty() => {
                    reply(&mut s, "503 5.5.1 RCPT first").await?;
                }
                "DATA" => {
                    reply(&mut s, "354 End data with <CR><LF>.<CR><LF>").await?;
                    let Some(data) = read_data(&mut s).await? else {
                        return Ok(End::Closed);
                    };
                    let answer = self.deliver(data);
                    reply(&mut s, &answer).await?;
                }
                "RSET" => {
                    self.reset();
                    reply(&mut s, "250 2.0.0 OK").await?;
                }
                "NOOP" => reply(&mut s, "250 2.0.0 OK").await?,
                "QUIT" => {
                    reply(&mut s, "221 2.0.0 Bye").await?;
                    return Ok(End::Closed);
                }
                _ => reply(&mut s, "502 5.5.2 Command not implemented").await?,
            }
        }
    }

    fn mail(&mut self, arg: &str) -> String {
        if self.config.tls == SmtpTls::StartTls && !self.tls {
            return "530 5.7.0 Must issue a STARTTLS command first".into();
        }
        if self.config.credentials.is_some() && self.user.is_none() {
            return "530 5.7.0 Authentication required".into();
        }
        if let Some(SmtpFault::MailFrom(code)) = self.fault() {
            return format!("{code} Try again later");
        }
        self.reset();
        self.from = Some(address(arg));
        "250 2.1.0 OK".into()
    }

    fn deliver(&mut self, data: Vec<u8>) -> String {
        let fault = self.fault();
        let (Some(from), recipients) = (self.from.take(), std::mem::take(&mut self.recipients))
        else {
            return "503 5.5.1 MAIL first".into();
        };
        if let Some(SmtpFault::Data(code)) = fault {
            return format!("{code} Try again later");
        }
        self.state.lock().unwrap().messages.push(ReceivedMail {
            from,
            recipients,
            data,
            tls: self.tls,
            user: self.user.clone(),
        });
        "250 2.0.0 Queued".into()
    }

    /// `AUTH PLAIN [initial]` or `AUTH LOGIN [user]`, with their challenges.
    async fn auth<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        s: &mut BufReader<S>,
        arg: &str,
    ) -> io::Result<&'static str> {
        let Some((user, password)) = self
            .config
            .credentials
            .clone()
            .filter(|_| self.offers_auth())
        else {
            return Ok("503 5.5.1 AUTH not available");
        };
        if self.user.is_some() {
            return Ok("503 5.5.1 Already authenticated");
        }
        let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
        let mechanism = mechanism.to_ascii_uppercase();
        if !self.config.mechanisms.contains(&mechanism) {
            return Ok("504 5.5.4 Unrecognized authentication type");
        }
        let mut answer = async |prompt: &str, initial: &str| -> io::Result<Option<String>> {
            let line = if initial.is_empty() {
                reply(s, &format!("334 {prompt}")).await?;
                read_line(s).await?.unwrap_or_default()
            } else {
                initial.to_owned()
            };
            Ok(B64
                .decode(line.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok()))
        };
        let given = if mechanism == "PLAIN" {
            // authzid NUL authcid NUL password
            answer("", initial).await?.and_then(|s| {
                let mut parts = s.split('\0').skip(1).map(str::to_owned);
                Some((parts.next()?, parts.next()?))
            })
        } else {
            let name = answer("VXNlcm5hbWU6", initial).await?; // "Username:"
            let pass = answer("UGFzc3dvcmQ6", "").await?; // "Password:"
            name.zip(pass)
        };
        Ok(match given {
            None => "501 5.5.2 Cannot decode the response",
            Some((u, p)) if u == user && p == password => {
                self.user = Some(u);
                "235 2.7.0 Authentication successful"
            }
            Some(_) => "535 5.7.8 Authentication credentials invalid",
        })
    }
}

/// The address of `FROM:<a@b> BODY=8BITMIME` or `TO:<a@b>`.
fn address(arg: &str) -> String {
    match (arg.find('<'), arg.find('>')) {
        (Some(open), Some(close)) if open < close => arg[open + 1..close].to_owned(),
        _ => arg
            .split_once(':')
            .map_or(arg, |(_, a)| a.trim())
            .to_owned(),
    }
}

async fn reply<S: AsyncWrite + Unpin>(s: &mut S, text: &str) -> io::Result<()> {
    s.write_all(format!("{text}\r\n").as_bytes()).await?;
    s.flush().await
}

/// A command line without its CRLF; `None` at the end of the stream.
async fn read_line<S: AsyncRead + Unpin>(s: &mut BufReader<S>) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    if s.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(
        String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
    ))
}

/// The lines up to `.` alone, dot-unstuffed; `None` if the stream ends first.
async fn read_data<S: AsyncRead + Unpin>(s: &mut BufReader<S>) -> io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    loop {
        let mut line = Vec::new();
        if s.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(data));
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(unstuffed);
    }
}
