//! Passwords: the NIST SP 800-63B policy and argon2id hashing on a bounded pool.
//!
//! Hashing costs ~20 ms of one core and 19 MiB; a login storm must queue behind a
//! semaphore sized to the cores instead of piling unbounded work onto the
//! blocking pool, and never run on the async executor threads.

use std::{
    collections::HashSet,
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

/// Shortest accepted password (characters).
pub const MIN_LEN: usize = 8;
/// Longest accepted password (characters); bounds hashing work per request.
pub const MAX_LEN: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .collect()
});

/// Why a password is refused (422 `weak_password`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("must be at least 8 characters")]
    TooShort,
    #[error("must be at most 128 characters")]
    TooLong,
    #[error("is too common or appears in known data breaches; choose another")]
    Common,
    #[error("must not contain your email address")]
    ContainsEmail,
}

impl From<WeakPassword> for ApiError {
    fn from(e: WeakPassword) -> Self {
        ApiError::new(ErrorCode::WeakPassword)
            .detail(format!("The password {e}."))
            .with_errors(vec![crate::error::FieldError {
                field: "password".into(),
                message: e.to_string(),
            }])
    }
}

/// NIST SP 800-63B: length 8–128, not common or breached, not the account's own
/// email; no composition rules. `email` is the normalised account email.
pub fn check_policy(password: &str, email: &str) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(WeakPassword::TooShort);
    }
    if chars > MAX_LEN {
        return Err(WeakPassword::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err(WeakPassword::Common);
    }
    let local = email.split('@').next().unwrap_or_default();
    if lower.contains(email) || (local.chars().count() >= 4 && lower.contains(local)) {
        return Err(WeakPassword::ContainsEmail);
    }
    Ok(())
}

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

    #[test]
    fn policy_follows_nist_without_composition_rules() {
        let email = "budi.santoso@example.com";
        let cases = [
            ("short12", Err(WeakPassword::TooShort)),
            ("ramping8", Ok(())),
            ("all lowercase words are fine", Ok(())),
            ("password", Err(WeakPassword::Common)),
            ("PassWord123", Err(WeakPassword::Common)),
            ("prakerja123", Err(WeakPassword::Common)),
            ("x-budi.santoso-9", Err(WeakPassword::ContainsEmail)),
        ];
        for (pw, want) in cases {
            assert_eq!(check_policy(pw, email), want, "{pw}");
        }
        assert_eq!(check_policy(&"a".repeat(128), email), Ok(()));
        assert_eq!(
            check_policy(&"a".repeat(129), email),
            Err(WeakPassword::TooLong)
        );
        // Length counts characters, not bytes.
        assert_eq!(check_policy("ééééééé", email), Err(WeakPassword::TooShort));
    }

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
