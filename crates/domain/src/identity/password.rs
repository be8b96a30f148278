//! Passwords as submitted.

use crate::shared::values::InvalidValue;
use std::fmt;

/// A password as submitted: 8..=256 characters.
#[derive(Clone)]
pub struct Password(crate::shared::secret::Secret);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let n = raw.chars().count();
        if n < 8 {
            return Err(InvalidValue::new("must be at least 8 characters"));
        }
        if n > 256 {
            return Err(InvalidValue::new("must be at most 256 characters"));
        }
        Ok(Self(crate::shared::secret::Secret::new(raw)))
    }
    pub fn secret(&self) -> &crate::shared::secret::Secret {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}
