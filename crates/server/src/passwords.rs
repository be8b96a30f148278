//! argon2id password hashing, off the async threads.

use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use partneros_domain::ports::{HashingError, PasswordHasher};
use partneros_domain::secret::Secret;

#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
}

impl Argon2Hasher {
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self, HashingError> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| HashingError(e.to_string().into()))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: Secret) -> Result<String, HashingError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            this.argon2()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| HashingError(e.to_string().into()))
        })
        .await
        .map_err(|e| HashingError(Box::new(e)))?
    }

    async fn verify(&self, password: Secret, hash: String) -> Result<bool, HashingError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Ok(false);
            };
            // The parameters stored in the hash govern verification.
            Ok(this
                .argon2()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok())
        })
        .await
        .map_err(|e| HashingError(Box::new(e)))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let h = Argon2Hasher::new(1024, 1).unwrap();
        let a = h.hash(Secret::new("correct horse")).await.unwrap();
        let b = h.hash(Secret::new("correct horse")).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(
            h.verify(Secret::new("correct horse"), a.clone())
                .await
                .unwrap()
        );
        assert!(!h.verify(Secret::new("wrong horse"), a).await.unwrap());
        assert!(
            !h.verify(Secret::new("x"), "not a hash".into())
                .await
                .unwrap()
        );
    }
}
