//! The per-IP limit on every route (API.md Conventions: `RATE_LIMIT_IP_PER_MINUTE`
//! a minute per client address and route, 300 by default; OWASP API4:2023).
//! The gate ([`super::gate`]) counts every request in front of every route, so
//! a route added by any domain is limited without opting in; a flood of badly
//! signed tokens costs one upsert per request, not a session lookup.
//!
//! The budget is per route (its pattern, `/v1/admin/accounts/{id}`, not the
//! path, so ids cannot multiply it): thousands of phones behind one
//! carrier-grade NAT address share it, and one app screen's calls do not eat
//! another's. Costly calls have tighter per-account quotas of their own.
//!
//! Not limited: `/health` and `/ready` (orchestrator probes must never be
//! refused) and, in sandbox mode only, the sandbox tooling (`/v1/sandbox/*`,
//! absent in production), which test suites drive far faster than any client.

use actix_web::dev::ServiceRequest;

use super::client_ip;
use crate::{error::ApiError, ratelimit::Exceeded};

/// Whether `path` is outside the limit (see the module docs).
fn exempt(path: &str) -> bool {
    path == "/health" || path == "/ready" || path.starts_with("/v1/sandbox/")
}

/// The counter a request is counted in, `None` for a path outside the limit.
pub fn bucket(req: &ServiceRequest) -> Option<String> {
    if exempt(req.path()) {
        return None;
    }
    let ip = client_ip::of_request(req.request());
    // Unrouted paths share one budget, so scanning for routes is limited too.
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_owned());
    Some(format!("ip:{} {route}:{ip}", req.method()))
}

/// The answer to a request over its address's budget.
pub fn refusal(exceeded: Exceeded) -> ApiError {
    ApiError::from(exceeded)
        .detail("Too many requests from this address; wait for the time in Retry-After.")
}
