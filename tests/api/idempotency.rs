//! The `Idempotency-Key` layer (`prakerja_api::idempotency::run_once`): one run per
//! (caller, route, key), the first answer replayed byte for byte, a different body
//! refused, a duplicate in flight refused, 5xx never stored.

use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{body::to_bytes, web::Bytes, HttpResponse, ResponseError};
use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::AsyncConnection;
use prakerja_api::{
    db::DbPool,
    error::{ApiError, ErrorCode},
    idempotency::{claim, finish, run_once, Claim, IdempotencyKey, Lease, RETENTION},
};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::helpers::{count, TestApp};

const ROUTE: &str = "POST /v1/test/purchases";
const BODY: &[u8] = br#"{"course_id":"c1"}"#;

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey(Some(k.to_owned()))
}

/// What the client receives.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    replayed: bool,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The same answer, ignoring whether it was replayed.
    fn same_as(&self, other: &Answer) -> bool {
        (self.status, &self.content_type, &self.body)
            == (other.status, &other.content_type, &other.body)
    }
}

async fn answer(result: Result<HttpResponse, ApiError>) -> Answer {
    let res = result.unwrap_or_else(|e| e.error_response());
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, content_type, replayed) = (
        res.status().as_u16(),
        header("content-type"),
        header("idempotent-replayed"),
    );
    assert!(replayed.is_none() || replayed.as_deref() == Some("true"));
    let body = to_bytes(res.into_body()).await.ok().unwrap();
    Answer {
        status,
        content_type,
        replayed: replayed.is_some(),
        body,
    }
}

/// A handler that counts its runs and answers 201 with a fresh id, so a second
/// run would be visible in the body.
async fn create(runs: &AtomicUsize) -> Result<HttpResponse, ApiError> {
    runs.fetch_add(1, Ordering::SeqCst);
    Ok(HttpResponse::Created().json(json!({ "id": uuid::Uuid::new_v4(), "status": "purchased" })))
}

async fn must_not_run() -> Result<HttpResponse, ApiError> {
    panic!("the handler ran for a request that should not run")
}

async fn call(
    pool: &DbPool,
    now: DateTime<Utc>,
    caller: &str,
    route: &str,
    k: &IdempotencyKey,
    body: &[u8],
    runs: &AtomicUsize,
) -> Answer {
    answer(run_once(pool, now, caller, route, k, body, || create(runs)).await).await
}

#[tokio::test]
async fn request_without_a_key_runs_every_time() {
    let app = TestApp::spawn().await;
    let (pool, now, runs) = (&app.state.db, app.state.clock.now(), AtomicUsize::new(0));
    let none = IdempotencyKey(None);
    let first = call(pool, now, "acct:1", ROUTE, &none, BODY, &runs).await;
    let second = call(pool, now, "acct:1", ROUTE, &none, BODY, &runs).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_ne!(first.body, second.body);
    assert!(!first.replayed && !second.replayed);
    assert_eq!(
        count(
            &mut app.db.conn().await,
            "SELECT count(*) AS n FROM idempotency_keys"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn same_key_and_body_runs_once_and_replays_the_first_answer_byte_for_byte() {
    let app = TestApp::spawn().await;
    let (pool, now, runs) = (&app.state.db, app.state.clock.now(), AtomicUsize::new(0));
    let k = key("order-1");
    let first = call(pool, now, "acct:1", ROUTE, &k, BODY, &runs).await;
    assert_eq!(first.status, 201);
    assert!(!first.replayed, "the first answer is not a replay");
    for later in [now, now + TimeDelta::hours(23)] {
        let again = call(pool, later, "acct:1", ROUTE, &k, BODY, &runs).await;
        assert!(again.same_as(&first), "{again:?} != {first:?}");
        assert!(again.replayed, "Idempotent-Replayed: true");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn same_key_with_another_body_is_422_idempotency_key_reused() {
    let app = TestApp::spawn().await;
    let (pool, now, runs) = (&app.state.db, app.state.clock.now(), AtomicUsize::new(0));
    let k = key("order-2");
    let first = call(pool, now, "acct:1", ROUTE, &k, BODY, &runs).await;
    let other = answer(
        run_once(
            pool,
            now,
            "acct:1",
            ROUTE,
            &k,
            br#"{"course_id":"c2"}"#,
            must_not_run,
        )
        .await,
    )
    .await;
    assert_eq!(other.status, 422);
    assert_eq!(
        other.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(other.json()["code"], "idempotency_key_reused");
    // The first answer is still the one replayed.
    assert!(call(pool, now, "acct:1", ROUTE, &k, BODY, &runs)
        .await
        .same_as(&first));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn duplicate_while_the_first_runs_is_409_in_progress() {
    let app = TestApp::spawn().await;
    let (pool, now) = (&app.state.db, app.state.clock.now());
    let k = key("order-3");
    let (started, release) = (&Notify::new(), &Notify::new());
    let first = run_once(pool, now, "acct:1", ROUTE, &k, BODY, move || async move {
        started.notify_one();
        release.notified().await;
        Ok(HttpResponse::Created().body("first"))
    });
    let duplicate = async {
        started.notified().await;
        let a = answer(run_once(pool, now, "acct:1", ROUTE, &k, BODY, must_not_run).await).await;
        release.notify_one();
        a
    };
    let (first, duplicate) = tokio::join!(first, duplicate);
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.json()["code"], "idempotency_request_in_progress");
    let first = answer(first).await;
    assert_eq!(
        (first.status, first.body.as_ref()),
        (201, b"first".as_ref())
    );
    // Once it finished, the duplicate gets the answer.
    let replay = answer(run_once(pool, now, "acct:1", ROUTE, &k, BODY, must_not_run).await).await;
    assert!(replay.same_as(&first) && replay.replayed);
}

#[tokio::test]
async fn server_error_is_not_stored_so_the_retry_runs() {
    let app = TestApp::spawn().await;
    let (pool, now, runs) = (&app.state.db, app.state.clock.now(), AtomicUsize::new(0));
    let k = key("order-4");
    let failed = answer(
        run_once(pool, now, "acct:1", ROUTE, &k, BODY, || async {
            Err(ApiError::internal(anyhow::anyhow!("database went away")))
        })
        .await,
    )
    .await;
    assert_eq!(failed.status, 500);
    assert_eq!(
        count(
            &mut app.db.conn().await,
            "SELECT count(*) AS n FROM idempotency_keys"
        )
        .await,
        0
    );
    let retry = call(pool, now, "acct:1", ROUTE, &k, BODY, &runs).await;
    assert_eq!((retry.status, retry.replayed), (201, false));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(call(pool, now, "acct:1", ROUTE, &k, BODY, &runs)
        .await
        .same_as(&retry));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn client_error_is_stored_and_replayed() {
    let app = TestApp::spawn().await;
    let (pool, now) = (&app.state.db, app.state.clock.now());
    let k = key("order-5");
    let runs = &AtomicUsize::new(0);
    let refuse = move || async move {
        runs.fetch_add(1, Ordering::SeqCst);
        Err(ApiError::new(ErrorCode::EmailTaken))
    };
    let first = answer(run_once(pool, now, "acct:1", ROUTE, &k, BODY, refuse).await).await;
    assert_eq!(first.status, 409);
    assert_eq!(first.json()["code"], "email_taken");
    let again = answer(run_once(pool, now, "acct:1", ROUTE, &k, BODY, must_not_run).await).await;
    assert!(again.same_as(&first) && again.replayed);
    assert_eq!(
        again.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn keys_are_scoped_per_caller_and_route() {
    let app = TestApp::spawn().await;
    let (pool, now, runs) = (&app.state.db, app.state.clock.now(), AtomicUsize::new(0));
    let k = key("same-key");
    let mine = call(pool, now, "acct:1", ROUTE, &k, BODY, &runs).await;
    let other_caller = call(pool, now, "acct:2", ROUTE, &k, BODY, &runs).await;
    let other_route = call(pool, now, "acct:1", "POST /v1/test/other", &k, BODY, &runs).await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert!(!other_caller.replayed && !other_route.replayed);
    assert_ne!(mine.body, other_caller.body);
    // Another caller's different body on the same key is not "reused" either.
    let third = call(pool, now, "acct:3", ROUTE, &k, b"{}", &runs).await;
    assert_eq!((third.status, third.replayed), (201, false));
    assert!(call(pool, now, "acct:1", ROUTE, &k, BODY, &runs)
        .await
        .same_as(&mine));
    assert_eq!(runs.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn abandoned_key_is_taken_over_after_its_lease() {
    let app = TestApp::spawn().await;
    let (pool, now, runs) = (&app.state.db, app.state.clock.now(), AtomicUsize::new(0));
    let k = key("order-6");
    // The first request claims the key, then dies mid-way (its future is dropped).
    let started = &Notify::new();
    let first = run_once(pool, now, "acct:1", ROUTE, &k, BODY, move || async move {
        started.notify_one();
        std::future::pending::<Result<HttpResponse, ApiError>>().await
    });
    tokio::select! {
        _ = first => panic!("the first request never finishes"),
        _ = started.notified() => {}
    }
    let within_lease = answer(
        run_once(
            pool,
            now + TimeDelta::seconds(59),
            "acct:1",
            ROUTE,
            &k,
            BODY,
            must_not_run,
        )
        .await,
    )
    .await;
    assert_eq!(
        within_lease.json()["code"],
        "idempotency_request_in_progress"
    );

    let later = now + TimeDelta::seconds(61);
    let taken_over = call(pool, later, "acct:1", ROUTE, &k, BODY, &runs).await;
    assert_eq!((taken_over.status, taken_over.replayed), (201, false));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(call(pool, later, "acct:1", ROUTE, &k, BODY, &runs)
        .await
        .same_as(&taken_over));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn keys_are_kept_past_a_day_and_purged_after_retention() {
    let app = TestApp::spawn().await;
    let (pool, now, runs) = (&app.state.db, app.state.clock.now(), AtomicUsize::new(0));
    let old = key("old");
    let day_old = key("day-old");
    call(
        pool,
        now - RETENTION - TimeDelta::minutes(1),
        "acct:1",
        ROUTE,
        &old,
        BODY,
        &runs,
    )
    .await;
    let kept = call(
        pool,
        now - TimeDelta::hours(25),
        "acct:1",
        ROUTE,
        &day_old,
        BODY,
        &runs,
    )
    .await;
    let run = app.run_job("purge_expired_data").await;
    assert_eq!(run["report"]["idempotency_keys"], 1);
    let replay = call(pool, now, "acct:1", ROUTE, &day_old, BODY, &runs).await;
    assert!(
        replay.same_as(&kept) && replay.replayed,
        "a key 25 hours old still replays"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

async fn lease(pool: &DbPool, now: DateTime<Utc>, k: &IdempotencyKey) -> Lease {
    match claim(pool, now, "acct:1", ROUTE, k, BODY).await.unwrap() {
        Claim::Run(Some(lease)) => lease,
        other => panic!("expected to run under a lease, got {other:?}"),
    }
}

/// A domain change: one row the test can count.
async fn change(conn: &mut diesel_async::AsyncPgConnection, now: DateTime<Utc>) {
    let insert = diesel::sql_query(
        "INSERT INTO rate_limit_events (bucket, occurred_at) VALUES ('domain-change', $1)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(now);
    diesel_async::RunQueryDsl::execute(insert, conn)
        .await
        .unwrap();
}

async fn changes(app: &TestApp) -> i64 {
    count(
        &mut app.db.conn().await,
        "SELECT count(*) AS n FROM rate_limit_events WHERE bucket = 'domain-change'",
    )
    .await
}

#[tokio::test]
async fn an_answer_committed_with_the_change_is_replayed_after_a_crash_before_answering() {
    let app = TestApp::spawn().await;
    let (pool, now) = (&app.state.db, app.state.clock.now());
    let k = key("money-1");
    let lease = lease(pool, now, &k)
        .await
        .answering(actix_web::http::StatusCode::CREATED);
    let mut conn = pool.get().await.unwrap();
    conn.transaction::<_, ApiError, _>(async |conn| {
        change(conn, now).await;
        lease
            .commit(conn, &json!({"id": "p-1", "status": "purchased"}))
            .await
    })
    .await
    .unwrap();
    // The process dies before it answers: the handler's 500 must not release a
    // key whose answer committed with the change.
    let crashed = answer(
        finish(
            pool,
            Some(lease),
            Err(ApiError::internal(anyhow::anyhow!("killed"))),
        )
        .await,
    )
    .await;
    assert_eq!(crashed.status, 500);
    let retry = answer(run_once(pool, now, "acct:1", ROUTE, &k, BODY, must_not_run).await).await;
    assert!(retry.replayed);
    assert_eq!(retry.status, 201);
    assert_eq!(retry.json(), json!({"id": "p-1", "status": "purchased"}));
    assert_eq!(changes(&app).await, 1, "the change happened once");
}

#[tokio::test]
async fn only_the_owner_of_a_lease_can_finish_it() {
    let app = TestApp::spawn().await;
    let (pool, now) = (&app.state.db, app.state.clock.now());
    let k = key("money-2");
    let first = lease(pool, now, &k).await;
    // The first request stalls past its lease; a retry takes the key over.
    let second = lease(pool, now + TimeDelta::seconds(61), &k).await;
    let mut conn = pool.get().await.unwrap();
    let late = conn
        .transaction::<_, ApiError, _>(async |conn| {
            change(conn, now).await;
            first.commit(conn, &json!({"by": "first"})).await
        })
        .await;
    assert_eq!(
        late.unwrap_err().code(),
        ErrorCode::IdempotencyRequestInProgress,
        "a taken-over request cannot commit its change"
    );
    assert_eq!(changes(&app).await, 0, "and its change rolled back");
    conn.transaction::<_, ApiError, _>(async |conn| {
        change(conn, now).await;
        second.commit(conn, &json!({"by": "second"})).await
    })
    .await
    .unwrap();
    // Neither the stalled request's answer nor its release touches the key now.
    finish(
        pool,
        Some(first.clone()),
        Ok(HttpResponse::Ok().body("first")),
    )
    .await
    .unwrap();
    finish(
        pool,
        Some(first),
        Err(ApiError::internal(anyhow::anyhow!("late 500"))),
    )
    .await
    .unwrap();
    let replay = answer(run_once(pool, now, "acct:1", ROUTE, &k, BODY, must_not_run).await).await;
    assert!(replay.replayed);
    assert_eq!(replay.json(), json!({"by": "second"}));
    assert_eq!(changes(&app).await, 1);
}

#[tokio::test]
async fn a_renewed_lease_is_not_taken_over() {
    let app = TestApp::spawn().await;
    let (pool, now) = (&app.state.db, app.state.clock.now());
    let k = key("long-run");
    let running = lease(pool, now, &k).await;
    let mut conn = pool.get().await.unwrap();
    assert!(running
        .renew(&mut conn, now + TimeDelta::seconds(50))
        .await
        .unwrap());
    let duplicate = answer(
        run_once(
            pool,
            now + TimeDelta::seconds(61),
            "acct:1",
            ROUTE,
            &k,
            BODY,
            must_not_run,
        )
        .await,
    )
    .await;
    assert_eq!(duplicate.json()["code"], "idempotency_request_in_progress");
    // Once renewals stop, the lease lapses and a retry takes over; the old
    // owner can renew no more.
    let runs = AtomicUsize::new(0);
    let taken = call(
        pool,
        now + TimeDelta::seconds(111),
        "acct:1",
        ROUTE,
        &k,
        BODY,
        &runs,
    )
    .await;
    assert_eq!((taken.status, taken.replayed), (201, false));
    assert!(!running
        .renew(&mut conn, now + TimeDelta::seconds(112))
        .await
        .unwrap());
}
