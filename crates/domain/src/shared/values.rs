//! Validated value objects. Each is built only through a fallible constructor, so an invalid
//! value cannot exist past the boundary.

use std::fmt;
use std::str::FromStr;

/// Why a value was refused; shown to the client as the field's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    fn new(msg: impl Into<String>) -> Self {
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

/// A password as submitted: 8..=256 characters.
#[derive(Clone)]
pub struct Password(crate::secret::Secret);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let n = raw.chars().count();
        if n < 8 {
            return Err(InvalidValue::new("must be at least 8 characters"));
        }
        if n > 256 {
            return Err(InvalidValue::new("must be at most 256 characters"));
        }
        Ok(Self(crate::secret::Secret::new(raw)))
    }
    pub fn secret(&self) -> &crate::secret::Secret {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// A partner's web domain, normalized: lowercase, no scheme, no `www.`, no port or path,
/// internationalized names as punycode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartnerDomain(String);

impl PartnerDomain {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let bad = |why: &str| {
            InvalidValue::new(format!("must be a domain name such as example.com ({why})"))
        };
        let mut s = raw.trim();
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.len() > 2048 {
            return Err(bad("too long"));
        }
        if let Some(idx) = s.find("://") {
            let scheme = &s[..idx];
            if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
                return Err(bad("only http and https addresses"));
            }
            s = &s[idx + 3..];
        } else if let Some(rest) = s.strip_prefix("//") {
            s = rest;
        }
        // Cut path, query and fragment, then credentials and port.
        let end = s.find(['/', '?', '#']).unwrap_or(s.len());
        let mut host = &s[..end];
        if let Some(at) = host.rfind('@') {
            host = &host[at + 1..];
        }
        if host.starts_with('[') {
            return Err(bad("IP addresses are not domains"));
        }
        if let Some((h, port)) = host.rsplit_once(':') {
            if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad("invalid port"));
            }
            host = h;
        }
        let host = host.trim_end_matches('.');
        let ascii = idna::domain_to_ascii(host).map_err(|_| bad("invalid characters"))?;
        // Every leading `www.` goes (`www.www.acme.com` is acme.com too), but `www.com` stays.
        let mut stripped = ascii.as_str();
        while let Some(rest) = stripped.strip_prefix("www.")
            && rest.contains('.')
        {
            stripped = rest;
        }
        let ascii = stripped.to_owned();
        if ascii.len() > 253 {
            return Err(bad("too long"));
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return Err(bad("needs a top-level domain"));
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok {
                return Err(bad("invalid label"));
            }
        }
        let tld = labels[labels.len() - 1];
        if tld.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad("IP addresses are not domains"));
        }
        Ok(Self(ascii))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartnerDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organization's URL slug: `[a-z0-9-]{3,64}`, no leading, trailing or doubled hyphen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim();
        let ok = (3..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue::new(
                "must be 3 to 64 characters of a-z, 0-9 and inner hyphens",
            ))
        }
    }
    /// A slug derived from a display name, padded when the name has too few usable characters.
    pub fn from_name(name: &str) -> Self {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
            if out.len() >= 48 {
                break;
            }
        }
        let mut out = out.trim_end_matches('-').to_owned();
        if out.len() < 3 {
            if !out.is_empty() {
                out.push('-');
            }
            out.push_str("org");
        }
        Self(out)
    }
    /// The same slug with a short random suffix, for retrying after a clash.
    pub fn with_suffix(&self, suffix: &str) -> Self {
        let base: String = self.0.chars().take(64 - suffix.len() - 1).collect();
        Self(format!("{}-{suffix}", base.trim_end_matches('-')))
    }
    pub fn as_str(&self) -> &str {
        &self.0
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

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
    Partner,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Member,
        Role::Viewer,
        Role::Partner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
            Role::Partner => "partner",
        }
    }
    /// Staff of the organization (everyone but partner-portal users).
    pub fn is_internal(self) -> bool {
        !matches!(self, Role::Partner)
    }
    /// May create, change and delete organization data.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Member)
    }
    /// May manage members and API keys.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

impl FromStr for Role {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                InvalidValue::new("must be one of owner, admin, member, viewer, partner")
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domains_are_normalized() {
        for (raw, want) in [
            ("Acme.com", "acme.com"),
            ("https://www.Acme.com/about?x=1", "acme.com"),
            ("http://acme.com:8080", "acme.com"),
            ("www.acme.co.uk.", "acme.co.uk"),
            ("//shop.acme.io#top", "shop.acme.io"),
            ("bücher.de", "xn--bcher-kva.de"),
            ("user:pw@acme.com/x", "acme.com"),
        ] {
            assert_eq!(PartnerDomain::parse(raw).unwrap().as_str(), want, "{raw}");
        }
    }

    #[test]
    fn every_leading_www_is_stripped() {
        // Found by the partner_domain fuzz target: only one `www.` was stripped, so
        // `www.www.acme.com` was kept as `www.acme.com`, which is not normalized (parsing it
        // again gives `acme.com`) and is a different key than `acme.com` for the same site.
        for (raw, want) in [
            ("www.www.acme.com", "acme.com"),
            ("https://WWW.www.Acme.com/about", "acme.com"),
            ("www.www.com", "www.com"),
            ("www.com", "www.com"),
        ] {
            let d = PartnerDomain::parse(raw).unwrap();
            assert_eq!(d.as_str(), want, "{raw}");
            assert_eq!(PartnerDomain::parse(d.as_str()).unwrap(), d, "{raw}");
        }
    }

    #[test]
    fn bad_domains_are_refused() {
        for raw in [
            "",
            "localhost",
            "ftp://acme.com",
            "127.0.0.1",
            "[::1]",
            "acme..com",
            "-acme.com",
            "acme.com:abc",
            "a b.com",
            "http://",
        ] {
            assert!(PartnerDomain::parse(raw).is_err(), "{raw}");
        }
    }

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
    fn slugs() {
        assert!(Slug::parse("acme-inc").is_ok());
        for bad in ["ab", "Acme", "-acme", "acme-", "a_b_c"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Slug::from_name("Acme, Inc.").as_str(), "acme-inc");
        assert_eq!(Slug::from_name("Ü").as_str(), "org");
        assert!(
            Slug::parse(
                Slug::from_name(&"x".repeat(300))
                    .with_suffix("abcd")
                    .as_str()
            )
            .is_ok()
        );
    }

    #[test]
    fn roles() {
        assert!(
            Role::Member.can_write() && !Role::Viewer.can_write() && !Role::Partner.can_write()
        );
        assert!(!Role::Partner.is_internal());
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn bounded_text() {
        assert_eq!(BoundedText::<5>::parse("  abc ").unwrap().as_str(), "abc");
        assert!(BoundedText::<5>::parse("abcdef").is_err());
        assert!(BoundedText::<5>::parse("   ").is_err());
        assert!(BoundedText::<5>::parse("a\u{0}b").is_err());
    }

    proptest! {
        #[test]
        fn domain_parsing_never_panics_and_is_idempotent(raw in ".{0,300}") {
            if let Ok(d) = PartnerDomain::parse(&raw) {
                let again = PartnerDomain::parse(d.as_str()).unwrap();
                prop_assert_eq!(again, d);
            }
        }

        #[test]
        fn derived_slugs_are_valid(name in ".{0,200}") {
            prop_assert!(Slug::parse(Slug::from_name(&name).as_str()).is_ok());
        }

        #[test]
        fn email_parsing_never_panics(raw in ".{0,300}") {
            let _ = Email::parse(&raw);
        }
    }
}
