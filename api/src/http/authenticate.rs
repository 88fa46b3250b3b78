//! Resolves `Authorization: Bearer …`: the token's signature and expiry on the
//! CPU, then its session in the database, so a logout, password change or
//! block takes effect at once. The gate ([`super::gate`]) runs it before the
//! handler's extractors, so a bad token is answered 401 even when the body is
//! also malformed (API.md), and leaves the outcome in the request's extensions
//! for the `auth` extractors.

use actix_web::{dev::ServiceRequest, http::header};
use chrono::{DateTime, Utc};
use diesel::{prelude::*, OptionalExtension, QueryResult};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::{
    auth::{
        jwt::{Claims, TokenError},
        Principal, Role,
    },
    db::{
        schema::{accounts, sessions},
        Reader,
    },
    error::ErrorCode,
    state::AppState,
};

/// The bearer token of a request: `None` without an `Authorization` header,
/// `Some(None)` when the header is there but holds no bearer token.
pub fn bearer_token(req: &ServiceRequest) -> Option<Option<&str>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim),
    )
}

/// The token's claims, when it is signed by us and unexpired (no database).
pub fn claims(state: &AppState, token: &str) -> Result<Claims, ErrorCode> {
    state.tokens.verify(token).map_err(|e| match e {
        TokenError::Expired => ErrorCode::AccessTokenExpired,
        TokenError::Invalid => ErrorCode::Unauthenticated,
    })
}

/// What decides whether a session still admits requests.
#[derive(Queryable)]
pub struct SessionState {
    account_id: Uuid,
    ended_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    role: Role,
    blocked_at: Option<DateTime<Utc>>,
}

/// The session a token names, with its account's role and block.
pub async fn session(conn: &mut impl Reader, id: Uuid) -> QueryResult<Option<SessionState>> {
    sessions::table
        .inner_join(accounts::table)
        .filter(sessions::id.eq(id))
        .select((
            sessions::account_id,
            sessions::ended_at,
            sessions::expires_at,
            accounts::role,
            accounts::blocked_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// Whether the session admits the token's bearer at real time `now`.
pub fn principal(
    claims: &Claims,
    session: Option<SessionState>,
    now: DateTime<Utc>,
) -> Result<Principal, ErrorCode> {
    let Some(SessionState {
        account_id,
        ended_at,
        expires_at,
        role,
        blocked_at,
    }) = session
    else {
        return Err(ErrorCode::Unauthenticated);
    };
    if account_id != claims.sub {
        return Err(ErrorCode::Unauthenticated);
    }
    // Session lifetimes are security checks on real time (API.md: Time).
    if ended_at.is_some() || blocked_at.is_some() || expires_at <= now {
        return Err(ErrorCode::SessionEnded);
    }
    Ok(Principal {
        account_id,
        session_id: claims.sid,
        role,
    })
}
