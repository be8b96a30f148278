//! Reading a received message back: its headers and its text and HTML parts.

use super::ReceivedMail;
use mail_parser::{MessageParser, MimeHeaders, PartType};

/// What a test asserts on in a received message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedMail {
    /// The top-level type, lower case, e.g. `multipart/alternative`.
    pub content_type: String,
    pub subject: Option<String>,
    /// The addresses of `From:`.
    pub from: Vec<String>,
    /// The addresses of `To:`.
    pub to: Vec<String>,
    /// The first `text/plain` part, decoded.
    pub text: Option<String>,
    /// The first `text/html` part, decoded.
    pub html: Option<String>,
}

impl ReceivedMail {
    /// Parses the data as an RFC 5322 message (MIME parts and transfer encodings decoded).
    ///
    /// # Panics
    /// When the data is not a message at all: the test fails there.
    pub fn parse(&self) -> ParsedMail {
        let message = MessageParser::default()
            .parse(&self.data[..])
            .expect("the received data is an RFC 5322 message");
        let content_type = message
            .root_part()
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{sub}", ct.ctype()),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_else(|| "text/plain".to_owned())
            .to_ascii_lowercase();
        let addresses = |list: Option<&mail_parser::Address<'_>>| -> Vec<String> {
            list.map(|l| {
                l.iter()
                    .filter_map(|a| a.address())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
        };
        let mut parsed = ParsedMail {
            content_type,
            subject: message.subject().map(str::to_owned),
            from: addresses(message.from()),
            to: addresses(message.to()),
            ..ParsedMail::default()
        };
        for part in &message.parts {
            match &part.body {
                PartType::Text(text) if parsed.text.is_none() => {
                    parsed.text = Some(text.to_string());
                }
                PartType::Html(html) if parsed.html.is_none() => {
                    parsed.html = Some(html.to_string());
                }
                _ => {}
            }
        }
        parsed
    }
}
