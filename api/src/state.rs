//! The shared state: the pool, the clock, the settings and the collaborators
//! (hashers, ciphers, outside-service adapters), built once at start-up.
//!
//! It sits below every domain: handlers borrow from it what a domain function
//! needs and pass that along, so domain functions take a connection and their
//! collaborators, never the state, and a job, a benchmark or the CLI can call
//! them without building the web app. Nothing here imports a domain.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

use anyhow::Context;

use crate::{
    auth::jwt::TokenIssuer,
    clock::Clock,
    config::Settings,
    crypto::{BlindIndex, PiiCipher},
    db::{self, DbPool, WeakDbPool},
    integrations::{
        self, face::FaceAdapter, notify::NotifyAdapter, payout::PayoutAdapter,
        registry::RegistryAdapter,
    },
    metrics::Metrics,
    secrets::{passwords::PasswordHasher, SecretHasher},
};

/// Everything a handler or job needs. One per HTTP worker
/// ([`AppState::for_worker`]), alike but for its pool; the built one is the
/// background jobs'.
#[derive(Clone)]
pub struct AppState {
    /// This worker's pool (the jobs' pool in the state [`AppState::build`] returns).
    pub db: DbPool,
    /// Every pool of the instance, the jobs' first, for `GET /metrics`; weak,
    /// so the pool of a worker that has ended closes with it.
    pub pools: Arc<Mutex<Vec<WeakDbPool>>>,
    /// The workers' shares of `DATABASE_POOL_SIZE`, and how many are taken.
    worker_shares: Arc<(Vec<usize>, AtomicUsize)>,
    pub settings: Arc<Settings>,
    pub clock: Clock,
    pub notifier: NotifyAdapter,
    /// Shared client for outside services (timeouts set from the settings).
    pub http: reqwest::Client,
    /// Access-token signing and checking.
    pub tokens: TokenIssuer,
    /// Keyed hashing of codes and tokens.
    pub secrets: SecretHasher,
    /// argon2id on a bounded blocking pool.
    pub passwords: PasswordHasher,
    /// Encryption of personal data at rest.
    pub pii: PiiCipher,
    /// Keyed blind indexes for look-ups of encrypted values.
    pub blind: BlindIndex,
    /// Population registry adapter.
    pub registry: RegistryAdapter,
    /// Face service adapter.
    pub face: FaceAdapter,
    /// Payout provider adapter.
    pub payout: PayoutAdapter,
    /// This instance's operational metrics (`GET /metrics`).
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Builds the state from settings: the pool, the clock (sandbox: the stored
    /// offset) and an adapter per outside service (sandbox: simulated when its
    /// URL is unset).
    pub async fn build(settings: Settings) -> anyhow::Result<AppState> {
        let (jobs, workers) = db::pool_shares(settings.db_pool_size, settings.workers);
        let pool = db::build_pool(
            settings.database_url(),
            jobs,
            settings.db_pool_timeout,
            settings.db_statement_timeout,
        )?;
        let clock = if settings.is_sandbox() {
            let mut conn = pool.get().await.context("connecting to the database")?;
            Clock::sandbox(&mut conn).await?
        } else {
            Clock::real()
        };
        let http = integrations::http_client(settings.integration_timeout);
        let notifier = match &settings.notify {
            Some(endpoint) => NotifyAdapter::Http {
                client: http.clone(),
                endpoint: endpoint.clone(),
            },
            None => NotifyAdapter::Sandbox,
        };
        let registry = match &settings.registry {
            Some(endpoint) => RegistryAdapter::Http {
                client: http.clone(),
                endpoint: endpoint.clone(),
            },
            None => RegistryAdapter::Sandbox,
        };
        let face = match &settings.face {
            Some(endpoint) => FaceAdapter::Http {
                client: http.clone(),
                endpoint: endpoint.clone(),
            },
            None => FaceAdapter::Sandbox,
        };
        let payout = match &settings.payout {
            Some(endpoint) => PayoutAdapter::Http {
                client: http.clone(),
                endpoint: endpoint.clone(),
            },
            None => PayoutAdapter::Sandbox,
        };
        Ok(AppState {
            pools: Arc::new(Mutex::new(vec![pool.weak()])),
            worker_shares: Arc::new((workers, AtomicUsize::new(0))),
            db: pool,
            payout,
            pii: settings.pii_keys.cipher(),
            blind: settings.pii_keys.blind_index(),
            registry,
            face,
            metrics: Arc::new(Metrics::new()),
            tokens: TokenIssuer::new(&settings),
            secrets: SecretHasher::new(settings.token_hash_key.clone()),
            passwords: PasswordHasher::new(
                settings.password_hash_concurrency,
                usize::try_from(crate::accounts::rules::LOGIN_FAILURES.max).unwrap_or(10),
            ),
            settings: Arc::new(settings),
            clock,
            notifier,
            http,
        })
    }

    /// The state of one HTTP worker: the same collaborators with a pool of
    /// its own, sized by [`db::pool_shares`]. Called on the worker's thread
    /// (the app factory), so its connections are driven there.
    pub fn for_worker(&self) -> AppState {
        let (shares, taken) = &*self.worker_shares;
        let n = taken.fetch_add(1, Ordering::Relaxed);
        // A worker started beyond the planned count (actix restarts one that
        // panicked) takes the smallest share again.
        let size = shares.get(n).or(shares.last()).copied().unwrap_or(1);
        let pool = match db::build_pool(
            self.settings.database_url(),
            size,
            self.settings.db_pool_timeout,
            self.settings.db_statement_timeout,
        ) {
            Ok(pool) => pool,
            Err(e) => {
                tracing::error!(error = %e, "no pool of its own for a worker; it shares the jobs' pool");
                return self.clone();
            }
        };
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.retain(|p| p.upgrade().is_some());
        pools.push(pool.weak());
        drop(pools);
        AppState {
            db: pool,
            ..self.clone()
        }
    }
}
