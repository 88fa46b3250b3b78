//! Operational metrics in the Prometheus text format, served at `GET /metrics` on
//! a listener of its own (`METRICS_PORT`), never on the public port.
//!
//! Each instance owns its [`Metrics`] (a registry in the state, not a global), so
//! that several instances in one process — the test suite — each report their own
//! figures. Labels are route templates, methods, statuses and job names: never an
//! id, an address or anything a participant typed.
//!
//! Counters and histograms are updated where things happen (the request
//! middleware in [`http`], [`Metrics::job_finished`]); gauges of shared state
//! (pool, outbox) are read when scraped ([`scrape`]).

pub mod http;
pub mod scrape;

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use prometheus::{
    Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Latency buckets in seconds: fine below 10 ms (the `GET /v1/me` target), up to
/// the 10 s statement timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Job durations run from milliseconds (an empty outbox) to minutes (a sweep).
const JOB_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0];

/// Every figure this instance reports.
pub struct Metrics {
    registry: Registry,
    started: Instant,
    pub(crate) http_requests: IntCounterVec,
    pub(crate) http_duration: HistogramVec,
    pub(crate) login_rate_limited: IntCounterVec,
    job_runs: IntCounterVec,
    job_duration: HistogramVec,
    job_lag: GaugeVec,
    /// When each job last finished without error (monotonic: a moved sandbox
    /// clock must not make a job look late or early to the operator).
    last_success: Mutex<HashMap<&'static str, Instant>>,
    pub(crate) pool_max: IntGauge,
    pub(crate) pool_size: IntGauge,
    pub(crate) pool_in_use: IntGauge,
    pub(crate) pool_waiting: IntGauge,
    pub(crate) outbox_backlog: IntGaugeVec,
    pub(crate) outbox_oldest_age: Gauge,
    pub(crate) disbursements: IntGaugeVec,
    pub(crate) database_up: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Metrics {
        let registry =
            Registry::new_custom(Some("prakerja".into()), None).expect("a static prefix is valid");
        let m = Metrics {
            started: Instant::now(),
            http_requests: IntCounterVec::new(
                Opts::new("http_requests_total", "HTTP requests answered, by route template and status"),
                &["method", "route", "status"],
            )
            .expect("valid metric"),
            http_duration: HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "Time from receiving a request to its response head, by route template and status",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["method", "route", "status"],
            )
            .expect("valid metric"),
            login_rate_limited: IntCounterVec::new(
                Opts::new(
                    "login_rate_limited_total",
                    "Login requests answered 429 (per-account, per-IP or lock-out limits), by route",
                ),
                &["route"],
            )
            .expect("valid metric"),
            job_runs: IntCounterVec::new(
                Opts::new("job_runs_total", "Background job runs, by job and outcome (ok, error)"),
                &["job", "outcome"],
            )
            .expect("valid metric"),
            job_duration: HistogramVec::new(
                HistogramOpts::new("job_duration_seconds", "Duration of background job runs")
                    .buckets(JOB_BUCKETS.to_vec()),
                &["job"],
            )
            .expect("valid metric"),
            job_lag: GaugeVec::new(
                Opts::new(
                    "job_lag_seconds",
                    "Seconds since the job last finished without error on this instance \
                     (since start-up when it has not yet)",
                ),
                &["job"],
            )
            .expect("valid metric"),
            last_success: Mutex::new(HashMap::new()),
            pool_max: IntGauge::new("db_pool_max_connections", "Configured size of the database pools (the jobs' and every worker's)")
                .expect("valid metric"),
            pool_size: IntGauge::new("db_pool_connections", "Open database connections in the pools")
                .expect("valid metric"),
            pool_in_use: IntGauge::new(
                "db_pool_connections_in_use",
                "Database connections checked out of the pools",
            )
            .expect("valid metric"),
            pool_waiting: IntGauge::new(
                "db_pool_waiters",
                "Requests and jobs waiting for a database connection",
            )
            .expect("valid metric"),
            outbox_backlog: IntGaugeVec::new(
                Opts::new(
                    "outbox_backlog",
                    "Notifications not yet delivered, by status (queued, sending)",
                ),
                &["status"],
            )
            .expect("valid metric"),
            outbox_oldest_age: Gauge::new(
                "outbox_oldest_age_seconds",
                "Age (service clock) of the oldest notification not yet delivered; 0 when none",
            )
            .expect("valid metric"),
            disbursements: IntGaugeVec::new(
                Opts::new(
                    "disbursements",
                    "Incentive installments not yet paid, by state (awaiting_payout_account, \
                     scheduled, processing, failed); paid ones are in the ledger",
                ),
                &["state"],
            )
            .expect("valid metric"),
            database_up: IntGauge::new(
                "database_up",
                "1 when the scrape could read the database, 0 when it could not",
            )
            .expect("valid metric"),
            registry,
        };
        m.register_all();
        m
    }

    fn register_all(&self) {
        let r = &self.registry;
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.http_requests.clone()),
            Box::new(self.http_duration.clone()),
            Box::new(self.login_rate_limited.clone()),
            Box::new(self.job_runs.clone()),
            Box::new(self.job_duration.clone()),
            Box::new(self.job_lag.clone()),
            Box::new(self.pool_max.clone()),
            Box::new(self.pool_size.clone()),
            Box::new(self.pool_in_use.clone()),
            Box::new(self.pool_waiting.clone()),
            Box::new(self.outbox_backlog.clone()),
            Box::new(self.outbox_oldest_age.clone()),
            Box::new(self.disbursements.clone()),
            Box::new(self.database_up.clone()),
        ];
        for c in collectors {
            r.register(c).expect("each metric is registered once");
        }
    }

    /// Records one run of a background job.
    pub fn job_finished(&self, job: &'static str, ok: bool, took: Duration) {
        let outcome = if ok { "ok" } else { "error" };
        self.job_runs.with_label_values(&[job, outcome]).inc();
        self.job_duration
            .with_label_values(&[job])
            .observe(took.as_secs_f64());
        if ok {
            self.last_success
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(job, Instant::now());
        }
    }

    /// Sets the lag gauge of each job in `jobs` from its last success.
    pub(crate) fn update_job_lag(&self, jobs: &[&'static str]) {
        let last = self.last_success.lock().unwrap_or_else(|p| p.into_inner());
        for job in jobs {
            let since = last.get(job).copied().unwrap_or(self.started);
            self.job_lag
                .with_label_values(&[job])
                .set(since.elapsed().as_secs_f64());
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let families = self.registry.gather();
        prometheus::TextEncoder::new()
            .encode_to_string(&families)
            .unwrap_or_else(|e| format!("# encoding failed: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_report_runs_and_lag_from_their_last_success() {
        let m = Metrics::new();
        m.update_job_lag(&["a"]);
        m.job_finished("a", false, Duration::from_millis(3));
        m.job_finished("a", true, Duration::from_millis(3));
        m.update_job_lag(&["a"]);
        let text = m.render();
        assert!(text.contains("prakerja_job_runs_total{job=\"a\",outcome=\"ok\"} 1"));
        assert!(text.contains("prakerja_job_runs_total{job=\"a\",outcome=\"error\"} 1"));
        let lag: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("prakerja_job_lag_seconds{job=\"a\"} "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(lag < 1.0, "lag just after a success: {lag}");
    }
}
