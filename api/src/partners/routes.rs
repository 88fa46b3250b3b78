//! `/v1/admin/partners*`: partner platforms, their secrets and status (admin
//! only: 401 without a token, 403 `forbidden` for participants).

use actix_web::{get, post, web, HttpResponse};
use chrono::Duration;
use uuid::Uuid;

use super::{
    model::PartnerStatus,
    service,
    views::{
        NewPartner, PartnerCreated, PartnerStatusChange, PartnerView, RotateSecret, RotatedSecret,
        DEFAULT_GRACE_HOURS,
    },
};
use crate::{
    auth::Admin,
    contract::Operation,
    error::ApiResult,
    http::{Caller, JsonBody},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = &[
    Operation::new("create_partner", &[]),
    Operation::new("get_partner", &[]),
    Operation::new("rotate_partner_secret", &[]),
    Operation::new("disable_partner", &[]),
    Operation::new("enable_partner", &[]),
];

/// Create a partner platform
///
/// Registers a partner platform and answers its id and HMAC secret. The secret
/// is shown in this answer only: the server stores it encrypted and never shows
/// it again (rotate to replace a lost one).
///
/// `capabilities` says what it publishes: `training` (courses, the default),
/// `jobs` (vacancies: a job board), or both.
///
/// The platform signs every partner request with it: `X-Partner-Id` = `partner_id`,
/// `X-Timestamp` = unix seconds, `X-Signature` = lowercase hex
/// HMAC-SHA256(secret, `METHOD\nPATH_WITH_QUERY\nX-Timestamp\nhex(SHA-256(body))`).
#[utoipa::path(
    operation_id = "create_partner",
    tag = "admin",
    security(("bearer" = [])),
    request_body = NewPartner,
    responses((status = 201, body = PartnerCreated))
)]
#[post("/admin/partners")]
pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<NewPartner>,
) -> ApiResult<HttpResponse> {
    let capabilities = body.0.capabilities()?;
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let created = service::create(
        &mut conn,
        &state.pii,
        &caller,
        &admin.0,
        &body.0.name,
        &capabilities,
        now,
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// One partner platform
///
/// Its status and the dates of its secret's rotations (never the secret).
#[utoipa::path(
    operation_id = "get_partner",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    responses((status = 200, body = PartnerView))
)]
#[get("/admin/partners/{id}")]
pub async fn get(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(service::get(&mut conn, id.into_inner()).await?))
}

/// Rotate a partner's secret
///
/// Makes a new secret and answers it (once). The replaced secret keeps working
/// for `grace_period_hours` (default 24; 0 revokes it at once), measured on the
/// server's real time like the signature window, so the platform can deploy the
/// new one without refused requests. Only two secrets are ever valid: rotating
/// again during a grace period drops the older replaced secret at once. Send `{}`
/// for the default.
#[utoipa::path(
    operation_id = "rotate_partner_secret",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = RotateSecret,
    responses((status = 200, body = RotatedSecret))
)]
#[post("/admin/partners/{id}/secret-rotations")]
pub async fn rotate(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<RotateSecret>,
) -> ApiResult<HttpResponse> {
    let hours = body.0.grace_period_hours.unwrap_or(DEFAULT_GRACE_HOURS);
    let mut conn = state.db.get().await?;
    let rotated = service::rotate(
        &mut conn,
        &state.pii,
        &caller,
        &admin.0,
        id.into_inner(),
        Duration::hours(hours),
        state.clock.now(),
        state.clock.security_now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(rotated))
}

/// Disable a partner platform
///
/// From now on every request it signs is refused with 401 `invalid_signature`
/// (its purchases stay as they are). Idempotent; the reason is audited.
#[utoipa::path(
    operation_id = "disable_partner",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = PartnerStatusChange,
    responses((status = 200, body = PartnerView))
)]
#[post("/admin/partners/{id}/disable")]
pub async fn disable(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<PartnerStatusChange>,
) -> ApiResult<HttpResponse> {
    set_status(
        &state,
        &caller,
        &admin,
        id.into_inner(),
        PartnerStatus::Disabled,
        &body.0,
    )
    .await
}

/// Enable a partner platform
///
/// Lets a disabled platform sign requests again (with its current secret).
/// Idempotent; the reason is audited.
#[utoipa::path(
    operation_id = "enable_partner",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = PartnerStatusChange,
    responses((status = 200, body = PartnerView))
)]
#[post("/admin/partners/{id}/enable")]
pub async fn enable(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<PartnerStatusChange>,
) -> ApiResult<HttpResponse> {
    set_status(
        &state,
        &caller,
        &admin,
        id.into_inner(),
        PartnerStatus::Active,
        &body.0,
    )
    .await
}

async fn set_status(
    state: &AppState,
    caller: &Caller,
    admin: &Admin,
    id: Uuid,
    status: PartnerStatus,
    body: &PartnerStatusChange,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let view =
        service::set_status(&mut conn, caller, &admin.0, id, status, &body.reason, now).await?;
    Ok(HttpResponse::Ok().json(view))
}
