//! Validated value objects. Each is built only through a fallible constructor, so an invalid
//! value cannot exist past the boundary.

use std::fmt;

/// Why a value was refused; shown to the client as the field's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// A trimmed, non-empty string of at most `MAX` characters without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoundedText<const MAX: usize>(String);

impl<const MAX: usize> BoundedText<MAX> {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(InvalidValue::new("must not be blank"));
        }
        if s.chars().count() > MAX {
            return Err(InvalidValue::new(format!(
                "must be at most {MAX} characters"
            )));
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize> fmt::Display for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, kept as given but compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim();
        let bad = || InvalidValue::new("must be a valid email address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, host) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(bad());
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad());
        }
        if !host.contains('.') || host.starts_with('.') || host.ends_with('.') {
            return Err(bad());
        }
        let ascii_host = idna::domain_to_ascii(host).map_err(|_| bad())?;
        if !ascii_host
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'))
        {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{}", host.to_lowercase())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The form used for uniqueness and look-ups.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An `https` URL (logos).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl(String);

impl HttpsUrl {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim();
        let rest = s
            .strip_prefix("https://")
            .ok_or_else(|| InvalidValue::new("must be an https:// URL"))?;
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if s.len() > 2048 || host_end == 0 || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(InvalidValue::new("must be an https:// URL"));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Jane@Example.COM ").unwrap().as_str(),
            "Jane@example.com"
        );
        assert_eq!(
            Email::parse("Jane@Example.COM").unwrap().normalized(),
            "jane@example.com"
        );
        for bad in [
            "",
            "jane",
            "jane@",
            "@x.com",
            "a@b",
            "a b@c.com",
            "a..b@c.com",
            "a@-b.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounded_text() {
        assert_eq!(BoundedText::<5>::parse("  abc ").unwrap().as_str(), "abc");
        assert!(BoundedText::<5>::parse("abcdef").is_err());
        assert!(BoundedText::<5>::parse("   ").is_err());
        assert!(BoundedText::<5>::parse("a\u{0}b").is_err());
        assert!(BoundedText::<5>::parse("").is_err());
    }

    #[test]
    fn https_urls() {
        assert!(HttpsUrl::parse("https://acme.com/logo.png").is_ok());
        for bad in [
            "http://acme.com/logo.png",
            "javascript:alert(1)",
            "https://",
            "https:///logo.png",
            "https://acme.com/a b.png",
            "acme.com/logo.png",
        ] {
            assert!(HttpsUrl::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn email_parsing_never_panics(raw in ".{0,300}") {
            let _ = Email::parse(&raw);
        }
    }
}
