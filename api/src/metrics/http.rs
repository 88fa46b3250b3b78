//! The request middleware: one count and one latency observation per answer,
//! labelled by the route template (`/v1/batches/{id}`), never the path, so ids
//! stay out of the labels and the number of series stays bounded.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    web,
};

use crate::state::AppState;

/// Requests no route matched share one label (a scanner's paths must not each
/// make a series).
const UNMATCHED: &str = "(unmatched)";

/// The login steps whose 429s are counted on their own: a storm of them is the
/// first sign of credential stuffing or of limits set too tight.
const LOGIN_ROUTES: &[&str] = &[
    "/v1/auth/login",
    "/v1/auth/login/verify",
    "/v1/auth/login/resend",
];

/// Standard methods keep their name; anything else is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The middleware (installed with `actix_web::middleware::from_fn`, outermost, so
/// it sees every answer, the ones middleware gives included).
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = method_label(req.method());
    let started = Instant::now();
    let result = next.call(req).await;
    if let Some(state) = state {
        let (status, route) = match &result {
            Ok(res) => (res.status(), res.request().match_pattern()),
            Err(e) => (e.as_response_error().status_code(), None),
        };
        let route = route.as_deref().unwrap_or(UNMATCHED);
        let status = status.as_str();
        let m = &state.metrics;
        m.http_requests
            .with_label_values(&[method, route, status])
            .inc();
        m.http_duration
            .with_label_values(&[method, route, status])
            .observe(started.elapsed().as_secs_f64());
        if status == "429" && LOGIN_ROUTES.contains(&route) {
            m.login_rate_limited.with_label_values(&[route]).inc();
        }
    }
    result
}
