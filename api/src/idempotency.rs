//! The `Idempotency-Key` layer (API.md Conventions), stored in Postgres so that
//! every instance shares it.
//!
//! A key is scoped to (caller, route). The first request with a key inserts an
//! `in_progress` row and runs; its answer (2xx or 4xx) is saved and replayed byte
//! for byte to later requests with the same key and body. The same key with a
//! different body answers 422 `idempotency_key_reused`; a duplicate arriving while
//! the first still runs answers 409 `idempotency_request_in_progress`. A 5xx is
//! not saved (the key is released so the client can retry), and a request that
//! died mid-way releases its key when its lease runs out.

use std::future::Future;

use actix_web::{
    body::{to_bytes, MessageBody},
    http::{header, StatusCode},
    FromRequest, HttpRequest, HttpResponse, ResponseError,
};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

use crate::{
    db::{schema::idempotency_keys, text_enum, DbPool},
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
const LEASE: TimeDelta = TimeDelta::seconds(60);

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

#[derive(Queryable)]
struct StoredKey {
    request_hash: Vec<u8>,
    state: KeyState,
    response_status: Option<i16>,
    response_content_type: Option<String>,
    response_body: Option<Vec<u8>>,
    locked_until: DateTime<Utc>,
}

enum Claim {
    /// This request owns the key and must run.
    Run,
    /// A saved answer to replay.
    Replay(HttpResponse),
}

/// Runs `handler` at most once per (caller, route, key); see the module docs.
/// `request` is the bytes that identify the request (its body, plus any path
/// parameters the route does not already fix).
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
    let Some(key) = key.0.as_deref() else {
        return handler().await;
    };
    let hash = Sha256::digest(request).to_vec();
    {
        let mut conn = pool.get().await?;
        if let Claim::Replay(response) = claim(&mut conn, now, caller, route, key, &hash).await? {
            return Ok(response);
        }
    }
    let response = match handler().await {
        Ok(r) => r,
        Err(e) => e.error_response(),
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut conn = pool.get().await?;
    let target = idempotency_keys::table.find((caller, route, key));
    if status.is_server_error() {
        diesel::delete(target).execute(&mut conn).await?;
        return Ok(response);
    }
    let (head, body) = response.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|_| ApiError::internal(anyhow::anyhow!("response body could not be buffered")))?;
    diesel::update(target)
        .set((
            idempotency_keys::state.eq(KeyState::Completed),
            idempotency_keys::response_status.eq(status.as_u16() as i16),
            idempotency_keys::response_content_type.eq(&content_type),
            idempotency_keys::response_body.eq(bytes.as_ref()),
        ))
        .execute(&mut conn)
        .await?;
    Ok(head.set_body(bytes.boxed()))
}

async fn claim(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    caller: &str,
    route: &str,
    key: &str,
    hash: &[u8],
) -> Result<Claim, ApiError> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::caller.eq(caller),
            idempotency_keys::route.eq(route),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::state.eq(KeyState::InProgress),
            idempotency_keys::locked_until.eq(now + LEASE),
            idempotency_keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(Claim::Run);
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
        let status = stored
            .response_status
            .and_then(|s| StatusCode::from_u16(s as u16).ok())
            .unwrap_or(StatusCode::OK);
        let mut replay = HttpResponse::build(status);
        replay.insert_header(("Idempotent-Replayed", "true"));
        if let Some(ct) = stored.response_content_type {
            replay.insert_header((header::CONTENT_TYPE, ct));
        }
        return Ok(Claim::Replay(
            replay.body(stored.response_body.unwrap_or_default()),
        ));
    }
    if stored.locked_until < now {
        // The first request died without answering: take its key over, once.
        let taken = diesel::update(
            idempotency_keys::table
                .find((caller, route, key))
                .filter(idempotency_keys::state.eq(KeyState::InProgress))
                .filter(idempotency_keys::locked_until.lt(now)),
        )
        .set(idempotency_keys::locked_until.eq(now + LEASE))
        .execute(conn)
        .await?;
        if taken == 1 {
            return Ok(Claim::Run);
        }
    }
    Err(ApiError::new(ErrorCode::IdempotencyRequestInProgress)
        .detail("A request with this Idempotency-Key is still running; retry shortly.")
        .retry_after(1))
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
}
