//! The participant's purchase routes: list and read, cancel, face checks,
//! review. The platform's routes are in `partner_routes`.

use actix_web::{get, http::StatusCode, post, web, HttpResponse};
use uuid::Uuid;

use super::{
    cancellation, face, listing, review,
    views::{
        CancellationReceipt, CancellationRequest, FaceCheckResult, MyPurchase, ReviewRequest,
        ReviewView,
    },
};
use crate::{
    auth::Participant,
    contract::Operation,
    error::{ApiResult, ErrorCode},
    http::{
        image::{ImageUpload, ONE_MIB},
        Caller, ImageBody, JsonBody,
    },
    idempotency::{self, Claim, IdempotencyKey},
    pagination::{Page, PageParams},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = {
    use ErrorCode::*;
    &[
        Operation::new("list_my_purchases", &[]).participant_only(),
        Operation::new("get_my_purchase", &[]).participant_only(),
        Operation::new(
            "cancel_my_purchase",
            &[CancellationWindowClosed, AlreadyRedeemed, AlreadyCancelled],
        )
        .participant_only(),
        Operation::new(
            "check_my_face",
            &[
                FaceAttemptsExceeded,
                PurchaseCancelled,
                PurchaseClosed,
                FaceServiceUnavailable,
            ],
        )
        .participant_only(),
        Operation::new("review_my_purchase", &[TrainingNotCompleted, ReviewExists])
            .participant_only(),
    ]
};

/// My purchases
///
/// The participant's purchases, newest first, each with its copy of the
/// course's terms, status, redeem code, cancel deadline, certificate (from 7
/// days after completion) and review.
#[utoipa::path(
    operation_id = "list_my_purchases",
    tag = "purchases",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = Page<MyPurchase>))
)]
#[get("/me/purchases")]
pub async fn list_mine(
    auth: Participant,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok()
        .json(listing::my_purchases(&mut conn, auth.0.account_id, page, now).await?))
}

/// One of my purchases
///
/// One of the participant's purchases (another account's answers 404).
#[utoipa::path(
    operation_id = "get_my_purchase",
    tag = "purchases",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Purchase id")),
    responses((status = 200, body = MyPurchase))
)]
#[get("/me/purchases/{id}")]
pub async fn get_mine(
    auth: Participant,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok()
        .json(listing::my_purchase(&mut conn, auth.0.account_id, id.into_inner(), now).await?))
}

/// Cancel a purchase
///
/// Cancels a purchase that was not redeemed, on or before its
/// `cancel_deadline` (min(purchase date + 3, start date − 3), Asia/Jakarta
/// dates). The price returns to the card at once, the participant is told by
/// email, and the course can never be bought again. Honours `Idempotency-Key`
/// (it moves money).
#[utoipa::path(
    operation_id = "cancel_my_purchase",
    tag = "purchases",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Purchase id"),
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]([ -~]*[!-~])?$",
            description = "1 to 255 printable ASCII characters. The same key with the same request replays the first answer \
(kept at least 24 hours); with another request it is 422 `idempotency_key_reused`, and while the first still runs 409 \
`idempotency_request_in_progress`. Keys are scoped per caller and route."),
    ),
    request_body = CancellationRequest,
    responses((status = 200, body = CancellationReceipt))
)]
#[post("/me/purchases/{id}/cancellation")]
pub async fn cancel(
    auth: Participant,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: JsonBody<CancellationRequest>,
) -> ApiResult<HttpResponse> {
    let purchase_id = id.into_inner();
    let now = state.clock.now();
    let mut request = purchase_id.as_bytes().to_vec();
    request.extend_from_slice(body.0.reason.as_str().as_bytes());
    let claim = idempotency::claim(
        &state.db,
        now,
        &format!("account:{}", auth.0.account_id),
        "POST /v1/me/purchases/{id}/cancellation",
        &key,
        &request,
    )
    .await?;
    let lease = match claim {
        Claim::Replay(response) => return Ok(response),
        Claim::Run(lease) => lease,
    };
    let result = async {
        let mut conn = state.db.get().await?;
        let lease_ref = lease.as_ref();
        let receipt = cancellation::cancel(
            &mut conn,
            now,
            auth.0.account_id,
            purchase_id,
            body.0.reason,
            lease_ref,
        )
        .await?;
        Ok(idempotency::Answer::json(StatusCode::OK, &receipt)?.respond(false))
    }
    .await;
    idempotency::finish(&state.db, lease, result).await
}

/// Check my face for a training
///
/// A face check before redeeming or following an online training: the raw
/// JPEG or PNG selfie (at most 1 MiB), matched against the face enrolled at
/// registration. At most 5 checks a day (Asia/Jakarta) for self-paced
/// training, 10 for webinars and offline, then 429 `face_attempts_exceeded`; a
/// pass opens redemption for 15 minutes. Three failed matches in one day flag
/// the account as suspected fraud. When the face service is down the answer is
/// 503 and nothing is counted.
#[utoipa::path(
    operation_id = "check_my_face",
    tag = "purchases",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Purchase id")),
    request_body(description = "The raw JPEG or PNG selfie (at most 1 MiB)", content((ImageUpload = "image/jpeg"), (ImageUpload = "image/png"))),
    responses((status = 201, body = FaceCheckResult))
)]
#[post("/me/purchases/{id}/face-verifications")]
pub async fn check_face(
    auth: Participant,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    image: ImageBody<ONE_MIB>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let deps = face::FaceDeps {
        pool: &state.db,
        face: &state.face,
        origin: &caller.origin,
    };
    let result = face::check_for(
        &deps,
        now,
        id.into_inner(),
        face::FaceCaller::Participant(auth.0.account_id),
        &image.bytes,
    )
    .await?;
    Ok(HttpResponse::Created().json(result))
}

/// Review a finished training
///
/// 1 to 5 stars and a comment (1 to 2000 characters, trimmed; shown on the
/// course's page with the reviewer as first name and initial), once (409
/// `review_exists`), only after the institution reported the training
/// completed (409 `training_not_completed`). The review closes the training:
/// the next one may be bought within 15 calendar days (Asia/Jakarta) of it.
#[utoipa::path(
    operation_id = "review_my_purchase",
    tag = "purchases",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Purchase id")),
    request_body = ReviewRequest,
    responses((status = 201, body = ReviewView))
)]
#[post("/me/purchases/{id}/review")]
pub async fn review_mine(
    auth: Participant,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: JsonBody<ReviewRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let view = review::review(&mut conn, now, auth.0.account_id, id.into_inner(), &body.0).await?;
    Ok(HttpResponse::Created().json(view))
}
