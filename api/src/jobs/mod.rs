//! Background jobs. Each runs on an interval inside `serve` and can be run at
//! once through `POST /v1/sandbox/jobs/{name}`. Jobs claim their rows with
//! `FOR UPDATE SKIP LOCKED` or conditional updates, so several instances may run
//! the same job at the same time without doing any work twice.

use std::{sync::Arc, time::Duration};

use serde_json::Value;

use crate::{notifications::outbox, state::AppState};

/// The jobs this service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Sends queued notifications through the gateway, with retries and backoff.
    DeliverNotifications,
    /// Deletes what every growing table keeps past its retention (`retention`).
    PurgeExpiredRecords,
    /// Deactivates cards whose first-purchase deadline has passed.
    DeactivateExpiredCards,
    /// Expires webinar and offline purchases not redeemed in their window.
    ExpirePurchases,
    /// Schedules the incentive of every finished first training without one.
    ScheduleIncentives,
    /// Pays due incentives (attempts, sends, retries with backoff).
    DisburseIncentives,
    /// Settles attempts whose callback never came, from the provider's status.
    ReconcileDisbursements,
}

impl Job {
    /// Every job, in the order they are listed.
    pub const ALL: &'static [Job] = &[
        Job::DeliverNotifications,
        Job::PurgeExpiredRecords,
        Job::DeactivateExpiredCards,
        Job::ExpirePurchases,
        Job::ScheduleIncentives,
        Job::DisburseIncentives,
        Job::ReconcileDisbursements,
    ];

    /// The job's name in URLs and logs.
    pub fn name(self) -> &'static str {
        match self {
            Job::DeliverNotifications => "deliver_notifications",
            Job::PurgeExpiredRecords => "purge_expired_data",
            Job::DeactivateExpiredCards => "deactivate_expired_cards",
            Job::ExpirePurchases => "expire_purchases",
            Job::ScheduleIncentives => "schedule_incentives",
            Job::DisburseIncentives => "disburse_incentives",
            Job::ReconcileDisbursements => "reconcile_disbursements",
        }
    }

    /// Looks a job up by name.
    pub fn from_name(name: &str) -> Option<Job> {
        Job::ALL.iter().copied().find(|j| j.name() == name)
    }

    fn interval(self, state: &AppState) -> Duration {
        match self {
            Job::DeliverNotifications => state.settings.job_interval_deliver_notifications,
            Job::PurgeExpiredRecords => state.settings.job_interval_purge_expired_records,
            Job::DeactivateExpiredCards => state.settings.job_interval_deactivate_expired_cards,
            Job::ExpirePurchases => state.settings.job_interval_expire_purchases,
            Job::ScheduleIncentives => state.settings.job_interval_schedule_incentives,
            Job::DisburseIncentives => state.settings.job_interval_disburse_incentives,
            Job::ReconcileDisbursements => state.settings.job_interval_reconcile_disbursements,
        }
    }

    /// Runs the job once and reports what it did; counted in the metrics.
    pub async fn run(self, state: &AppState) -> anyhow::Result<Value> {
        let started = std::time::Instant::now();
        let result = self.run_once(state).await;
        let ok = result.is_ok();
        state
            .metrics
            .job_finished(self.name(), ok, started.elapsed());
        result
    }

    async fn run_once(self, state: &AppState) -> anyhow::Result<Value> {
        let mut conn = state.db.get().await?;
        match self {
            Job::DeliverNotifications => {
                let clock = state.clock.clone();
                let report = outbox::deliver_due(
                    &mut conn,
                    &state.notifier,
                    || clock.now(),
                    !state.settings.is_sandbox(),
                )
                .await?;
                Ok(serde_json::to_value(report)?)
            }
            Job::PurgeExpiredRecords => {
                let report = crate::retention::purge_expired_data(
                    &mut conn,
                    state.clock.now(),
                    state.clock.security_now(),
                )
                .await?;
                Ok(serde_json::to_value(report)?)
            }
            Job::DeactivateExpiredCards => {
                let report = crate::card::expiry::deactivate_expired_cards(
                    &mut conn,
                    state.clock.now(),
                    state.clock.today_jakarta(),
                )
                .await?;
                Ok(serde_json::to_value(report)?)
            }
            Job::ExpirePurchases => {
                let report =
                    crate::purchases::redemption::expire_purchases(&mut conn, state.clock.now())
                        .await?;
                Ok(serde_json::to_value(report)?)
            }
            Job::ScheduleIncentives => {
                let report =
                    crate::incentives::schedule::schedule_due(&mut conn, state.clock.now()).await?;
                Ok(serde_json::to_value(report)?)
            }
            Job::DisburseIncentives => {
                let deps = crate::incentives::disburse::PayoutDeps {
                    payout: &state.payout,
                    pii: &state.pii,
                };
                let report = crate::incentives::disburse::disburse_due(
                    &mut conn,
                    deps,
                    state.clock.now(),
                    state.clock.today_jakarta(),
                )
                .await?;
                Ok(serde_json::to_value(report)?)
            }
            Job::ReconcileDisbursements => {
                let stale_after = chrono::TimeDelta::from_std(state.settings.reconcile_after)?;
                let report = crate::incentives::disburse::reconcile(
                    &mut conn,
                    &state.payout,
                    state.clock.now(),
                    stale_after,
                )
                .await?;
                Ok(serde_json::to_value(report)?)
            }
        }
    }
}

/// Starts every job on its interval. Failures are logged and retried next tick.
pub fn spawn_all(state: Arc<AppState>) {
    for job in Job::ALL.iter().copied() {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(job.interval(&state));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match job.run(&state).await {
                    Ok(report) => tracing::debug!(job = job.name(), %report, "job ran"),
                    Err(e) => {
                        tracing::error!(job = job.name(), error = %format!("{e:#}"), "job failed")
                    }
                }
            }
        });
    }
}
