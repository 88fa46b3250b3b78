//! The per-IP limit on every route (API.md Conventions: `RATE_LIMIT_IP_PER_MINUTE`
//! a minute per client address and route, 300 by default; OWASP API4:2023). One
//! middleware in front of every route, so a route added by any domain is
//! limited without opting in. It runs before authentication, so a flood of bad
//! tokens costs one upsert per request, not a session lookup.
//!
//! The budget is per route (its pattern, `/v1/admin/accounts/{id}`, not the
//! path, so ids cannot multiply it): thousands of phones behind one
//! carrier-grade NAT address share it, and one app screen's calls do not eat
//! another's. Costly calls have tighter per-account quotas of their own.
//!
//! Not limited: `/health` and `/ready` (orchestrator probes must never be
//! refused) and, in sandbox mode only, the sandbox tooling (`/v1/sandbox/*`,
//! absent in production), which test suites drive far faster than any client.

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web, ResponseError,
};

use super::client_ip;
use crate::{error::ApiError, ratelimit, state::AppState};

/// Whether `path` is outside the limit (see the module docs).
fn exempt(path: &str) -> bool {
    path == "/health" || path == "/ready" || path.starts_with("/v1/sandbox/")
}

/// The middleware (installed with `actix_web::middleware::from_fn`).
pub async fn ip_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    if exempt(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let ip = client_ip::of_request(req.request());
    // Unrouted paths share one budget, so scanning for routes is limited too.
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let bucket = format!("ip:{} {route}:{ip}", req.method());
    let verdict = match state.db.get().await {
        Ok(mut conn) => ratelimit::count_request(
            &mut conn,
            &bucket,
            state.settings.rate_limit_ip_per_minute,
            state.clock.now(),
        )
        .await
        .map_err(ApiError::from),
        Err(e) => Err(ApiError::from(e)),
    };
    let refusal = match verdict {
        Ok(Ok(())) => None,
        Ok(Err(exceeded)) => Some(
            ApiError::from(exceeded)
                .detail("Too many requests from this address; wait for the time in Retry-After."),
        ),
        Err(e) => Some(e),
    };
    match refusal {
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Some(error) => {
            let response = error.error_response();
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}
