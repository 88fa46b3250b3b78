//! Starting the service: migrations, state, background jobs and the HTTP server. Tests use
//! [`Application::build`] with port 0 to run the real server in-process.

use std::{net::TcpListener, sync::Arc};

use actix_web::{dev::Server, web, HttpServer};
use anyhow::Context;

use crate::{
    app, config::Settings, db, http::fallback::KnownRoutes, jobs, metrics, state::AppState,
};

/// A bound, not yet running server.
pub struct Application {
    pub port: u16,
    pub state: Arc<AppState>,
    /// The port of `GET /metrics`, when `METRICS_PORT` is set.
    pub metrics_port: Option<u16>,
    server: Server,
    metrics: Option<Server>,
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
        let metrics_listener = match settings.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .with_context(|| format!("binding metrics port {}", addr.1))?,
            ),
            None => None,
        };
        let workers = settings.workers;
        let state = Arc::new(AppState::build(settings).await?);
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
        let (metrics, metrics_port) = match metrics_listener {
            Some(l) => {
                let port = l.local_addr()?.port();
                (Some(metrics::scrape::serve(l, data.clone())?), Some(port))
            }
            None => (None, None),
        };
        // Each worker gets its own pool on its own thread (`AppState::for_worker`).
        let server = HttpServer::new(move || {
            let worker = web::Data::new(data.for_worker());
            app::build(worker, doc.clone(), known.clone())
        })
        .workers(workers)
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            state,
            metrics_port,
            server,
            metrics,
        })
    }

    /// Serves until SIGTERM/SIGINT; in-flight requests get 30 s to finish.
    /// The metrics server stops with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some(metrics) = self.metrics else {
            return self.server.await;
        };
        let handle = metrics.handle();
        let metrics = tokio::spawn(metrics);
        let served = self.server.await;
        handle.stop(true).await;
        let _ = metrics.await;
        served
    }
}
