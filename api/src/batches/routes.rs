//! Handlers of the wave routes.

use actix_web::{get, http::StatusCode, patch, post, web, HttpResponse};
use uuid::Uuid;

use super::{selection, service, views::*};
use crate::{
    auth::{Admin, Authenticated},
    contract::Operation,
    error::{ApiError, ApiResult, ErrorCode},
    http::{Caller, JsonBody},
    idempotency::{self, Answer, Claim, IdempotencyKey},
    pagination::{Page, PageParams},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = {
    use ErrorCode::*;
    &[
        Operation::new("list_batches", &[]),
        Operation::new(
            "apply_to_batch",
            &[
                NotEligible,
                BatchRegionMismatch,
                RegistrationIncomplete,
                AlreadyApplied,
                AlreadyBeneficiary,
                BatchClosed,
            ],
        )
        .participant_only(),
        Operation::new("list_my_applications", &[]).participant_only(),
        Operation::new("create_batch", &[]),
        Operation::new("get_batch", &[]),
        Operation::new("update_batch", &[BatchNotUpcoming]),
        Operation::new(
            "run_selection",
            &[BatchNotClosed, SelectionDone, SelectionInProgress],
        ),
    ]
};

/// List waves
///
/// Waves with their status (upcoming, open, closed, selected), newest first. Public.
///
/// Paged with `limit` and `cursor`.
#[utoipa::path( operation_id = "list_batches",tag = "batches", params(PageParams), responses((status = 200, body = Page<BatchView>)))]
#[get("/batches")]
pub async fn list(
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(service::list(&mut conn, state.clock.now(), page).await?))
}

/// Join a wave
///
/// Joins an open wave ("Gabung"). One pending application at a time, across waves.
///
/// Registration must be complete (every step of `GET /v1/me` › registration), the
/// participant eligible (403 `not_eligible` with `reasons`) and the wave open and
/// serving the domicile province.
#[utoipa::path(
    operation_id = "apply_to_batch",
    tag = "batches",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Wave id")),
    responses(
        (status = 201, body = ApplicationView),
    )
)]
#[post("/batches/{id}/applications")]
pub async fn apply(
    auth: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let view = service::apply(&mut conn, &state.pii, now, &auth.0, id.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// List my applications
///
/// The participant's applications, newest first.
///
/// Status pending, selected or not_selected; paged with `limit` and `cursor`.
#[utoipa::path(
    operation_id = "list_my_applications",
    tag = "batches",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = Page<ApplicationView>))
)]
#[get("/me/applications")]
pub async fn my_applications(
    auth: Authenticated,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(service::my_applications(&mut conn, &auth.0, page).await?))
}

/// Create a wave
///
/// Creates a wave. Omitted scheme fields take the defaults: training 1,000,000;
/// 4 × 600,000 incentive; 3 × 50,000 survey incentive.
#[utoipa::path(
    operation_id = "create_batch",
    tag = "admin",
    security(("bearer" = [])),
    request_body = CreateBatch,
    responses(
        (status = 201, body = BatchAdminView),
    )
)]
#[post("/admin/batches")]
pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateBatch>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let view = service::create(&mut conn, now, &caller, &admin.0, &body.0).await?;
    Ok(HttpResponse::Created().json(view))
}

/// One wave with its figures
///
/// One wave with its seed (once closed) and counts.
///
/// Counts of applications: applied, selected, not_selected.
#[utoipa::path(
    operation_id = "get_batch",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Wave id")),
    responses(
        (status = 200, body = BatchAdminView),
    )
)]
#[get("/admin/batches/{id}")]
pub async fn get(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let view = service::admin_view(&mut conn, state.clock.now(), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Edit an upcoming wave
///
/// Edits a wave before it opens (any creation field).
///
/// Any creation field; only while the wave is upcoming (409 `batch_not_upcoming` after
/// it opens).
#[utoipa::path(
    operation_id = "update_batch",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Wave id")),
    request_body = UpdateBatch,
    responses(
        (status = 200, body = BatchAdminView),
    )
)]
#[patch("/admin/batches/{id}")]
pub async fn update(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateBatch>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let view = service::update(&mut conn, now, &caller, &admin.0, id.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Run a wave's selection
///
/// Runs the selection of a closed wave, once: a lottery in the order
/// SHA-256(seed ‖ application id bytes), within the quota, at most 2
/// beneficiaries per family card counting earlier waves, never a past
/// beneficiary, eligibility re-checked on the selection date. Winners get a card
/// credited with the wave's training balance and a `beneficiary_selected`
/// message. Honours `Idempotency-Key` (it moves money).
#[utoipa::path(
    operation_id = "run_selection",
    tag = "admin",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Wave id"),
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]([ -~]*[!-~])?$",
            description = "1 to 255 printable ASCII characters. The same key with the same request replays the first answer \
(kept at least 24 hours); with another request it is 422 `idempotency_key_reused`, and while the first still runs 409 \
`idempotency_request_in_progress`. Keys are scoped per caller and route."),
    ),
    responses(
        (status = 200, body = SelectionResult),
    )
)]
#[post("/admin/batches/{id}/selection")]
pub async fn select(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let batch_id = id.into_inner();
    let now = state.clock.now();
    let claim = idempotency::claim(
        &state.db,
        now,
        &format!("account:{}", admin.0.account_id),
        "POST /v1/admin/batches/{id}/selection",
        &key,
        batch_id.as_bytes(),
    )
    .await?;
    let lease = match claim {
        Claim::Replay(response) => return Ok(response),
        Claim::Run(lease) => lease,
    };
    // A run over a large wave can outlast the lease: it is renewed meanwhile.
    let _alive = lease
        .as_ref()
        .map(|l| l.keep_alive(state.db.clone(), state.clock.clone()));
    let result = async {
        let mut conn = state.db.get().await?;
        let (pii, lease) = (&state.pii, lease.as_ref());
        let result =
            selection::run(&mut conn, pii, &caller, &admin.0, batch_id, now, lease).await?;
        if state.settings.fault_after_commit.as_deref() == Some("selection") {
            return Err(ApiError::internal(anyhow::anyhow!(
                "TEST_FAULT_AFTER_COMMIT: failing after the selection committed"
            )));
        }
        // The bytes the run committed as the key's answer.
        Ok(Answer::json(StatusCode::OK, &result)?.respond(false))
    }
    .await;
    idempotency::finish(&state.db, lease, result).await
}
