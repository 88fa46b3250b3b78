//! The shared rate limiter (`prakerja_api::ratelimit`): a sliding window in
//! Postgres that racing requests cannot overrun.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use prakerja_api::ratelimit::{self, Exceeded, Limit};

use crate::helpers::{count, TestApp, TestDb};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-07-19T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn secs(s: i64) -> TimeDelta {
    TimeDelta::seconds(s)
}

#[tokio::test]
async fn hit_allows_max_events_per_window_then_retry_after_is_when_the_oldest_leaves() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let limit = Limit {
        max: 3,
        window: secs(60),
    };
    let bucket = "test:acct:1";
    for at in [0, 10, 20] {
        assert_eq!(
            ratelimit::hit(&mut conn, bucket, limit, t0() + secs(at))
                .await
                .unwrap(),
            Ok(()),
            "event at +{at}s"
        );
    }
    // Full: the event at +0 s leaves the window at +60 s.
    let refused = ratelimit::hit(&mut conn, bucket, limit, t0() + secs(30))
        .await
        .unwrap();
    assert_eq!(
        refused,
        Err(Exceeded {
            retry_after_secs: 30
        })
    );
    let refused = ratelimit::hit(
        &mut conn,
        bucket,
        limit,
        t0() + TimeDelta::milliseconds(59_500),
    )
    .await
    .unwrap();
    assert_eq!(
        refused,
        Err(Exceeded {
            retry_after_secs: 1
        }),
        "rounded up, never 0"
    );
    // A refused hit is not counted, so the slot frees exactly then.
    assert_eq!(
        ratelimit::hit(&mut conn, bucket, limit, t0() + secs(60))
            .await
            .unwrap(),
        Ok(())
    );
    // Now +10, +20 and +60 are in the window; +10 leaves first.
    let refused = ratelimit::hit(&mut conn, bucket, limit, t0() + secs(61))
        .await
        .unwrap();
    assert_eq!(
        refused,
        Err(Exceeded {
            retry_after_secs: 9
        })
    );
    assert_eq!(
        ratelimit::count(&mut conn, bucket, limit.window, t0() + secs(61))
            .await
            .unwrap(),
        3
    );
    // check() agrees without counting anything.
    assert_eq!(
        ratelimit::check(&mut conn, bucket, limit, t0() + secs(61))
            .await
            .unwrap(),
        Err(Exceeded {
            retry_after_secs: 9
        })
    );
    // Other buckets are counted separately.
    assert_eq!(
        ratelimit::hit(&mut conn, "test:acct:2", limit, t0() + secs(61))
            .await
            .unwrap(),
        Ok(())
    );
    let events = count(&mut conn, "SELECT count(*) AS n FROM rate_limit_events").await;
    assert_eq!(events, 5, "only allowed hits were recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_hits_take_exactly_max_slots() {
    let db = TestDb::new().await;
    let pool = prakerja_api::db::build_pool(
        &db.url,
        20,
        Duration::from_secs(10),
        Duration::from_secs(10),
    )
    .unwrap();
    let limit = Limit {
        max: 5,
        window: TimeDelta::minutes(1),
    };
    let now = t0();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let pool = pool.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                barrier.wait().await;
                ratelimit::hit(&mut conn, "race:acct:1", limit, now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => allowed += 1,
            Err(e) => assert_eq!(e.retry_after_secs, 60),
        }
    }
    assert_eq!(allowed, 5);
    let events = count(
        &mut db.conn().await,
        "SELECT count(*) AS n FROM rate_limit_events",
    )
    .await;
    assert_eq!(events, 5);
}

#[tokio::test]
async fn lockout_lasts_a_window_after_the_last_event() {
    // "10 wrong passwords within 15 minutes → locked until 15 minutes after the last one."
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let limit = Limit {
        max: 10,
        window: TimeDelta::minutes(15),
    };
    let bucket = "login_fail:acct:1";
    let minute = |m: i64| t0() + TimeDelta::minutes(m);
    for m in 0..9 {
        ratelimit::record(&mut conn, bucket, minute(m))
            .await
            .unwrap();
    }
    assert_eq!(
        ratelimit::lockout(&mut conn, bucket, limit, minute(9))
            .await
            .unwrap(),
        Ok(()),
        "9 failures do not lock"
    );
    ratelimit::record(&mut conn, bucket, minute(9))
        .await
        .unwrap();
    // The 10th failure at +9 min locks until +24 min.
    let locked = |secs_left: u64| {
        Err(Exceeded {
            retry_after_secs: secs_left,
        })
    };
    assert_eq!(
        ratelimit::lockout(&mut conn, bucket, limit, minute(9))
            .await
            .unwrap(),
        locked(15 * 60)
    );
    assert_eq!(
        ratelimit::lockout(&mut conn, bucket, limit, minute(10))
            .await
            .unwrap(),
        locked(14 * 60)
    );
    // Still locked after the first failures left the 15-minute window.
    assert_eq!(
        ratelimit::lockout(&mut conn, bucket, limit, minute(16))
            .await
            .unwrap(),
        locked(8 * 60)
    );
    assert_eq!(
        ratelimit::lockout(&mut conn, bucket, limit, minute(23))
            .await
            .unwrap(),
        locked(60)
    );
    assert_eq!(
        ratelimit::lockout(&mut conn, bucket, limit, minute(24))
            .await
            .unwrap(),
        Ok(())
    );
    // After the lock-out, one more failure does not lock again (9 of the 10 are old).
    ratelimit::record(&mut conn, bucket, minute(25))
        .await
        .unwrap();
    assert_eq!(
        ratelimit::lockout(&mut conn, bucket, limit, minute(25))
            .await
            .unwrap(),
        Ok(())
    );
}

#[tokio::test]
async fn lockout_needs_max_events_within_one_window() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let limit = Limit {
        max: 3,
        window: TimeDelta::minutes(15),
    };
    let bucket = "login_fail:acct:2";
    // Three failures spread over 20 minutes never fell within 15 minutes.
    for m in [0, 10, 20] {
        ratelimit::record(&mut conn, bucket, t0() + TimeDelta::minutes(m))
            .await
            .unwrap();
    }
    assert_eq!(
        ratelimit::lockout(&mut conn, bucket, limit, t0() + TimeDelta::minutes(20))
            .await
            .unwrap(),
        Ok(())
    );
    // Other accounts are unaffected by this one's failures.
    assert_eq!(
        ratelimit::lockout(&mut conn, "login_fail:acct:3", limit, t0())
            .await
            .unwrap(),
        Ok(())
    );
}

#[tokio::test]
async fn purge_deletes_only_events_older_than_the_cutoff() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    for h in [0, 10, 30] {
        ratelimit::record(&mut conn, "purge:1", t0() - TimeDelta::hours(h))
            .await
            .unwrap();
    }
    let deleted = ratelimit::purge_older_than(&mut conn, t0() - TimeDelta::hours(25))
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM rate_limit_events").await,
        2
    );
}

#[tokio::test]
async fn purge_job_drops_events_past_retention_by_the_service_clock() {
    let app = TestApp::spawn().await;
    let now = app.state.clock.now();
    let mut conn = app.db.conn().await;
    ratelimit::record(
        &mut conn,
        "purge:2",
        now - ratelimit::RETENTION - TimeDelta::minutes(1),
    )
    .await
    .unwrap();
    ratelimit::record(
        &mut conn,
        "purge:2",
        now - ratelimit::RETENTION + TimeDelta::minutes(1),
    )
    .await
    .unwrap();
    let run = app.run_job("purge_expired_data").await;
    assert_eq!(run["report"]["rate_limit_events"], 1);
    // Moving the service clock ages the rest.
    app.set_clock(now + TimeDelta::hours(1)).await;
    let run = app.run_job("purge_expired_data").await;
    assert_eq!(run["report"]["rate_limit_events"], 1);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM rate_limit_events").await,
        0
    );
}

/// The per-IP counter runs on every request: its upsert stays prepared on the
/// connection (`db::prepared`) instead of being parsed, planned and closed
/// each time, and a statement Diesel does not cache shows the difference.
#[tokio::test]
async fn the_request_counter_is_prepared_once_per_connection() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    for _ in 0..3 {
        ratelimit::count_request(&mut conn, "ip:test", 100, t0())
            .await
            .unwrap()
            .unwrap();
    }
    let kept = "SELECT count(*) AS n FROM pg_prepared_statements \
                WHERE statement LIKE 'INSERT INTO \"request_counts\"%'";
    assert_eq!(count(&mut conn, kept).await, 1);
    // The control: the same kind of statement without the wrapper leaves
    // nothing prepared once it has run.
    for _ in 0..3 {
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query("UPDATE request_counts SET hits = hits WHERE bucket = $1")
                .bind::<diesel::sql_types::Text, _>("ip:test"),
            &mut conn,
        )
        .await
        .unwrap();
    }
    let uncached = "SELECT count(*) AS n FROM pg_prepared_statements \
                    WHERE statement LIKE 'UPDATE request_counts%'";
    assert_eq!(count(&mut conn, uncached).await, 0);
}
