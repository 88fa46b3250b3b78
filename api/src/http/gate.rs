//! What every request passes before its handler: the per-IP limit
//! ([`super::ip_limit`]) and the bearer token ([`super::authenticate`]).
//!
//! Both need the database and neither needs the other's answer, so they go
//! out together on one pooled connection (pipelined, see [`crate::db::Reader`]):
//! one checkout and one round trip, however many of the two a request needs.
//! The connection goes back to the pool before the handler runs, so a
//! handler waiting on an outside service holds none. A token that is not
//! signed by us or has expired is refused on the CPU and costs no lookup.

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web, HttpMessage, ResponseError,
};
use diesel_async::AsyncPgConnection;

use super::{authenticate, ip_limit};
use crate::{
    auth::{jwt::Claims, AuthOutcome, Principal},
    error::{ApiError, ErrorCode},
    ratelimit,
    state::AppState,
};

/// The middleware (installed with `actix_web::middleware::from_fn`).
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let bucket = ip_limit::bucket(&req);
    // `None`: no Authorization header; `Some(Err)`: refused on the CPU.
    let token: Option<Result<Claims, ErrorCode>> = authenticate::bearer_token(&req).map(|t| {
        t.ok_or(ErrorCode::Unauthenticated)
            .and_then(|t| authenticate::claims(&state, t))
    });
    let (limit, session) = match (bucket, token) {
        (None, None) => (Ok(()), None),
        (None, Some(Err(code))) => (Ok(()), Some(Err(code))),
        (bucket, token) => checks(&state, bucket.as_deref(), token).await,
    };
    if let Err(refusal) = limit {
        let response = refusal.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    if let Some(outcome) = session {
        req.extensions_mut().insert(AuthOutcome(outcome));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The limit's verdict on `bucket` and the outcome of `token`, from one
/// round trip on one connection.
async fn checks(
    state: &AppState,
    bucket: Option<&str>,
    token: Option<Result<Claims, ErrorCode>>,
) -> (Result<(), ApiError>, Option<Result<Principal, ErrorCode>>) {
    let conn = match state.db.get().await {
        Ok(conn) => conn,
        Err(e) => {
            let outcome = token.map(|_| Err(ErrorCode::ServiceUnavailable));
            return (Err(ApiError::from(e)), outcome);
        }
    };
    let shared: &AsyncPgConnection = &conn;
    let (mut counter, mut lookup) = (shared, shared);
    let count = async {
        let Some(bucket) = bucket else {
            return Ok(());
        };
        let per_minute = state.settings.rate_limit_ip_per_minute;
        ratelimit::count_request(&mut counter, bucket, per_minute, state.clock.now())
            .await
            .map_err(ApiError::from)?
            .map_err(ip_limit::refusal)
    };
    let resolve = async {
        let claims = match token? {
            Ok(claims) => claims,
            Err(code) => return Some(Err(code)),
        };
        Some(match authenticate::session(&mut lookup, claims.sid).await {
            Ok(row) => authenticate::principal(&claims, row, state.clock.security_now()),
            Err(_) => Err(ErrorCode::ServiceUnavailable),
        })
    };
    futures_util::join!(count, resolve)
}
