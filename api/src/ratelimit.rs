//! The shared rate limiter: a sliding-window log in Postgres, so every instance
//! sees the same counts. A bucket is a string such as `login_fail:acct:{id}`;
//! each counted event is a row. Checks and records for one bucket are serialised
//! with a transaction-scoped advisory lock, so racing requests cannot both take
//! the last slot.

use std::net::IpAddr;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use diesel::{dsl::count_star, prelude::*, sql_types::Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::{
    db::{
        prepared,
        schema::{rate_limit_events, request_counts},
        Reader,
    },
    error::{ApiError, ErrorCode},
};

/// Events older than this are purged (longer than any window in use).
pub const RETENTION: TimeDelta = TimeDelta::hours(25);

/// A limit: at most `max` events in any `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: i64,
    pub window: TimeDelta,
}

/// The answer when a bucket is full: when a slot frees up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub retry_after_secs: u64,
}

impl Exceeded {
    /// A 429 with `code` and `Retry-After`.
    pub fn into_error(self, code: ErrorCode) -> ApiError {
        ApiError::new(code).retry_after(self.retry_after_secs)
    }
}

impl From<Exceeded> for ApiError {
    fn from(e: Exceeded) -> Self {
        e.into_error(ErrorCode::RateLimited)
    }
}

fn retry_after(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let secs = (until - now).num_milliseconds().max(0) as u64;
    secs.div_ceil(1000).max(1)
}

async fn lock_bucket(conn: &mut AsyncPgConnection, bucket: &str) -> QueryResult<()> {
    prepared(
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
            .bind::<Text, _>(bucket),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Events in the bucket within the window ending at `now`. Events stamped
/// after `now` count too: a request holds the `now` it started with, and one
/// that waited for the bucket's lock must see the events of the requests that
/// took it first, whose clocks read a little later (without this, 30 failed
/// identity attempts sent at once could get 21 checks for a cap of 20).
pub async fn count(
    conn: &mut AsyncPgConnection,
    bucket: &str,
    window: TimeDelta,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    rate_limit_events::table
        .filter(rate_limit_events::bucket.eq(bucket))
        .filter(rate_limit_events::occurred_at.gt(now - window))
        .select(count_star())
        .get_result(conn)
        .await
}

/// Whether the bucket is full, without counting an event.
pub async fn check(
    conn: &mut AsyncPgConnection,
    bucket: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> QueryResult<Result<(), Exceeded>> {
    let times: Vec<DateTime<Utc>> = rate_limit_events::table
        .filter(rate_limit_events::bucket.eq(bucket))
        .filter(rate_limit_events::occurred_at.gt(now - limit.window))
        .select(rate_limit_events::occurred_at)
        .order(rate_limit_events::occurred_at.desc())
        .limit(limit.max)
        .load(conn)
        .await?;
    if (times.len() as i64) < limit.max {
        return Ok(Ok(()));
    }
    // The oldest of the newest `max` events leaves the window first.
    let frees_at = *times.last().expect("max > 0 events loaded") + limit.window;
    Ok(Err(Exceeded {
        retry_after_secs: retry_after(frees_at, now),
    }))
}

/// Counts one event without checking (e.g. a failure that already happened).
pub async fn record(
    conn: &mut AsyncPgConnection,
    bucket: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(rate_limit_events::table)
        .values((
            rate_limit_events::bucket.eq(bucket),
            rate_limit_events::occurred_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Takes one slot if the bucket has room: check and record as one step.
pub async fn hit(
    conn: &mut AsyncPgConnection,
    bucket: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> QueryResult<Result<(), Exceeded>> {
    let bucket = bucket.to_owned();
    conn.transaction(async move |conn| {
        lock_bucket(conn, &bucket).await?;
        let verdict = check(conn, &bucket, limit, now).await?;
        if verdict.is_ok() {
            record(conn, &bucket, now).await?;
        }
        Ok(verdict)
    })
    .await
}

/// Takes one slot in each bucket, or none if any is full (the answer then says
/// when the last of the full buckets frees up).
pub async fn hit_all(
    conn: &mut AsyncPgConnection,
    buckets: &[(&str, Limit)],
    now: DateTime<Utc>,
) -> QueryResult<Result<(), Exceeded>> {
    let buckets: Vec<(String, Limit)> =
        buckets.iter().map(|(b, l)| ((*b).to_owned(), *l)).collect();
    conn.transaction(async move |conn| {
        let names: Vec<&str> = buckets.iter().map(|(b, _)| b.as_str()).collect();
        lock_all(conn, &names).await?;
        let limits: Vec<(&str, Limit)> = buckets.iter().map(|(b, l)| (b.as_str(), *l)).collect();
        if let Err(e) = check_all(conn, &limits, now).await? {
            return Ok(Err(e));
        }
        for name in names {
            record(conn, name, now).await?;
        }
        Ok(Ok(()))
    })
    .await
}

/// Serialises every request on these buckets until the caller's transaction
/// ends (call inside one). The locks are taken in one fixed order, so two
/// requests locking the same buckets cannot deadlock; callers that also lock
/// rows take these first, so no path waits for a bucket while holding a row.
pub async fn lock_all(conn: &mut AsyncPgConnection, buckets: &[&str]) -> QueryResult<()> {
    let mut names: Vec<&str> = buckets.to_vec();
    names.sort_unstable();
    names.dedup();
    for name in names {
        lock_bucket(conn, name).await?;
    }
    Ok(())
}

/// Whether every bucket has room, without counting an event; when some are
/// full, says when the last of them frees up.
pub async fn check_all(
    conn: &mut AsyncPgConnection,
    buckets: &[(&str, Limit)],
    now: DateTime<Utc>,
) -> QueryResult<Result<(), Exceeded>> {
    let mut wait: Option<u64> = None;
    for (bucket, limit) in buckets {
        if let Err(e) = check(conn, bucket, *limit, now).await? {
            wait = Some(wait.unwrap_or(0).max(e.retry_after_secs));
        }
    }
    Ok(match wait {
        Some(retry_after_secs) => Err(Exceeded { retry_after_secs }),
        None => Ok(()),
    })
}

/// One condition a [`reserve`] must pass: a sliding window (as [`check`]) or a
/// lock-out (as [`lockout`]).
#[derive(Debug, Clone, Copy)]
pub enum Gate<'a> {
    /// At most `limit.max` events in any window.
    Window(&'a str, Limit),
    /// Locked for a window after `limit.max` events within one.
    Lockout(&'a str, Limit),
}

/// Events counted before the outcome they count is known (a password being
/// hashed): [`release`] them when the outcome turns out not to count.
#[must_use = "a reservation stays counted unless released"]
#[derive(Debug)]
pub struct Reservation {
    ids: Vec<i64>,
}

/// Checks every gate and, when all pass, counts one event in each, as one step
/// under the buckets' locks: N requests racing for the last slots of a lock-out
/// cannot all pass before any of them is counted. When a gate is full, answers
/// its index (the first full one, in the order given) and when it frees up.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    gates: &[Gate<'_>],
    now: DateTime<Utc>,
) -> QueryResult<Result<Reservation, (usize, Exceeded)>> {
    let gates: Vec<(String, Limit, bool)> = gates
        .iter()
        .map(|g| match g {
            Gate::Window(b, l) => ((*b).to_owned(), *l, false),
            Gate::Lockout(b, l) => ((*b).to_owned(), *l, true),
        })
        .collect();
    conn.transaction(async move |conn| {
        let names: Vec<&str> = gates.iter().map(|(b, _, _)| b.as_str()).collect();
        lock_all(conn, &names).await?;
        for (index, (bucket, limit, is_lockout)) in gates.iter().enumerate() {
            let verdict = if *is_lockout {
                lockout(conn, bucket, *limit, now).await?
            } else {
                check(conn, bucket, *limit, now).await?
            };
            if let Err(e) = verdict {
                return Ok(Err((index, e)));
            }
        }
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            let id: i64 = diesel::insert_into(rate_limit_events::table)
                .values((
                    rate_limit_events::bucket.eq(name),
                    rate_limit_events::occurred_at.eq(now),
                ))
                .returning(rate_limit_events::id)
                .get_result(conn)
                .await?;
            ids.push(id);
        }
        Ok(Ok(Reservation { ids }))
    })
    .await
}

/// Uncounts a [`reserve`]'s events (the attempt succeeded, or never ran).
pub async fn release(conn: &mut AsyncPgConnection, reservation: Reservation) -> QueryResult<()> {
    diesel::delete(rate_limit_events::table.filter(rate_limit_events::id.eq_any(reservation.ids)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Forgets a bucket's events (e.g. failed logins after a successful one).
pub async fn clear(conn: &mut AsyncPgConnection, bucket: &str) -> QueryResult<()> {
    diesel::delete(rate_limit_events::table.filter(rate_limit_events::bucket.eq(bucket)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// A lock-out that lasts `window` after the most recent event once `max` events
/// fell within `window` ("until 15 minutes after the last one").
///
/// The lock-out outlives the window of its first events: 10 failures at minutes
/// 0 to 9 lock until minute 24, even though at minute 16 only 8 of them are
/// within the last 15 minutes. So every run of `max` events within one window
/// whose last event is less than a window old counts, not just the current window.
pub async fn lockout(
    conn: &mut AsyncPgConnection,
    bucket: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> QueryResult<Result<(), Exceeded>> {
    // A run that still locks ends after `now - window` and so starts after `now - 2 window`.
    let times: Vec<DateTime<Utc>> = rate_limit_events::table
        .filter(rate_limit_events::bucket.eq(bucket))
        .filter(rate_limit_events::occurred_at.gt(now - limit.window - limit.window))
        .select(rate_limit_events::occurred_at)
        .order(rate_limit_events::occurred_at.desc())
        .load(conn)
        .await?;
    let max = usize::try_from(limit.max).unwrap_or(0).max(1);
    // Newest first: `run[0]` ends a run of `max` events when `run[max - 1]` is within a window of it.
    let locked_until = times
        .windows(max)
        .find(|run| run[0] - run[max - 1] < limit.window)
        .map(|run| run[0] + limit.window);
    match locked_until {
        Some(until) if until > now => Ok(Err(Exceeded {
            retry_after_secs: retry_after(until, now),
        })),
        _ => Ok(Ok(())),
    }
}

/// The per-IP limit of an anonymous route (API.md: `RATE_LIMIT_IP_PER_MINUTE`,
/// at least 300 a minute by default, so carrier-grade NAT does not lock out the
/// thousands of phones behind one address): takes a slot or answers 429
/// `rate_limited`.
pub async fn per_ip(
    conn: &mut AsyncPgConnection,
    scope: &str,
    ip: IpAddr,
    per_minute: u32,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    hit(conn, &ip_bucket(scope, ip), per_ip_limit(per_minute), now)
        .await?
        .map_err(ApiError::from)
}

/// The bucket of [`per_ip`] for `scope`.
pub fn ip_bucket(scope: &str, ip: IpAddr) -> String {
    format!("ip:{scope}:{ip}")
}

/// `per_minute` events in any minute.
pub fn per_ip_limit(per_minute: u32) -> Limit {
    Limit {
        max: i64::from(per_minute),
        window: TimeDelta::minutes(1),
    }
}

/// Counts one request in `bucket`'s current minute (a fixed window, one upsert;
/// see the `request_counts` migration) and refuses it once the minute holds
/// `per_minute`: the per-IP limit every route shares the shape of.
pub async fn count_request(
    conn: &mut impl Reader,
    bucket: &str,
    per_minute: u32,
    now: DateTime<Utc>,
) -> QueryResult<Result<(), Exceeded>> {
    let window_start = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
    let upsert = diesel::insert_into(request_counts::table)
        .values((
            request_counts::bucket.eq(bucket),
            request_counts::window_start.eq(window_start),
            request_counts::hits.eq(1),
        ))
        .on_conflict((request_counts::bucket, request_counts::window_start))
        .do_update()
        .set(request_counts::hits.eq(request_counts::hits + 1))
        .returning(request_counts::hits);
    let hits: i32 = prepared(upsert).get_result(conn).await?;
    if i64::from(hits) <= i64::from(per_minute) {
        return Ok(Ok(()));
    }
    Ok(Err(Exceeded {
        retry_after_secs: retry_after(window_start + TimeDelta::minutes(1), now),
    }))
}

/// Deletes events older than `before`; returns how many.
pub async fn purge_older_than(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(rate_limit_events::table.filter(rate_limit_events::occurred_at.lt(before)))
        .execute(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one_second() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        assert_eq!(retry_after(now + TimeDelta::milliseconds(1500), now), 2);
        assert_eq!(retry_after(now, now), 1);
        assert_eq!(retry_after(now + TimeDelta::hours(2), now), 7200);
    }
}
