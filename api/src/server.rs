//! Starting the service: state, background jobs and the HTTP server. Tests use
//! [`Application::build`] with port 0 to run the real server in-process.

use std::{net::TcpListener, sync::Arc};

use actix_web::{dev::Server, web, HttpServer};
use anyhow::Context;

use crate::{
    accounts::{password::PasswordHasher, secrets::SecretHasher},
    app::{self, AppState},
    auth::jwt::TokenIssuer,
    clock::Clock,
    config::Settings,
    db,
    http::fallback::KnownRoutes,
    integrations::{self, face::FaceAdapter, notify::NotifyAdapter, registry::RegistryAdapter},
    jobs,
};

/// A bound, not yet running server.
pub struct Application {
    pub port: u16,
    pub state: Arc<AppState>,
    server: Server,
}

/// Builds the shared state from settings (pool, clock, adapters).
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let pool = db::build_pool(
        settings.database_url(),
        settings.db_pool_size,
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
    Ok(AppState {
        db: pool,
        pii: settings.pii_keys.cipher(),
        blind: settings.pii_keys.blind_index(),
        registry,
        face,
        tokens: TokenIssuer::new(&settings),
        secrets: SecretHasher::new(settings.token_hash_key.clone()),
        passwords: PasswordHasher::new(settings.password_hash_concurrency),
        settings: Arc::new(settings),
        clock,
        notifier,
        http,
    })
}

impl Application {
    /// Migrates (when configured), builds state and binds the listener.
    /// `run_jobs` starts the background jobs (tests drive them by hand).
    pub async fn build(settings: Settings, run_jobs: bool) -> anyhow::Result<Application> {
        if settings.run_migrations_on_start {
            let applied = db::run_migrations(settings.database_url()).await?;
            if !applied.is_empty() {
                tracing::info!(?applied, "migrations applied");
            }
        }
        let listener = TcpListener::bind((settings.host, settings.port))
            .with_context(|| format!("binding port {}", settings.port))?;
        let port = listener.local_addr()?.port();
        let workers = settings.workers;
        let state = Arc::new(build_state(settings).await?);
        state.clock.spawn_refresher(state.db.clone());
        if run_jobs {
            jobs::spawn_all(state.clone());
        }
        let doc = app::openapi();
        let mut known = KnownRoutes::from_openapi(&doc);
        if !state.settings.is_sandbox() {
            known = known.without_prefix("/v1/sandbox");
        }
        let data = web::Data::from(state.clone());
        let doc = web::Data::new(doc);
        let known = web::Data::new(known);
        let server = HttpServer::new(move || app::build(data.clone(), doc.clone(), known.clone()))
            .workers(workers)
            .shutdown_timeout(30)
            .listen(listener)?
            .run();
        Ok(Application {
            port,
            state,
            server,
        })
    }

    /// Serves until SIGTERM/SIGINT; in-flight requests get 30 s to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
