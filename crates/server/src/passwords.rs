//! argon2id password hashing, off the async threads.

use argon2::password_hash::{
    self, Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use partneros_domain::identity::ports::{HashingError, PasswordHasher};
use partneros_domain::shared::secret::Secret;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// argon2id on a fixed set of threads, each owning the Argon2 memory it reuses for every hash:
/// at most `slots` hashes run at once, and a flood of sign-ins costs `slots × memory` and no
/// more. (Each hash allocating its own 19 MiB block let the allocator keep them: about 20 MiB per
/// concurrent sign-in on the blocking pool, and still over 100 MiB per thread on fixed threads,
/// as blocks spread over the allocator's arenas.) A request that finds no free slot within
/// `wait` gets `Busy`.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    slots: Arc<Semaphore>,
    wait: Duration,
    jobs: std::sync::mpsc::SyncSender<Job>,
}

/// Work for a hashing thread, given that thread's memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

fn failed(e: impl std::fmt::Display) -> HashingError {
    HashingError::Failed(e.to_string().into())
}

/// Argon2 over `memory`, grown (once) to what `params` need.
fn hash_into(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out_len: usize,
    memory: &mut Vec<Block>,
) -> Result<Output, HashingError> {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    Output::init_with(out_len, |out| {
        argon2
            .hash_password_into_with_memory(
                password,
                salt,
                out,
                &mut memory[..params.block_count()],
            )
            .map_err(|_| password_hash::Error::Password)
    })
    .map_err(failed)
}

impl Argon2Hasher {
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        slots: usize,
        wait: Duration,
    ) -> Result<Self, HashingError> {
        let params = Params::new(memory_kib, iterations, 1, None).map_err(failed)?;
        let slots = slots.max(1);
        // Exactly one thread per slot: a job never waits behind another.
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(slots);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..slots {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        let job = queue.lock().map(|q| q.recv());
                        match job {
                            Ok(Ok(job)) => job(&mut memory),
                            _ => return,
                        }
                    }
                })
                .map_err(|e| HashingError::Failed(Box::new(e)))?;
        }
        Ok(Self {
            params,
            slots: Arc::new(Semaphore::new(slots)),
            wait,
            jobs,
        })
    }

    /// Runs `work` on a hashing thread once a slot is free (within `wait`).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let permit = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| HashingError::Busy)?
            .map_err(|e| HashingError::Failed(Box::new(e)))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |memory| {
                let out = work(memory);
                drop(permit);
                let _ = tx.send(out);
            }))
            .map_err(|_| failed("the hashing threads stopped"))?;
        rx.await.map_err(|_| failed("a hashing thread stopped"))
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: Secret) -> Result<String, HashingError> {
        let params = self.params.clone();
        self.run(move |memory| {
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let salt = SaltString::generate(&mut OsRng);
            let mut salt_buf = [0u8; 64];
            let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(failed)?;
            let output = hash_into(
                &argon2,
                &params,
                password.expose().as_bytes(),
                salt_bytes,
                Params::DEFAULT_OUTPUT_LEN,
                memory,
            )?;
            Ok(PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).map_err(failed)?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            }
            .to_string())
        })
        .await?
    }

    async fn verify(&self, password: Secret, hash: String) -> Result<bool, HashingError> {
        self.run(move |memory| {
            // The algorithm, version and parameters stored in the hash govern verification.
            let mut verified = || -> Option<bool> {
                let parsed = PasswordHash::new(&hash).ok()?;
                let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
                let version = parsed
                    .version
                    .map(Version::try_from)
                    .transpose()
                    .ok()?
                    .unwrap_or_default();
                let params = Params::try_from(&parsed).ok()?;
                let expected = parsed.hash?;
                let mut salt_buf = [0u8; 64];
                let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
                let argon2 = Argon2::new(algorithm, version, params.clone());
                let computed = hash_into(
                    &argon2,
                    &params,
                    password.expose().as_bytes(),
                    salt,
                    expected.len(),
                    memory,
                )
                .ok()?;
                // `Output`'s equality is constant-time.
                Some(computed == expected)
            };
            verified().unwrap_or(false)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_with_the_argon2_crates_own_verifier_and_back() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let h = Argon2Hasher::new(1024, 2, 1, Duration::from_secs(5)).unwrap();
        let ours = h.hash(Secret::new("correct horse")).await.unwrap();
        let argon2 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 2, 1, None).unwrap(),
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2.verify_password(b"correct horse", &parsed).is_ok());
        // A hash made elsewhere (other parameters too) verifies with ours.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(2048, 1, 1, None).unwrap(),
        )
        .hash_password(b"battery staple", &salt)
        .unwrap()
        .to_string();
        assert!(
            h.verify(Secret::new("battery staple"), theirs.clone())
                .await
                .unwrap()
        );
        assert!(
            !h.verify(Secret::new("battery stapl"), theirs)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let h = Argon2Hasher::new(1024, 1, 2, Duration::from_secs(5)).unwrap();
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

    #[tokio::test]
    async fn no_more_hashes_run_than_slots_and_a_waiter_past_its_bound_is_busy() {
        // One slot, a slow hash (64 MiB, 3 passes) holding it, and a short wait for the next.
        let h = Argon2Hasher::new(64 * 1024, 3, 1, Duration::from_millis(20)).unwrap();
        let slow = {
            let h = h.clone();
            tokio::spawn(async move { h.hash(Secret::new("first")).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let second = h.hash(Secret::new("second")).await;
        assert!(matches!(second, Err(HashingError::Busy)), "{second:?}");
        assert!(slow.await.unwrap().is_ok());
        // The slot is free again.
        assert!(h.hash(Secret::new("third")).await.is_ok());
    }
}
