//! The `Idempotency-Key` layer (API.md Conventions), stored in Postgres so that
//! every instance shares it.
//!
//! A key is scoped to (caller, route). The first request with a key claims it:
//! an `in_progress` row with a lease and an owner token ([`Lease`]). Its answer
//! (2xx or 4xx) is saved and replayed byte for byte to later requests with the
//! same key and body. The same key with a different body answers 422
//! `idempotency_key_reused`; a duplicate arriving while the first still runs
//! answers 409 `idempotency_request_in_progress`. A 5xx is not saved (the key is
//! released so the client can retry), and a request that died mid-way releases
//! its key when its lease runs out.
//!
//! **Routes that move money** complete the key inside the domain transaction:
//! the handler [`claim`]s the key, passes the [`Lease`] to the domain function,
//! which calls [`Lease::commit`] in the transaction of its change (so the change
//! and the stored answer commit together or not at all), and the handler answers
//! with [`finish`]. A process killed between the commit and the answer
//! leaves a completed key: the retry replays, never re-runs. Only the owner of a
//! lease may complete, renew or release it, so a request whose lease was taken
//! over cannot commit its change ([`Lease::commit`] fails and the domain
//! transaction rolls back). A long request keeps its lease with
//! [`Lease::keep_alive`]. Refusals (4xx) changed nothing, so [`finish`] stores
//! them after the rollback. [`run_once`] wraps the whole sequence for routes
//! whose handler does not need the lease.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use actix_web::{
    body::{to_bytes, MessageBody},
    http::{header, StatusCode},
    web::Bytes,
    FromRequest, HttpRequest, HttpResponse, ResponseError,
};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::{prepared, schema::idempotency_keys, text_enum, DbPool},
    error::{ApiError, ErrorCode},
};

text_enum! {
    /// Where a key's request is.
    pub enum KeyState {
        /// Claimed under a lease by the request that runs it.
        InProgress => "in_progress",
        /// Its answer is stored and replayed.
        Completed => "completed",
    }
}

/// Keys are kept at least this long (API.md: at least 24 hours).
pub const RETENTION: TimeDelta = TimeDelta::hours(48);
/// How long a running request holds its key before it counts as abandoned.
pub const LEASE: TimeDelta = TimeDelta::seconds(60);
/// How often [`Lease::keep_alive`] renews: well inside the lease, so a slow
/// database round trip cannot let it lapse.
const RENEW_EVERY: Duration = Duration::from_secs(20);

/// The `Idempotency-Key` header, when the client sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(parse_header(req.headers().get("idempotency-key")))
    }
}

fn parse_header(value: Option<&header::HeaderValue>) -> Result<IdempotencyKey, ApiError> {
    let Some(value) = value else {
        return Ok(IdempotencyKey(None));
    };
    let key = value.to_str().ok().filter(|k| {
        !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    });
    match key {
        Some(k) => Ok(IdempotencyKey(Some(k.to_owned()))),
        None => Err(ApiError::new(ErrorCode::InvalidRequest)
            .detail("Idempotency-Key must be 1 to 255 printable ASCII characters.")),
    }
}

/// An answer as stored and replayed: status, content type and the exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Answer {
    /// A JSON answer, serialised once: the bytes stored are the bytes sent.
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Answer, ApiError> {
        Ok(Answer {
            status,
            content_type: Some(mime::APPLICATION_JSON.to_string()),
            body: serde_json::to_vec(value)
                .map_err(ApiError::internal)?
                .into(),
        })
    }

    /// The HTTP response; `replayed` adds `Idempotent-Replayed: true`.
    pub fn respond(self, replayed: bool) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if replayed {
            response.insert_header(("Idempotent-Replayed", "true"));
        }
        if let Some(ct) = self.content_type {
            response.insert_header((header::CONTENT_TYPE, ct));
        }
        response.body(self.body.boxed())
    }
}

/// A claimed key. Only its owner (this value) may complete, renew or release it.
#[derive(Debug, Clone)]
pub struct Lease {
    caller: String,
    route: String,
    key: String,
    owner: Uuid,
    /// The status of the route's success answer (200 unless [`Lease::answering`] says).
    success: StatusCode,
    /// Set once [`Lease::commit`] stored the success answer in the domain
    /// transaction: [`finish`] then has nothing left to store for a success
    /// (one round trip and one commit fewer on every purchase).
    success_stored: Arc<AtomicBool>,
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// This request must run: under this lease, or without one when the client
    /// sent no key.
    Run(Option<Lease>),
    /// A saved answer to replay.
    Replay(HttpResponse),
}

/// Only this lease's row while it still runs under this owner.
macro_rules! owned {
    ($lease:expr) => {
        idempotency_keys::table
            .find((&$lease.caller, &$lease.route, &$lease.key))
            .filter(idempotency_keys::state.eq(KeyState::InProgress))
            .filter(idempotency_keys::owner.eq($lease.owner))
    };
}

fn taken_over() -> ApiError {
    ApiError::new(ErrorCode::IdempotencyRequestInProgress)
        .detail("Another request with this Idempotency-Key took it over; retry shortly.")
        .retry_after(1)
}

impl Lease {
    /// Stores `answer` as the key's answer if this request still owns the key.
    /// Called inside the transaction of the change the answer reports, the
    /// change and the answer commit together; `Err` (the lease was taken over)
    /// must roll that transaction back.
    pub async fn complete(
        &self,
        conn: &mut AsyncPgConnection,
        answer: &Answer,
    ) -> Result<(), ApiError> {
        let update = diesel::update(owned!(self)).set((
            idempotency_keys::state.eq(KeyState::Completed),
            idempotency_keys::response_status.eq(answer.status.as_u16() as i16),
            idempotency_keys::response_content_type.eq(&answer.content_type),
            idempotency_keys::response_body.eq(answer.body.as_ref()),
        ));
        let stored = prepared(update).execute(conn).await?;
        if stored == 1 {
            Ok(())
        } else {
            Err(taken_over())
        }
    }

    /// The status the route answers on success (201 for a creation), set by
    /// the handler before it hands the lease to the domain.
    pub fn answering(mut self, status: StatusCode) -> Lease {
        self.success = status;
        self
    }

    /// The success answer for `value`: the bytes [`commit`](Self::commit)
    /// stores and the handler sends.
    pub fn success<T: Serialize>(&self, value: &T) -> Result<Answer, ApiError> {
        Answer::json(self.success, value)
    }

    /// Stores the success answer for `value`, inside the domain transaction
    /// that made the change (see [`complete`](Self::complete)).
    pub async fn commit<T: Serialize>(
        &self,
        conn: &mut AsyncPgConnection,
        value: &T,
    ) -> Result<(), ApiError> {
        self.complete(conn, &self.success(value)?).await?;
        self.success_stored.store(true, Ordering::Release);
        Ok(())
    }

    /// Extends the lease from `now`; `false` if this request no longer owns it.
    pub async fn renew(
        &self,
        conn: &mut AsyncPgConnection,
        now: DateTime<Utc>,
    ) -> QueryResult<bool> {
        diesel::update(owned!(self))
            .set(idempotency_keys::locked_until.eq(now + LEASE))
            .execute(conn)
            .await
            .map(|n| n == 1)
    }

    /// Gives the key back (a 5xx: nothing was stored, the client may retry).
    async fn release(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::delete(owned!(self)).execute(conn).await.map(|_| ())
    }

    /// Renews the lease every 20 seconds until the guard is dropped, so a long
    /// request (a selection run) is never taken over while it runs. Stops by
    /// itself once the lease is no longer this request's.
    pub fn keep_alive(&self, pool: DbPool, clock: Clock) -> KeepAlive {
        let lease = self.clone();
        KeepAlive(tokio::spawn(async move {
            let mut tick = tokio::time::interval(RENEW_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Ok(mut conn) = pool.get().await else {
                    continue;
                };
                match lease.renew(&mut conn, clock.now()).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => tracing::warn!(error = %e, "could not renew an idempotency lease"),
                }
            }
        }))
    }
}

/// Renews a lease while it lives (see [`Lease::keep_alive`]).
#[derive(Debug)]
pub struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Queryable)]
struct StoredKey {
    request_hash: Vec<u8>,
    state: KeyState,
    response_status: Option<i16>,
    response_content_type: Option<String>,
    response_body: Option<Vec<u8>>,
    locked_until: DateTime<Utc>,
}

/// Claims `key` for (caller, route); see the module docs. `request` is the
/// bytes that identify the request (its body, plus any path parameters the
/// route does not already fix).
pub async fn claim(
    pool: &DbPool,
    now: DateTime<Utc>,
    caller: &str,
    route: &str,
    key: &IdempotencyKey,
    request: &[u8],
) -> Result<Claim, ApiError> {
    let Some(key) = key.0.as_deref() else {
        return Ok(Claim::Run(None));
    };
    let hash = Sha256::digest(request).to_vec();
    let owner = Uuid::new_v4();
    let lease = Lease {
        caller: caller.to_owned(),
        route: route.to_owned(),
        key: key.to_owned(),
        owner,
        success: StatusCode::OK,
        success_stored: Arc::default(),
    };
    let mut conn = pool.get().await?;
    let conn = &mut *conn;
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::caller.eq(caller),
            idempotency_keys::route.eq(route),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(&hash),
            idempotency_keys::state.eq(KeyState::InProgress),
            idempotency_keys::owner.eq(owner),
            idempotency_keys::locked_until.eq(now + LEASE),
            idempotency_keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(Claim::Run(Some(lease)));
    }
    let stored: StoredKey = idempotency_keys::table
        .find((caller, route, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::state,
            idempotency_keys::response_status,
            idempotency_keys::response_content_type,
            idempotency_keys::response_body,
            idempotency_keys::locked_until,
        ))
        .first(conn)
        .await?;
    if stored.request_hash != hash {
        return Err(ApiError::new(ErrorCode::IdempotencyKeyReused).detail(
            "This Idempotency-Key was first used with a different request; use a new key.",
        ));
    }
    if stored.state == KeyState::Completed {
        let answer = Answer {
            status: stored
                .response_status
                .and_then(|s| StatusCode::from_u16(s as u16).ok())
                .unwrap_or(StatusCode::OK),
            content_type: stored.response_content_type,
            body: stored.response_body.unwrap_or_default().into(),
        };
        return Ok(Claim::Replay(answer.respond(true)));
    }
    if stored.locked_until < now {
        // The first request died without answering: take its key over, once.
        // The new owner token means the old request can no longer finish it.
        let taken = diesel::update(
            idempotency_keys::table
                .find((caller, route, key))
                .filter(idempotency_keys::state.eq(KeyState::InProgress))
                .filter(idempotency_keys::locked_until.lt(now)),
        )
        .set((
            idempotency_keys::locked_until.eq(now + LEASE),
            idempotency_keys::owner.eq(owner),
        ))
        .execute(conn)
        .await?;
        if taken == 1 {
            return Ok(Claim::Run(Some(lease)));
        }
    }
    Err(ApiError::new(ErrorCode::IdempotencyRequestInProgress)
        .detail("A request with this Idempotency-Key is still running; retry shortly.")
        .retry_after(1))
}

/// Answers a request that ran under `lease`: a 2xx or 4xx is stored as the
/// key's answer unless it already is (completed in the domain transaction) or
/// the lease is no longer this request's; a 5xx releases the key, unless the
/// domain transaction already completed it (then the retry replays). The
/// response goes out as the handler made it, headers included.
pub async fn finish(
    pool: &DbPool,
    lease: Option<Lease>,
    result: Result<HttpResponse, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let response = result.unwrap_or_else(|e| e.error_response());
    let Some(lease) = lease else {
        return Ok(response);
    };
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (head, body) = response.into_parts();
    let body = to_bytes(body)
        .await
        .map_err(|_| ApiError::internal(anyhow::anyhow!("response body could not be buffered")))?;
    let answer = Answer {
        status: head.status(),
        content_type,
        body,
    };
    // A success answer is only sent after its transaction committed, so a
    // success stored by `commit` is on disk with the change it reports.
    if answer.status.is_success() && AtomicBool::load(&lease.success_stored, Ordering::Acquire) {
        return Ok(head.set_body(answer.body.boxed()));
    }
    let mut conn = pool.get().await?;
    if answer.status.is_server_error() {
        lease.release(&mut conn).await?;
    } else {
        // A no-op when the domain transaction completed the key already, or
        // when another request took it over (its answer stands).
        let _ = lease.complete(&mut conn, &answer).await;
    }
    Ok(head.set_body(answer.body.boxed()))
}

/// Runs `handler` at most once per (caller, route, key): [`claim`], run,
/// [`finish`]. For handlers that change nothing a crash between their commit
/// and the stored answer could repeat; routes that move money complete the
/// key in their own transaction instead (see the module docs).
pub async fn run_once<F, Fut>(
    pool: &DbPool,
    now: DateTime<Utc>,
    caller: &str,
    route: &str,
    key: &IdempotencyKey,
    request: &[u8],
    handler: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<HttpResponse, ApiError>>,
{
    let lease = match claim(pool, now, caller, route, key, request).await? {
        Claim::Replay(response) => return Ok(response),
        Claim::Run(lease) => lease,
    };
    finish(pool, lease, handler().await).await
}

/// Deletes keys created before `before`; returns how many.
pub async fn purge_older_than(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
        .execute(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_optional_and_bounded() {
        assert_eq!(parse_header(None).unwrap(), IdempotencyKey(None));
        let ok = header::HeaderValue::from_static("order-123");
        assert_eq!(
            parse_header(Some(&ok)).unwrap().0.as_deref(),
            Some("order-123")
        );
        let long = header::HeaderValue::from_str(&"k".repeat(256)).unwrap();
        assert_eq!(
            parse_header(Some(&long)).unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn a_json_answer_is_serialised_once() {
        let a = Answer::json(StatusCode::CREATED, &serde_json::json!({"id": 1})).unwrap();
        assert_eq!(a.body.as_ref(), br#"{"id":1}"#);
        assert_eq!(a.content_type.as_deref(), Some("application/json"));
    }
}
