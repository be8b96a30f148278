//! argon2id password hashing, off the async threads.

use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use partneros_domain::ports::{HashingError, PasswordHasher};
use partneros_domain::secret::Secret;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// argon2id on a fixed set of threads: at most `slots` hashes run at once, each on a thread of
/// its own that keeps reusing its memory, so a flood of sign-ins costs `slots × memory` and no
/// more (hashing on the blocking pool let every concurrent request allocate its own block, and
/// the allocator kept them). A request that finds no free slot within `wait` gets `Busy`.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    slots: Arc<Semaphore>,
    wait: Duration,
    jobs: std::sync::mpsc::SyncSender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl Argon2Hasher {
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        slots: usize,
        wait: Duration,
    ) -> Result<Self, HashingError> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| HashingError::Failed(e.to_string().into()))?;
        let slots = slots.max(1);
        // Exactly one thread per slot: a job never waits behind another, and never more
        // threads (and so allocator arenas holding argon2 blocks) than slots.
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(slots);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..slots {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = queue.lock().map(|q| q.recv());
                        match job {
                            Ok(Ok(job)) => job(),
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

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Runs `work` on a hashing thread once a slot is free (within `wait`).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let permit = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| HashingError::Busy)?
            .map_err(|e| HashingError::Failed(Box::new(e)))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let argon2 = self.argon2();
        self.jobs
            .send(Box::new(move || {
                let out = work(argon2);
                drop(permit);
                let _ = tx.send(out);
            }))
            .map_err(|_| HashingError::Failed("the hashing threads stopped".into()))?;
        rx.await
            .map_err(|_| HashingError::Failed("a hashing thread stopped".into()))
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: Secret) -> Result<String, HashingError> {
        self.run(move |argon2| {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| HashingError::Failed(e.to_string().into()))
        })
        .await?
    }

    async fn verify(&self, password: Secret, hash: String) -> Result<bool, HashingError> {
        self.run(move |argon2| {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return false;
            };
            // The parameters stored in the hash govern verification.
            argon2
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
