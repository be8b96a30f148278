//! URL slugs.

use crate::shared::values::InvalidValue;

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn derived_slugs_are_valid(name in ".{0,200}") {
            prop_assert!(Slug::parse(Slug::from_name(&name).as_str()).is_ok());
        }

    }
}
