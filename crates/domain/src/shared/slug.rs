//! URL slugs: the one rule for every slug the API takes (organizations, application forms,
//! affiliate links).

use crate::shared::values::InvalidValue;

/// A URL slug: `[a-z0-9-]{3,64}` after trimming, so it can sit in a URL path unescaped.
///
/// Hyphens may lead or trail: application forms and affiliate links have always been stored under
/// that rule (the README documents it), and a stricter one would make such stored forms
/// unreachable. Slugs derived from a name ([`Slug::from_name`]) never have edge hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim();
        let ok = (3..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue::new(
                "must be 3 to 64 characters of a-z, 0-9 and hyphens",
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
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugs() {
        assert_eq!(
            Slug::parse(" partner-program-2025 ").unwrap().as_str(),
            "partner-program-2025"
        );
        assert!(Slug::parse("acme-inc").is_ok());
        assert!(Slug::parse(&"a".repeat(64)).is_ok());
        for bad in [
            "ab",
            "Acme",
            "Partner",
            "a_b_c",
            "a b c",
            "émoi",
            "ab\u{0}",
            &"a".repeat(65),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Slug::parse("Bad Slug").unwrap_err().to_string(),
            "must be 3 to 64 characters of a-z, 0-9 and hyphens"
        );
    }

    #[test]
    fn edge_hyphens_are_allowed_as_stored_forms_have_them() {
        for ok in ["-acme", "acme-", "---", "a--b"] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn derived_slugs() {
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

    proptest! {
        #[test]
        fn derived_slugs_are_valid(name in ".{0,200}") {
            let slug = Slug::from_name(&name);
            prop_assert!(Slug::parse(slug.as_str()).is_ok());
            prop_assert!(!slug.as_str().starts_with('-') && !slug.as_str().ends_with('-'));
        }

        #[test]
        fn parsing_is_idempotent(raw in "[ a-z0-9_A-Z-]{0,70}") {
            if let Ok(s) = Slug::parse(&raw) {
                prop_assert_eq!(Slug::parse(s.as_str()).unwrap(), s);
            }
        }

    }
}
