//! `GET /metrics`: the gauges of shared state are read at scrape time (pool
//! status, outbox backlog, unpaid installments), then every metric is rendered. It is served by a
//! server of its own on `METRICS_HOST:METRICS_PORT`, so the public listener and
//! its load balancer never expose it.

use std::{net::TcpListener, time::Duration};

use actix_web::{dev::Server, web, App, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use diesel::{
    sql_types::{BigInt, Nullable, Timestamptz},
    QueryableByName,
};
use diesel_async::RunQueryDsl;

use crate::{jobs::Job, state::AppState};

/// A scrape must answer even while the database does not.
const DATABASE_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The content type of the Prometheus text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    queued: i64,
    #[diesel(sql_type = BigInt)]
    sending: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest: Option<DateTime<Utc>>,
}

/// The undelivered notifications (read through the partial index of due rows).
async fn outbox_backlog(state: &AppState) -> anyhow::Result<Backlog> {
    let mut conn = state.db.get().await?;
    let backlog = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE status = 'queued') AS queued, \
                count(*) FILTER (WHERE status = 'sending') AS sending, \
                min(created_at) AS oldest \
           FROM notifications WHERE status IN ('queued', 'sending')",
    )
    .get_result(&mut conn)
    .await?;
    Ok(backlog)
}

#[derive(QueryableByName)]
struct StateCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The incentive states still owed money are read through a partial index of
/// the unpaid rows (paid ones, the great majority in time, are never scanned).
const OWED_STATES: [&str; 4] = [
    "awaiting_payout_account",
    "scheduled",
    "processing",
    "failed",
];

/// The outbox backlog and the unpaid installments by state, on one connection.
async fn shared_state(state: &AppState) -> anyhow::Result<(Backlog, Vec<StateCount>)> {
    let backlog = outbox_backlog(state).await?;
    let mut conn = state.db.get().await?;
    let owed = diesel::sql_query(
        "SELECT status, count(*) AS n FROM incentives WHERE status <> 'paid' GROUP BY status",
    )
    .load(&mut conn)
    .await?;
    Ok((backlog, owed))
}

/// Refreshes the gauges and renders every metric.
pub async fn render(state: &AppState) -> String {
    let m = &state.metrics;
    // The instance's pools (the jobs' and each worker's) as one, read before
    // the scrape takes a connection of its own.
    let (mut max, mut size, mut in_use, mut waiting) = (0, 0, 0, 0);
    let pools: Vec<_> = {
        let weak = state.pools.lock().unwrap_or_else(|e| e.into_inner());
        weak.iter().filter_map(|p| p.upgrade()).collect()
    };
    for status in pools.iter().map(|p| p.status()) {
        max += status.max_size;
        size += status.size;
        in_use += status.size.saturating_sub(status.available);
        waiting += status.waiting;
    }
    drop(pools);
    m.pool_max.set(max as i64);
    m.pool_size.set(size as i64);
    m.pool_in_use.set(in_use as i64);
    m.pool_waiting.set(waiting as i64);
    m.update_job_lag(&Job::ALL.iter().map(|j| j.name()).collect::<Vec<_>>());
    match tokio::time::timeout(DATABASE_READ_TIMEOUT, shared_state(state)).await {
        Ok(Ok((backlog, owed))) => {
            for name in OWED_STATES {
                let n = owed.iter().find(|c| c.status == name).map_or(0, |c| c.n);
                m.disbursements.with_label_values(&[name]).set(n);
            }
            m.database_up.set(1);
            m.outbox_backlog
                .with_label_values(&["queued"])
                .set(backlog.queued);
            m.outbox_backlog
                .with_label_values(&["sending"])
                .set(backlog.sending);
            let age = backlog.oldest.map_or(0.0, |oldest| {
                (state.clock.now() - oldest).num_milliseconds().max(0) as f64 / 1000.0
            });
            m.outbox_oldest_age.set(age);
        }
        failed => {
            // The last figures stay; `database_up` says they are stale.
            let error = match failed {
                Ok(Err(e)) => format!("{e:#}"),
                _ => "timed out".to_owned(),
            };
            tracing::warn!(%error, "metrics: reading the outbox backlog and disbursements failed");
            m.database_up.set(0);
        }
    }
    m.render()
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(render(&state).await)
}

/// The metrics server on its own listener: one worker, no signal handling of
/// its own (it stops with the main server, see `server`).
pub fn serve(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}
