//! `/v1/admin/accounts*` and `/v1/admin/audit-events`. Admin-only: 401 without a
//! token, 403 `forbidden` for participants.

use actix_web::{get, post, put, web, HttpResponse};
use uuid::Uuid;

use super::service::{self, AccountFilter, AdminAccount, Change, FraudFlagBody, ReasonBody};
use crate::{
    accounts::views::Me,
    audit::{self, AuditEventView, AuditFilter},
    auth::Admin,
    contract::Operation,
    error::ApiResult,
    http::{Caller, JsonBody},
    pagination::{Page, PageParams},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = &[
    Operation::new("list_accounts", &[]),
    Operation::new("get_account", &[]),
    Operation::new("block_account", &[]),
    Operation::new("unblock_account", &[]),
    Operation::new("set_fraud_flag", &[]),
    Operation::new("list_audit_events", &[]),
];

async fn apply(
    state: &AppState,
    caller: &Caller,
    admin: &Admin,
    id: Uuid,
    change: Change,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let (clock, pii) = (&state.clock, &state.pii);
    let view = service::apply(&mut conn, clock, pii, caller, &admin.0, id, change).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// List accounts
///
/// Accounts, newest first; `email` finds one by address.
///
/// Paged with `limit` and `cursor`.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(AccountFilter, PageParams),
    responses(
        (status = 200, body = Page<Me>),
    )
)]
#[get("/admin/accounts")]
pub async fn list_accounts(
    _admin: Admin,
    state: web::Data<AppState>,
    filter: web::Query<AccountFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(
        service::list(
            &mut conn,
            &state.pii,
            &filter,
            page,
            state.clock.today_jakarta(),
        )
        .await?,
    ))
}

/// One account
///
/// One account with its flags, registration and beneficiary summary, and
/// `incentives`: every incentive with its payout attempts and the payout
/// account (masked), as `GET /v1/admin/accounts/{id}/incentives` answers.
///
/// 404 `not_found` for an unknown id.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 200, body = AdminAccount),
    )
)]
#[get("/admin/accounts/{id}")]
pub async fn get_account(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(
        service::get(
            &mut conn,
            &state.pii,
            id.into_inner(),
            state.clock.today_jakarta(),
        )
        .await?,
    ))
}

/// Block an account
///
/// Blocks an account (it can no longer log in; its sessions end at once).
#[utoipa::path(
    operation_id = "block_account",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id")),
    request_body = ReasonBody,
    responses(
        (status = 200, body = Me),
    )
)]
#[post("/admin/accounts/{id}/block")]
pub async fn block(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<ReasonBody>,
) -> ApiResult<HttpResponse> {
    let change = Change::Block {
        reason: body.0.reason,
    };
    apply(&state, &caller, &admin, id.into_inner(), change).await
}

/// Unblock an account
///
/// Unblocks an account.
///
/// Clears the block; the account may log in again (its old sessions stay ended). The
/// reason is audited.
#[utoipa::path(
    operation_id = "unblock_account",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id")),
    request_body = ReasonBody,
    responses(
        (status = 200, body = Me),
    )
)]
#[post("/admin/accounts/{id}/unblock")]
pub async fn unblock(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<ReasonBody>,
) -> ApiResult<HttpResponse> {
    let change = Change::Unblock {
        reason: body.0.reason,
    };
    apply(&state, &caller, &admin, id.into_inner(), change).await
}

/// Set or clear the fraud flag
///
/// Sets or clears the suspected-fraud flag (only an admin clears it).
///
/// The reason is audited.
#[utoipa::path(
    operation_id = "set_fraud_flag",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id")),
    request_body = FraudFlagBody,
    responses(
        (status = 200, body = Me),
    )
)]
#[put("/admin/accounts/{id}/fraud-flag")]
pub async fn fraud_flag(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<FraudFlagBody>,
) -> ApiResult<HttpResponse> {
    let FraudFlagBody {
        fraud_suspected,
        reason,
    } = body.0;
    let change = Change::FraudFlag {
        suspected: fraud_suspected,
        reason,
    };
    apply(&state, &caller, &admin, id.into_inner(), change).await
}

/// List audit events
///
/// The audit trail, newest first, filtered by actor, subject, action and time.
///
/// `from` is inclusive, `to` exclusive; paged with `limit` and `cursor`.
#[utoipa::path(
    operation_id = "list_audit_events",
    tag = "admin",
    security(("bearer" = [])),
    params(AuditFilter, PageParams),
    responses(
        (status = 200, body = Page<AuditEventView>),
    )
)]
#[get("/admin/audit-events")]
pub async fn audit_events(
    _admin: Admin,
    state: web::Data<AppState>,
    filter: web::Query<AuditFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(audit::list(&mut conn, &filter, page).await?))
}
