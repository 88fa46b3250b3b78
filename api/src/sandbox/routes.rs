//! `/v1/sandbox/*` (API.md Sandbox mode). Only mounted in sandbox; production
//! answers 404 for every path here.

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::{
    contract::Operation,
    error::{ApiError, ApiResult, ErrorCode},
    http::JsonBody,
    jobs::Job,
    notifications::outbox::{self, NotificationView},
    pagination::{Page, SeqPageParams},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = &[
    Operation::new("get_clock", &[]).without_database(),
    Operation::new("set_clock", &[]),
    Operation::new("reset_clock", &[]),
    Operation::new("list_notifications", &[ErrorCode::Unauthenticated]),
    Operation::new("run_job", &[]),
];

/// The service clock.
#[derive(Serialize, ToSchema)]
pub struct ClockView {
    /// The service time now.
    pub now: DateTime<Utc>,
    /// Whether the clock was moved away from real time.
    pub overridden: bool,
}

/// Sets the service clock.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClock {
    /// The time to jump to (RFC 3339 with offset); the clock keeps ticking from it.
    #[schema(example = "2026-07-19T23:59:00+07:00")]
    pub now: DateTime<Utc>,
}

fn clock_view(state: &AppState) -> ClockView {
    let now = state.clock.now();
    ClockView {
        now,
        overridden: (now - Utc::now()).num_seconds().abs() > 1,
    }
}

/// Read the service clock
///
/// Reads the service clock.
///
/// `overridden` says whether the clock was moved away from real time.
#[utoipa::path(tag = "sandbox", responses((status = 200, body = ClockView)))]
#[get("/clock")]
pub async fn get_clock(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(clock_view(&state))
}

/// Set the service clock
///
/// Moves the service clock for every instance. Every programme rule, OTP
/// lifetime, lock-out window and job reads it (token lifetimes and partner
/// timestamps use real time).
#[utoipa::path(
    tag = "sandbox",
    request_body = SetClock,
    responses(
        (status = 200, body = ClockView),
    )
)]
#[put("/clock")]
pub async fn set_clock(
    state: web::Data<AppState>,
    body: JsonBody<SetClock>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    state.clock.set(&mut conn, body.0.now).await?;
    Ok(HttpResponse::Ok().json(clock_view(&state)))
}

/// Reset the service clock
///
/// Returns the service clock to real time.
#[utoipa::path(tag = "sandbox", responses((status = 200, body = ClockView)))]
#[delete("/clock")]
pub async fn reset_clock(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    state.clock.reset(&mut conn).await?;
    Ok(HttpResponse::Ok().json(clock_view(&state)))
}

/// Filter for the inbox.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only messages to this email address or E.164 number.
    #[param(example = "budi@example.com")]
    #[serde(default, deserialize_with = "crate::http::query::text")]
    pub recipient: Option<String>,
}

/// Sandbox inbox: messages the server would have sent
///
/// Messages the server queued (would have sent), newest first in the order they
/// were queued (also after the clock was moved back), with their
/// template `data` (codes, tokens) so apps can complete flows without a mailbox.
///
/// Open to anyone, unless the sandbox is configured with a real notification
/// gateway (`NOTIFY_URL`): it then requires `SANDBOX_INBOX_TOKEN` in
/// `X-Sandbox-Token` (else 401 `unauthenticated`), because the messages are real.
#[utoipa::path(
    operation_id = "list_notifications",
    tag = "sandbox",
    params(
        InboxQuery,
        SeqPageParams,
        ("X-Sandbox-Token" = Option<String>, Header, description = "The configured `SANDBOX_INBOX_TOKEN`, when one is configured"),
    ),
    responses(
        (status = 200, body = Page<NotificationView>),
    )
)]
#[get("/notifications")]
pub async fn notifications(
    req: HttpRequest,
    state: web::Data<AppState>,
    filter: web::Query<InboxQuery>,
    page: web::Query<SeqPageParams>,
) -> ApiResult<HttpResponse> {
    if let Some(token) = &state.settings.sandbox_inbox_token {
        let given = req
            .headers()
            .get("x-sandbox-token")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !bool::from(given.ct_eq(token.expose_secret().as_bytes())) {
            return Err(ApiError::new(ErrorCode::Unauthenticated)
                .detail("This sandbox sends real messages: send X-Sandbox-Token."));
        }
    }
    let (limit, after) = page.parse_seq()?;
    let recipient = filter.recipient.as_deref().map(normalise_recipient);
    let mut conn = state.db.get().await?;
    let list = outbox::list(&mut conn, recipient.as_deref(), limit, after).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Emails compare lower-cased. A `+` left unencoded in a query string arrives as
/// a space, so `?recipient=+6281…` would lose its plus: numbers are given it back.
fn normalise_recipient(raw: &str) -> String {
    let r = raw.trim().to_lowercase();
    if r.starts_with("62") && r.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{r}")
    } else {
        r
    }
}

/// What a job run did.
#[derive(Serialize, ToSchema)]
pub struct JobRun {
    #[schema(example = "deliver_notifications")]
    pub job: &'static str,
    /// Counts reported by the job.
    #[schema(value_type = Object, example = json!({"sent": 3, "retrying": 0, "failed": 0}))]
    pub report: serde_json::Value,
}

/// Run a background job now
///
/// Runs a background job now. Names: `deliver_notifications`,
/// `purge_expired_data`, `deactivate_expired_cards`, `expire_purchases`, `schedule_incentives`,
/// `disburse_incentives`, `reconcile_disbursements`. An unknown name answers 404.
#[utoipa::path(
    tag = "sandbox",
    params(("name" = String, Path, description = "Job name", example = "deliver_notifications")),
    responses(
        (status = 200, body = JobRun),
    )
)]
#[post("/jobs/{name}")]
pub async fn run_job(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let job = Job::from_name(&name)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound).detail("No job by that name."))?;
    let report = job.run(&state).await?;
    Ok(HttpResponse::Ok().json(JobRun {
        job: job.name(),
        report,
    }))
}

#[cfg(test)]
mod tests {
    use super::normalise_recipient;

    #[test]
    fn recipients_are_normalised_like_stored_ones() {
        assert_eq!(
            normalise_recipient(" Budi@Example.com "),
            "budi@example.com"
        );
        assert_eq!(normalise_recipient("+6281234567890"), "+6281234567890");
        assert_eq!(normalise_recipient(" 6281234567890"), "+6281234567890");
    }
}
