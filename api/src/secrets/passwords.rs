//! Password hashing: argon2id on a bounded pool (the policy itself is an account
//! rule, `accounts::password`).
//!
//! Hashing costs ~20 ms of one core and 19 MiB; a login storm must queue behind a
//! semaphore sized to the cores instead of piling unbounded work onto the
//! blocking pool, and never run on the async executor threads.

use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};

use argon2::{
    password_hash::{
        rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString,
    },
    Algorithm, Argon2, Params, Version,
};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ErrorCode};

/// argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a password nobody has, verified when an email is unknown so that
/// "no such account" takes as long as "wrong password".
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2()
        .hash_password(
            b"dummy password for timing",
            &SaltString::generate(&mut OsRng),
        )
        .expect("hashing a static password succeeds")
        .to_string()
});

/// Hashes and verifies passwords on the blocking pool, at most `concurrency` at once.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
}

impl PasswordHasher {
    /// `concurrency` is usually the number of cores.
    pub fn new(concurrency: usize) -> Self {
        PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            queue_timeout: Duration::from_secs(10),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        // Requests beyond what the cores can hash wait here, bounded in time, and
        // are told to come back rather than growing memory without limit.
        let permit = tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                ApiError::new(ErrorCode::ServiceUnavailable)
                    .detail("Too many logins at once; retry shortly.")
            })?
            .map_err(ApiError::internal)?;
        let result = tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(ApiError::internal)?;
        Ok(result)
    }

    /// Hashes a new password (PHC string with salt and parameters).
    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        self.run(move || {
            argon2()
                .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
                .map(|h| h.to_string())
                .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
        })
        .await?
    }

    /// Checks a password against a stored hash; `None` verifies a dummy hash
    /// (always false) to keep timing the same for unknown accounts.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, ApiError> {
        let password = password.to_owned();
        let known = stored.is_some();
        let stored = stored
            .map(str::to_owned)
            .unwrap_or_else(|| DUMMY_HASH.clone());
        self.run(move || {
            let ok = PasswordHash::new(&stored)
                .map(|parsed| {
                    argon2()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && known
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify_and_dummy_never_matches() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("kuda lumping 77").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("kuda lumping 77", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("kuda lumping 78", Some(&hash)).await.unwrap());
        assert!(!hasher
            .verify("dummy password for timing", None)
            .await
            .unwrap());
    }
}
