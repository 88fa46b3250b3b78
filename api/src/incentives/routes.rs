//! Incentive and survey routes (API.md Incentives and surveys): the payout
//! account, the participant's incentives and surveys, the admin view of an
//! account's incentives, and the payout provider's signed callbacks.

use actix_web::{
    delete, dev::Payload, get, post, put, web, FromRequest, HttpRequest, HttpResponse,
};
use futures_util::future::LocalBoxFuture;
use secrecy::ExposeSecret;

use super::{
    callbacks, listing, payout, surveys,
    views::{
        AdminIncentives, CallbackAck, DisbursementCallback, IncentiveView, LinkPayoutAccount,
        PayoutAccountView, SurveyReceipt, SurveyResponseRequest, SurveyView,
    },
};
use crate::{
    auth::{Admin, Authenticated, Principal, Role},
    contract::Operation,
    error::{ApiError, ApiResult, ErrorCode},
    http::{
        json::{parse_json, read_body, validate, JSON_LIMIT},
        Caller, JsonBody,
    },
    pagination::{Page, PageParams},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = {
    use ErrorCode::*;
    &[
        Operation::new(
            "link_payout_account",
            &[
                ReauthenticationRequired,
                IdentityRequired,
                PayoutAccountNameMismatch,
                PayoutAccountInvalid,
                PayoutProviderUnavailable,
            ],
        )
        .participant_only(),
        Operation::new("get_payout_account", &[NotFound]).participant_only(),
        Operation::new("unlink_payout_account", &[PayoutInProgress]).participant_only(),
        Operation::new("list_my_incentives", &[]).participant_only(),
        Operation::new("list_my_surveys", &[]).participant_only(),
        Operation::new(
            "respond_to_survey",
            &[SurveyCompleted, SurveyLocked, AnswersIncomplete],
        )
        .participant_only(),
        Operation::new("get_account_incentives", &[]),
        Operation::new("disbursement_callback", &[InvalidSignature]),
    ]
};

/// API.md: participant routes answer 403 `forbidden` to an admin token.
fn participant(auth: Authenticated) -> Result<Principal, ApiError> {
    match auth.0.role {
        Role::Participant => Ok(auth.0),
        Role::Admin => {
            Err(ApiError::new(ErrorCode::Forbidden).detail("This route is for participants."))
        }
    }
}

/// Link or replace my payout account
///
/// Links a bank account or e-wallet for incentives, replacing any linked one.
/// The provider is asked whose account it is: the holder must be the
/// participant's KTP name (compared without case, spacing, punctuation or
/// titles), else 422 `payout_account_name_mismatch`; an account it does not
/// know is 422 `payout_account_invalid`; a provider that is down or slow is
/// 503 `payout_provider_unavailable` and nothing is stored.
///
/// Needs a session whose login was completed in the last 15 minutes (real
/// time), else 403 `reauthentication_required`: log in again first. An email
/// (`payout_account_changed`) tells the participant. Installments waiting for
/// an account, and failed ones, are scheduled again. Stored sealed; shown
/// masked. 409 `identity_required` before the identity is verified.
#[utoipa::path(
    operation_id = "link_payout_account",
    tag = "incentives",
    security(("bearer" = [])),
    request_body = LinkPayoutAccount,
    responses((status = 200, body = PayoutAccountView))
)]
#[put("/me/payout-account")]
pub async fn link_payout_account(
    auth: Authenticated,
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<LinkPayoutAccount>,
) -> ApiResult<HttpResponse> {
    let who = participant(auth)?;
    let mut conn = state.db.get().await?;
    payout::require_recent_login(&mut conn, who.session_id, state.clock.security_now()).await?;
    let deps = payout::LinkDeps {
        pii: &state.pii,
        payout: &state.payout,
        origin: &caller.origin,
    };
    let view = payout::link(&mut conn, &deps, who.account_id, &body.0, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// My payout account
///
/// The linked payout account, masked; 404 `not_found` when none is linked.
#[utoipa::path(
    operation_id = "get_payout_account",
    tag = "incentives",
    security(("bearer" = [])),
    responses((status = 200, body = PayoutAccountView))
)]
#[get("/me/payout-account")]
pub async fn get_payout_account(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let who = participant(auth)?;
    let mut conn = state.db.get().await?;
    let linked = payout::linked(&mut conn, &state.pii, who.account_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound).detail("No payout account is linked."))?;
    Ok(HttpResponse::Ok().json(linked.view()))
}

/// Unlink my payout account
///
/// Unlinks the payout account (also when none is linked: 204). 409
/// `payout_in_progress` while a payment to it is processing. Scheduled
/// installments wait for a new account; a verified phone number can be
/// changed only while none is linked.
#[utoipa::path(
    operation_id = "unlink_payout_account",
    tag = "incentives",
    security(("bearer" = [])),
    responses((status = 204, description = "Unlinked"))
)]
#[delete("/me/payout-account")]
pub async fn unlink_payout_account(
    auth: Authenticated,
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    let who = participant(auth)?;
    let mut conn = state.db.get().await?;
    payout::unlink(&mut conn, &caller.origin, who.account_id, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// My incentives
///
/// The post-training installments and survey incentives, earliest due first:
/// kind, installment, amount, due date (Asia/Jakarta), status and when paid.
/// Installments are created once the first training is completed, its
/// certificate issued and reviewed: the wave's `incentive_months` ×
/// `incentive_monthly_idr`, the first due that day and each next one a
/// calendar month later; `awaiting_payout_account` until an account is linked.
/// Paged with `limit` and `cursor`.
#[utoipa::path(
    operation_id = "list_my_incentives",
    tag = "incentives",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = Page<IncentiveView>))
)]
#[get("/me/incentives")]
pub async fn list_my_incentives(
    auth: Authenticated,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let who = participant(auth)?;
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(listing::my_incentives(&mut conn, who.account_id, page).await?))
}

/// My surveys
///
/// The wave's evaluation surveys in order, with their questions: `locked`
/// (with `opens_on`, null until the first training is completed and
/// reviewed), `open` or `completed`. Survey 1 opens the day the first training
/// is finished, survey 2 a month later, survey 3 three months later. Empty
/// before selection; never more than a page (`next_cursor` is null).
#[utoipa::path(
    operation_id = "list_my_surveys",
    tag = "incentives",
    security(("bearer" = [])),
    responses((status = 200, body = Page<SurveyView>))
)]
#[get("/me/surveys")]
pub async fn list_my_surveys(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let who = participant(auth)?;
    let mut conn = state.db.get().await?;
    let data = surveys::my_surveys(&mut conn, who.account_id, state.clock.today_jakarta()).await?;
    Ok(HttpResponse::Ok().json(Page {
        data,
        next_cursor: None,
    }))
}

/// Answer a survey
///
/// Answers an open survey, every question once (422 `answers_incomplete`
/// when one is missing; an unknown question or an answer outside a question's
/// options is 422 `validation_failed`: the questions are stored data, see `GET
/// /v1/me/surveys`). Once only (409 `survey_completed`); 409 `survey_locked`
/// before it opens. Earns the wave's survey incentive, paid like the installments.
#[utoipa::path(
    operation_id = "respond_to_survey",
    tag = "incentives",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Survey id", example = "survey-1", max_length = 100)),
    request_body = SurveyResponseRequest,
    responses((status = 201, body = SurveyReceipt))
)]
#[post("/me/surveys/{id}/responses")]
pub async fn respond_to_survey(
    auth: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<SurveyResponseRequest>,
) -> ApiResult<HttpResponse> {
    let who = participant(auth)?;
    let mut conn = state.db.get().await?;
    let receipt = surveys::respond(
        &mut conn,
        who.account_id,
        &id,
        &body.0,
        state.clock.now(),
        state.clock.today_jakarta(),
    )
    .await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// An account's incentives
///
/// For the programme office ("where is my money?"): the account's payout
/// account (masked), every incentive, and every attempt to pay it with the
/// provider's id, failures and the number of sends.
#[utoipa::path(
    operation_id = "get_account_incentives",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Account id")),
    responses((status = 200, body = AdminIncentives))
)]
#[get("/admin/accounts/{id}/incentives")]
pub async fn get_account_incentives(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<uuid::Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let view = listing::account_incentives(&mut conn, &state.pii, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A callback's raw body, verified: `X-Callback-Signature` over
/// `{X-Callback-Timestamp}.{body}` within 300 s of real time, before anything
/// is parsed (401 `invalid_signature` otherwise).
pub struct SignedCallback(Vec<u8>);

impl FromRequest for SignedCallback {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let refused = || {
                ApiError::new(ErrorCode::InvalidSignature)
                    .detail("The callback signature or timestamp is invalid.")
            };
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let (Some(timestamp), Some(signature)) = (
                header("X-Callback-Timestamp"),
                header("X-Callback-Signature"),
            ) else {
                return Err(refused());
            };
            let body = read_body(&req, &mut payload, JSON_LIMIT).await?;
            let secret = state
                .settings
                .payout_webhook_secret
                .expose_secret()
                .as_bytes();
            if !callbacks::verify_callback(
                secret,
                &timestamp,
                &signature,
                &body,
                state.clock.security_now(),
            ) {
                return Err(refused());
            }
            Ok(SignedCallback(body))
        })
    }
}

/// Payout provider callback
///
/// The payout provider reports an attempt's outcome: `{event_id, reference
/// (the attempt id), status: completed | failed, failure_reason}`, with
/// `X-Callback-Timestamp` (unix seconds) and `X-Callback-Signature` =
/// lowercase hex HMAC-SHA256 keyed with the webhook secret over
/// `{X-Callback-Timestamp}.{raw body}`. A bad signature or a timestamp more
/// than 300 s from real time is 401 `invalid_signature`. A repeated event
/// (same `event_id`) is verified again and acknowledged with no effect; late
/// or out-of-order callbacks never move a paid installment back and never pay
/// twice. A reference to no attempt is acknowledged (and logged).
#[utoipa::path(
    operation_id = "disbursement_callback",
    tag = "incentives",
    params(
        ("X-Callback-Timestamp" = String, Header, description = "Unix seconds, within 300 s of real time", example = "1784426400"),
        ("X-Callback-Signature" = String, Header, description = "Lowercase hex HMAC-SHA256 over `{X-Callback-Timestamp}.{raw body}`",
            pattern = "^[0-9a-f]{64}$", example = "3f1c1e0b7a5d4c2e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e"),
    ),
    request_body = DisbursementCallback,
    responses((status = 200, body = CallbackAck))
)]
#[post("/webhooks/disbursements")]
pub async fn disbursement_callback(
    state: web::Data<AppState>,
    signed: SignedCallback,
) -> ApiResult<HttpResponse> {
    let callback: DisbursementCallback = parse_json(&signed.0)?;
    validate(&callback)?;
    let mut conn = state.db.get().await?;
    let ack = callbacks::receive(&mut conn, &callback, state.clock.now())
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(ack))
}
