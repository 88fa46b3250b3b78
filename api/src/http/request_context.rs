//! Gives every request an id (echoed from `X-Request-Id` when the client sent a
//! sane one), a tracing span carrying it, and one log line with method, route
//! pattern, status and latency. Route patterns (`/v1/admin/accounts/{id}`) are
//! logged instead of paths so ids and query strings (which may hold an email)
//! stay out of the log.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    FromRequest, HttpMessage, HttpRequest,
};
use tracing::Instrument;

/// The request's id, also returned in `X-Request-Id`.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Accepts a client id only when short and printable, so it cannot forge log lines.
fn sane(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| s.to_owned())
}

/// The middleware (installed with `actix_web::middleware::from_fn`).
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(&HEADER)
        .and_then(sane)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %request_id, method = %method);
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let _enter = span.enter();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(mut res) => {
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                res.headers_mut().insert(HEADER, value);
            }
            let route = res
                .request()
                .match_pattern()
                .unwrap_or_else(|| "(unmatched)".to_owned());
            let status = res.status().as_u16();
            if status >= 500 {
                tracing::error!(%route, status, latency_ms, "request finished");
            } else {
                tracing::info!(%route, status, latency_ms, "request finished");
            }
            Ok(res)
        }
        Err(e) => {
            tracing::error!(latency_ms, error = %e, "request failed before a response");
            Err(e)
        }
    }
}

impl FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()));
        std::future::ready(Ok(id))
    }
}
