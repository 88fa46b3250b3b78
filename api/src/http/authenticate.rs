//! Resolves `Authorization: Bearer …` before the handler's extractors run, so a
//! bad token is answered 401 even when the body is also malformed (API.md). The
//! outcome is left in the request's extensions for the `auth` extractors.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web, HttpMessage,
};
use chrono::{DateTime, Utc};
use diesel::{prelude::*, OptionalExtension};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::{
    auth::{jwt::TokenError, AuthOutcome, Principal, Role},
    db::schema::{accounts, sessions},
    error::ErrorCode,
    state::AppState,
};

/// The middleware (installed with `actix_web::middleware::from_fn`).
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .map(str::to_owned);
        let outcome = match (token, req.app_data::<web::Data<AppState>>()) {
            (Some(token), Some(state)) => resolve(state, &token).await,
            _ => Err(ErrorCode::Unauthenticated),
        };
        req.extensions_mut().insert(AuthOutcome(outcome));
    }
    next.call(req).await
}

/// What decides whether a session still admits requests.
#[derive(Queryable)]
struct SessionState {
    account_id: Uuid,
    ended_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    role: Role,
    blocked_at: Option<DateTime<Utc>>,
}

async fn resolve(state: &AppState, token: &str) -> Result<Principal, ErrorCode> {
    let claims = state.tokens.verify(token).map_err(|e| match e {
        TokenError::Expired => ErrorCode::AccessTokenExpired,
        TokenError::Invalid => ErrorCode::Unauthenticated,
    })?;
    let mut conn = state
        .db
        .get()
        .await
        .map_err(|_| ErrorCode::ServiceUnavailable)?;
    let row: Option<SessionState> = sessions::table
        .inner_join(accounts::table)
        .filter(sessions::id.eq(claims.sid))
        .select((
            sessions::account_id,
            sessions::ended_at,
            sessions::expires_at,
            accounts::role,
            accounts::blocked_at,
        ))
        .first(&mut conn)
        .await
        .optional()
        .map_err(|_| ErrorCode::ServiceUnavailable)?;
    let Some(SessionState {
        account_id,
        ended_at,
        expires_at,
        role,
        blocked_at,
    }) = row
    else {
        return Err(ErrorCode::Unauthenticated);
    };
    if account_id != claims.sub {
        return Err(ErrorCode::Unauthenticated);
    }
    // Session lifetimes are security checks on real time (API.md: Time).
    if ended_at.is_some() || blocked_at.is_some() || expires_at <= state.clock.security_now() {
        return Err(ErrorCode::SessionEnded);
    }
    Ok(Principal {
        account_id,
        session_id: claims.sid,
        role,
    })
}
