//! Password hashing: argon2id on a dedicated, bounded pool (the policy itself
//! is an account rule, `accounts::password`).
//!
//! Hashing costs ~20 ms of one core and 19 MiB. A login storm must neither
//! starve the other requests nor pile up without limit:
//! - hashing runs on threads of its own (never the async executor or the shared
//!   blocking pool), as many as `PASSWORD_HASH_CONCURRENCY`, at a lower CPU
//!   priority (Linux nice 10), so a busy hasher yields the cores to the
//!   requests that only read or write the database;
//! - requests beyond those threads wait in a bounded queue (four per thread,
//!   and room for at least the lock-out's ten wrong passwords: about 80 to
//!   200 ms of work), and beyond that are answered at once with 429
//!   `rate_limited` and a Retry-After, instead of queueing for seconds; a
//!   login takes its place before it touches the database.

use std::{
    cell::RefCell,
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc, Arc, LazyLock, Mutex,
    },
};

use argon2::{
    password_hash::{self, rand_core::OsRng, PasswordHash, PasswordHasher as _, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use tokio::sync::oneshot;

use crate::error::{ApiError, ErrorCode};

/// Requests that may wait for a hashing thread, per thread.
const QUEUE_PER_THREAD: usize = 4;

/// argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password on the calling thread (for tools and benchmarks that
/// need the application's exact hashing; servers use [`PasswordHasher`]).
pub fn hash_blocking(password: &str) -> Result<String, ApiError> {
    argon2()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
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

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on its own threads, a bounded number at once.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::SyncSender<Job>,
    /// Requests admitted and not finished (hashing or queued).
    admitted: Arc<AtomicUsize>,
    capacity: usize,
}

impl PasswordHasher {
    /// `concurrency` hashing threads (usually the number of cores), admitting
    /// at least `admit_at_least` requests at once (the lock-out's wrong
    /// passwords: a burst at one account must be able to reach its lock-out,
    /// however few threads hash).
    pub fn new(concurrency: usize, admit_at_least: usize) -> Self {
        let threads = concurrency.max(1);
        let capacity = (threads * (1 + QUEUE_PER_THREAD)).max(admit_at_least);
        let (jobs, queue) = mpsc::sync_channel::<Job>(capacity);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // every sender dropped
                        }
                    }
                })
                .expect("spawning a hashing thread");
        }
        PasswordHasher {
            jobs,
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity,
        }
    }

    /// Takes a place among the requests admitted to hashing: the hashing
    /// threads plus a short queue; past that the caller is told to come back
    /// in a second. A login takes it before anything else, so a storm beyond
    /// what the cores can hash is answered 429 at once, without a write.
    pub fn admit(&self) -> Result<Admission, ApiError> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        Ok(Admission(self.admitted.clone()))
    }

    async fn run<T: Send + 'static>(
        &self,
        admission: Admission,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let out = work();
            drop(admission);
            let _ = tx.send(out);
        });
        // Never blocks: admission keeps the queue below its capacity.
        self.jobs.try_send(job).map_err(|_| busy())?;
        rx.await.map_err(ApiError::internal)
    }

    /// Hashes a new password (PHC string with salt and parameters).
    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        let admission = self.admit()?;
        self.run(admission, move || hash_blocking(&password))
            .await?
    }

    /// Checks a password against a stored hash, in the place `admission`
    /// holds; `None` verifies a dummy hash (always false) to keep timing the
    /// same for unknown accounts.
    pub async fn verify(
        &self,
        admission: Admission,
        password: &str,
        stored: Option<&str>,
    ) -> Result<bool, ApiError> {
        let password = password.to_owned();
        let known = stored.is_some();
        let stored = stored
            .map(str::to_owned)
            .unwrap_or_else(|| DUMMY_HASH.clone());
        self.run(admission, move || {
            verify_on_this_thread(password.as_bytes(), &stored) && known
        })
        .await
    }
}

thread_local! {
    /// The argon2 working memory of this hashing thread (19 MiB), kept from
    /// one verification to the next. Allocated afresh for every hash, glibc
    /// hands each 19 MiB back to the kernel and faults it in again page by
    /// page the next time: that doubled the CPU cost of a login (half of it
    /// in the kernel) and left the hashing threads' arenas holding memory
    /// anyway. What stays here after a verification is derived from the
    /// password and salt only as the stored hash is, which the process holds
    /// already.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Verifies `password` against a PHC string on the calling thread, with this
/// thread's kept working memory; what `PasswordVerifier::verify_password`
/// does, with the stored hash's own algorithm, version and parameters, and
/// the same constant-time comparison of the outputs (`password_hash::Output`).
fn verify_on_this_thread(password: &[u8], stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), Params::try_from(&hash))
    else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    BLOCKS.with_borrow_mut(|memory| {
        memory.resize(blocks, Block::default());
        let computed = password_hash::Output::init_with(expected.len(), |out| {
            argon2
                .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
                .map_err(|_| password_hash::Error::Crypto)
        });
        computed.is_ok_and(|computed| computed == expected)
    })
}

/// A place among the requests admitted to hashing ([`PasswordHasher::admit`]),
/// given back when dropped: once the hash is done, or when the request ends
/// before it.
pub struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// 429 `rate_limited`: the hashing queue is full. It drains in well under a
/// second (a few hashes per thread of about 20 ms each): come back in one.
fn busy() -> ApiError {
    ApiError::new(ErrorCode::RateLimited)
        .detail("Too many logins at once; retry after the time in Retry-After.")
        .retry_after(1)
}

/// Gives the calling thread a lower CPU priority (Linux: per thread), so
/// hashing takes the cores only when the request handlers leave them idle.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with PRIO_PROCESS and the calling thread's id only
    // changes that thread's nice value; it reads and writes no memory of ours.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify_and_dummy_never_matches() {
        let hasher = PasswordHasher::new(2, 0);
        let hash = hasher.hash("kuda lumping 77").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let verify = |password: &'static str, stored: Option<String>| {
            let hasher = hasher.clone();
            async move {
                let admission = hasher.admit().unwrap();
                hasher
                    .verify(admission, password, stored.as_deref())
                    .await
                    .unwrap()
            }
        };
        assert!(verify("kuda lumping 77", Some(hash.clone())).await);
        assert!(!verify("kuda lumping 78", Some(hash)).await);
        assert!(!verify("dummy password for timing", None).await);
    }

    /// The kept-memory verifier answers as the crate's own verifier does,
    /// for hashes of other parameters too (older hashes keep theirs), one
    /// after another on one thread (the memory is resized between them).
    #[test]
    fn kept_memory_verification_agrees_with_the_crate() {
        use argon2::password_hash::PasswordVerifier;
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let other = small
            .hash_password(b"pisang goreng", &salt)
            .unwrap()
            .to_string();
        let ours = hash_blocking("pisang goreng").unwrap();
        for stored in [&ours, &other, &ours] {
            let parsed = PasswordHash::new(stored).unwrap();
            for guess in ["pisang goreng", "pisang gorenk", ""] {
                assert_eq!(
                    verify_on_this_thread(guess.as_bytes(), stored),
                    argon2().verify_password(guess.as_bytes(), &parsed).is_ok(),
                    "{guess:?} against {stored}"
                );
            }
        }
        assert!(!verify_on_this_thread(b"x", "not a phc string"));
    }
}
