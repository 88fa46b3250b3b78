//! Retention (issue 14, OWASP API4:2023): every table that grows with traffic
//! is purged by the `purge_expired_data` job, so none grows without bound.
//!
//! | table | kept | why that long |
//! |---|---|---|
//! | `rate_limit_events` | 25 hours | longer than the longest window (24 h) |
//! | `request_counts` | 1 hour | the per-IP window is one minute |
//! | `idempotency_keys` | 48 hours | API.md: at least 24 hours |
//! | `otp_challenges` | 24 hours after expiry | a code lives minutes; budgets live in `rate_limit_events` |
//! | `account_tokens` | 24 hours after expiry | links live 1 h (reset) or 24 h (verification) |
//! | `sessions`, `refresh_tokens` | 30 days after the session ended or expired | reuse detection ends with the session; a month for investigations |
//! | `notifications` | 7 days after sent or failed for good | their bodies are scrubbed when they finish; the rows show delivery history |
//! | `report_attachments` | 90 days after the report closed | KTP, KK and selfies: long enough for an appeal, no longer (the report and its thread stay) |
//!
//! Each table is purged in batches of [`BATCH`] rows, each batch its own short
//! statement, picking rows with `FOR UPDATE SKIP LOCKED`: no purge holds a lock
//! for long, waits for a row a request holds, or collides with a second
//! instance purging at the same time. Times are the service clock, except for
//! sessions, whose lifetimes are real time (API.md: Time).

use chrono::{DateTime, TimeDelta, Utc};
use diesel::{sql_query, sql_types::Timestamptz, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

/// Rows deleted per statement.
pub const BATCH: i64 = 1000;

/// Retention of rate-limit events: longer than any window in use.
pub const RATE_LIMIT_EVENTS: TimeDelta = crate::ratelimit::RETENTION;
/// Retention of per-IP request counters.
pub const REQUEST_COUNTS: TimeDelta = TimeDelta::hours(1);
/// Retention of idempotency keys (API.md: at least 24 hours).
pub const IDEMPOTENCY_KEYS: TimeDelta = crate::idempotency::RETENTION;
/// How long an expired code or link is kept.
pub const EXPIRED_SECRETS: TimeDelta = TimeDelta::hours(24);
/// How long a finished session (and its refresh tokens) is kept.
pub const FINISHED_SESSIONS: TimeDelta = TimeDelta::days(30);
/// How long a delivered or dead notification is kept.
pub const FINISHED_NOTIFICATIONS: TimeDelta = TimeDelta::days(7);

/// What one run deleted, per table.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub rate_limit_events: usize,
    pub request_counts: usize,
    pub idempotency_keys: usize,
    pub otp_challenges: usize,
    pub account_tokens: usize,
    pub refresh_tokens: usize,
    pub sessions: usize,
    pub notifications: usize,
    pub report_attachments: usize,
}

/// Deletes, batch by batch, the rows of `table` that `condition` (with `$1` the
/// cutoff) selects.
async fn purge(
    conn: &mut AsyncPgConnection,
    table: &str,
    condition: &str,
    cutoff: DateTime<Utc>,
) -> QueryResult<usize> {
    let sql = format!(
        "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} t WHERE {condition} \
         LIMIT {BATCH} FOR UPDATE SKIP LOCKED))"
    );
    let mut total = 0;
    loop {
        let deleted = sql_query(&sql)
            .bind::<Timestamptz, _>(cutoff)
            .execute(conn)
            .await?;
        total += deleted;
        if (deleted as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// One run of the job. `now` is the service clock, `real_now` real time.
pub async fn purge_expired_data(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    real_now: DateTime<Utc>,
) -> QueryResult<Report> {
    Ok(Report {
        rate_limit_events: purge(
            conn,
            "rate_limit_events",
            "t.occurred_at < $1",
            now - RATE_LIMIT_EVENTS,
        )
        .await?,
        request_counts: purge(
            conn,
            "request_counts",
            "t.window_start < $1",
            now - REQUEST_COUNTS,
        )
        .await?,
        idempotency_keys: purge(
            conn,
            "idempotency_keys",
            "t.created_at < $1",
            now - IDEMPOTENCY_KEYS,
        )
        .await?,
        otp_challenges: purge(
            conn,
            "otp_challenges",
            "t.expires_at < $1",
            now - EXPIRED_SECRETS,
        )
        .await?,
        account_tokens: purge(
            conn,
            "account_tokens",
            "t.expires_at < $1",
            now - EXPIRED_SECRETS,
        )
        .await?,
        // Tokens first: a session goes once no token points at it.
        refresh_tokens: purge(
            conn,
            "refresh_tokens",
            "t.session_id IN (SELECT s.id FROM sessions s WHERE LEAST(s.ended_at, s.expires_at) < $1)",
            real_now - FINISHED_SESSIONS,
        )
        .await?,
        sessions: purge(
            conn,
            "sessions",
            "LEAST(t.ended_at, t.expires_at) < $1 \
             AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = t.id)",
            real_now - FINISHED_SESSIONS,
        )
        .await?,
        notifications: purge(
            conn,
            "notifications",
            "t.status IN ('sent', 'failed') AND t.created_at < $1",
            now - FINISHED_NOTIFICATIONS,
        )
        .await?,
        report_attachments: purge(
            conn,
            "report_attachments",
            "t.report_id IN (SELECT r.id FROM reports r WHERE r.closed_at < $1)",
            now - crate::reports::rules::ATTACHMENT_RETENTION,
        )
        .await?,
    })
}
