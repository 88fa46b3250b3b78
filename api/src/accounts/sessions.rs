//! Sessions (DOMAIN.md §1): one per login, with a short-lived access JWT and an
//! opaque refresh token rotated on every use. Presenting a token that was
//! already exchanged ends its whole family (the session): someone has a copy.
//! Lifetimes use real time, like the JWT (API.md: Time).

use chrono::TimeDelta;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{
    model::{self, EndReason, RefreshTokenState},
    views::TokenPair,
    Deps,
};
use crate::{
    audit::{self, Action, Event},
    error::{ApiError, ErrorCode},
    http::Caller,
    secrets,
};

/// The hashing label of refresh tokens.
const REFRESH_TOKEN: &str = "refresh_token";

/// An access token for the session, with its refresh token.
pub(super) fn token_pair(
    deps: Deps<'_>,
    account_id: Uuid,
    session_id: Uuid,
    refresh_token: String,
) -> Result<TokenPair, ApiError> {
    Ok(TokenPair {
        access_token: deps.tokens.issue(account_id, session_id)?,
        token_type: "Bearer",
        expires_in: deps.tokens.ttl_secs(),
        refresh_token,
    })
}

/// Opens a session with its first refresh token (inside the login's transaction).
pub(super) async fn open(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    account_id: Uuid,
    caller: &Caller,
) -> Result<(Uuid, String), ApiError> {
    let real_now = deps.clock.security_now();
    let session_id = Uuid::new_v4();
    let ttl = TimeDelta::from_std(deps.settings.refresh_token_ttl).map_err(ApiError::internal)?;
    let ip = caller.ip.to_string();
    model::insert_session(conn, session_id, account_id, &ip, real_now, real_now + ttl).await?;
    let refresh = issue_refresh_token(conn, deps, session_id).await?;
    Ok((session_id, refresh))
}

async fn issue_refresh_token(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    session_id: Uuid,
) -> Result<String, ApiError> {
    let token = secrets::random_token();
    let hash = deps.secrets.hash(REFRESH_TOKEN, &token);
    model::insert_refresh_token(conn, session_id, &hash, deps.clock.security_now()).await?;
    Ok(token)
}

/// Exchanges a refresh token for a new pair (see the module docs on reuse).
pub async fn refresh(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    caller: &Caller,
    refresh_token: &str,
) -> Result<TokenPair, ApiError> {
    let hash = deps.secrets.hash(REFRESH_TOKEN, refresh_token);
    let real_now = deps.clock.security_now();
    let now = deps.clock.now();
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let invalid = || ApiError::new(ErrorCode::RefreshTokenInvalid).detail("Log in again.");
            let Some(RefreshTokenState {
                token_id,
                rotated_at,
                session_id,
                account_id,
                ended_at,
                expires_at,
            }) = model::lock_refresh_token(conn, &hash).await?
            else {
                return Ok(Err(invalid()));
            };
            if rotated_at.is_some() {
                if model::end_session(conn, session_id, EndReason::RefreshTokenReused, real_now)
                    .await?
                    > 0
                {
                    audit::record(
                        conn,
                        now,
                        &caller.origin,
                        Event::about(account_id, Action::RefreshTokenReused),
                    )
                    .await?;
                }
                return Ok(Err(ApiError::new(ErrorCode::RefreshTokenReused).detail(
                    "This refresh token was already used; the session has ended. Log in again.",
                )));
            }
            let account = model::find(conn, account_id)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::RefreshTokenInvalid))?;
            if ended_at.is_some() || expires_at <= real_now || account.blocked() {
                return Ok(Err(invalid()));
            }
            model::mark_rotated(conn, token_id, real_now).await?;
            let next = issue_refresh_token(conn, deps, session_id).await?;
            Ok(Ok((account_id, session_id, next)))
        })
        .await?;
    let (account_id, session_id, next) = outcome?;
    token_pair(deps, account_id, session_id, next)
}

/// Ends the session of a refresh token. Unknown tokens are ignored (logout is idempotent).
pub async fn logout(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    caller: &Caller,
    refresh_token: &str,
) -> Result<(), ApiError> {
    let hash = deps.secrets.hash(REFRESH_TOKEN, refresh_token);
    let now = deps.clock.now();
    let real_now = deps.clock.security_now();
    conn.transaction::<_, ApiError, _>(async |conn| {
        if let Some((session_id, account_id)) = model::session_of_refresh_token(conn, &hash).await?
        {
            if model::end_session(conn, session_id, EndReason::Logout, real_now).await? > 0 {
                audit::record(
                    conn,
                    now,
                    &caller.origin,
                    Event::own(account_id, Action::Logout),
                )
                .await?;
            }
        }
        Ok(())
    })
    .await
}
