//! Secrets (passwords, tokens) that never show in `Debug` output or logs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// A string that must not be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value, for the one place that needs it (hashing, an outbound header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// The SHA-256 of a bearer token: the only form in which tokens are stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A freshly generated bearer token and its hash. The token is shown once; the hash is stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: Secret,
    pub hash: TokenHash,
}

impl IssuedToken {
    /// 256 random bits, base64url, behind a prefix that tells what the token is for.
    pub fn generate(prefix: &str) -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
        let hash = TokenHash::of(&token);
        Self {
            token: Secret(token),
            hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter22");
        assert!(!format!("{s:?}").contains("hunter22"));
    }

    #[test]
    fn generated_tokens_differ_and_hash_to_their_hash() {
        let a = IssuedToken::generate("ps_");
        let b = IssuedToken::generate("ps_");
        assert_ne!(a.token, b.token);
        assert!(a.token.expose().starts_with("ps_"));
        assert_eq!(TokenHash::of(a.token.expose()), a.hash);
        assert_ne!(a.hash, b.hash);
    }
}
