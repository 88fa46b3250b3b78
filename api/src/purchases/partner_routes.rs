//! The partner platform's purchase routes: the purchase code, the purchase,
//! redemption, completion, the venue's face check, and the platform's views
//! of its own purchases. Every handler authenticates the partner's signature
//! over the raw body first (`SignedPartner`), then parses it.

use actix_web::{get, http::StatusCode, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{
    completion, face, listing, redemption,
    service::{self, BuyDeps},
    views::{
        CompletionRequest, FaceCheckResult, PartnerPurchase, PurchaseOtpRequest, PurchaseOtpSent,
        PurchaseReceipt, PurchaseRequest, RedemptionRequest, RedemptionResult,
    },
};
use crate::{
    contract::Operation,
    error::{ApiResult, ErrorCode},
    http::{
        image::{ImageUpload, ONE_MIB},
        Caller, ImageBody,
    },
    idempotency::{self, Claim, IdempotencyKey},
    pagination::{Page, PageParams},
    partners::auth::SignedPartner,
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = {
    use ErrorCode::*;
    &[
        Operation::new(
            "request_purchase_code",
            &[
                CardNotFound,
                CourseNotFound,
                CardInactive,
                NotEligible,
                OtpSendLimit,
            ],
        ),
        Operation::new(
            "create_purchase",
            &[
                CardNotFound,
                CourseNotFound,
                OtpInvalid,
                OtpExpired,
                OtpAttemptsExceeded,
                CardInactive,
                NotEligible,
                InsufficientBalance,
                PlatformUserBoundToOtherCard,
                CardBoundToOtherPlatformUser,
                PurchaseDeadlinePassed,
                PreviousTrainingUnfinished,
                CourseStartsTooSoon,
                CoursePreviouslyCancelled,
                PriceChanged,
            ],
        ),
        Operation::new(
            "redeem_purchase",
            &[
                RedeemCodeInvalid,
                RedeemCodeUsed,
                PurchaseCancelled,
                RedemptionWindowClosed,
                FaceVerificationRequired,
                RateLimited,
            ],
        ),
        Operation::new("complete_purchase", &[NotRedeemed, AlreadyCompleted]),
        Operation::new(
            "check_face_at_venue",
            &[
                Forbidden,
                FaceAttemptsExceeded,
                PurchaseCancelled,
                PurchaseClosed,
                FaceServiceUnavailable,
            ],
        ),
        Operation::new("get_partner_purchase", &[]),
        Operation::new("list_partner_purchases", &[]),
    ]
};

fn caller_key(partner: &SignedPartner) -> String {
    format!("partner:{}", partner.partner_id)
}

/// Send a purchase code
///
/// Sends the participant a 6-digit code (by email, and by SMS when the phone
/// is verified) naming the course and its price, valid 5 minutes, bound to
/// this card, course and platform and to that price. A new code for the same
/// three replaces the older; codes for different courses are independent. At
/// most 30 codes per card in any 2 hours (429 `otp_send_limit`). Answers
/// nothing about the card beyond whether it can pay: 404 `card_not_found`,
/// 409 `card_inactive`, 403 `not_eligible` (a blocked account; never a reason).
#[utoipa::path(
    operation_id = "request_purchase_code",
    tag = "purchases",
    security(("partner_id" = [], "partner_timestamp" = [], "partner_signature" = [])),
    request_body = PurchaseOtpRequest,
    responses((status = 202, body = PurchaseOtpSent))
)]
#[post("/partner/purchase-otps")]
pub async fn request_code(
    partner: SignedPartner,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let request: PurchaseOtpRequest = partner.json()?;
    let mut conn = state.db.get().await?;
    let sent = service::request_code(
        &mut conn,
        &state.secrets,
        &state.pii,
        state.clock.now(),
        partner.partner_id,
        &request,
    )
    .await?;
    Ok(HttpResponse::Accepted().json(sent))
}

/// Buy a training
///
/// Pays for one of this platform's courses with the participant's card and
/// the code from `POST /v1/partner/purchase-otps`. In one transaction: the
/// code's use, every rule of the programme (card active; buyer 18 to 64 and
/// not in formal education today; price within the balance; the first
/// purchase by the card's deadline, a later one only after the previous
/// training was completed and reviewed, or expired, and within 15 days of
/// that; online training bought at least 1 calendar day before its start,
/// offline at least 3; a course once cancelled never bought again), the
/// binding of `platform_user_id` to the card (one card per user id and one
/// user id per card at a platform, for good), the debit, the redeem code and
/// the participant's `purchase_confirmed` email.
///
/// Code errors: the first 5 wrong codes of a challenge answer 401
/// `otp_invalid`, every later try 429 `otp_attempts_exceeded` (also after 10
/// wrong purchase codes for the card in any 2 hours). A price changed since
/// the code was sent answers 409 `price_changed`. A refusal by a rule leaves
/// the code usable. Honours `Idempotency-Key` (it creates a purchase): the
/// key is scoped to this platform.
#[utoipa::path(
    operation_id = "create_purchase",
    tag = "purchases",
    security(("partner_id" = [], "partner_timestamp" = [], "partner_signature" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]([ -~]*[!-~])?$",
            description = "1 to 255 printable ASCII characters. The same key with the same body replays the first answer \
(kept at least 24 hours); with another body it is 422 `idempotency_key_reused`, and while the first still runs 409 \
`idempotency_request_in_progress`. Keys are scoped per platform and route."),
    ),
    request_body = PurchaseRequest,
    responses((status = 201, body = PurchaseReceipt))
)]
#[post("/partner/purchases")]
pub async fn buy(
    partner: SignedPartner,
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let request: PurchaseRequest = partner.json()?;
    let now = state.clock.now();
    let claim = idempotency::claim(
        &state.db,
        now,
        &caller_key(&partner),
        "POST /v1/partner/purchases",
        &key,
        &partner.body,
    )
    .await?;
    let lease = match claim {
        Claim::Replay(response) => return Ok(response),
        Claim::Run(lease) => lease.map(|l| l.answering(StatusCode::CREATED)),
    };
    let result = async {
        let mut conn = state.db.get().await?;
        let deps = BuyDeps {
            secrets: &state.secrets,
            pii: &state.pii,
            origin: &caller.origin,
        };
        let receipt = service::buy(
            &mut conn,
            &deps,
            now,
            partner.partner_id,
            &request,
            lease.as_ref(),
        )
        .await?;
        Ok(idempotency::Answer::json(StatusCode::CREATED, &receipt)?.respond(false))
    }
    .await;
    idempotency::finish(&state.db, lease, result).await
}

/// Redeem a purchase
///
/// The participant's redeem code (and the platform's voucher code when the
/// purchase has one), once. Online training needs a face check passed by the
/// participant within the last 15 minutes (409 `face_verification_required`).
/// Windows: webinar from 1 hour before to 1 hour after the start, offline from
/// 1 hour before to 2 hours after, self-paced any time before completion (409
/// `redemption_window_closed`). A code of another platform answers 404
/// `redeem_code_invalid`, as an unknown one; 20 wrong codes in a minute from
/// one platform answer 429 `rate_limited`.
#[utoipa::path(
    operation_id = "redeem_purchase",
    tag = "purchases",
    security(("partner_id" = [], "partner_timestamp" = [], "partner_signature" = [])),
    request_body = RedemptionRequest,
    responses((status = 200, body = RedemptionResult))
)]
#[post("/partner/redemptions")]
pub async fn redeem(partner: SignedPartner, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let request: RedemptionRequest = partner.json()?;
    let mut conn = state.db.get().await?;
    let result = redemption::redeem(
        &mut conn,
        state.clock.now(),
        partner.partner_id,
        &request.redeem_code,
        request.voucher_code.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// Report a training completed
///
/// The institution's report that the participant finished the training (the
/// skill test): `completed_at` between the redemption and now, the https URL
/// of the certificate (shown to the participant from 7 days after
/// `completed_at`), and the post-test score if any (it decides nothing). Only
/// a redeemed purchase of this platform (409 `not_redeemed`), once (409
/// `already_completed`). Answers the purchase as the platform sees it.
#[utoipa::path(
    operation_id = "complete_purchase",
    tag = "purchases",
    security(("partner_id" = [], "partner_timestamp" = [], "partner_signature" = [])),
    params(("id" = Uuid, Path, description = "Purchase id")),
    request_body = CompletionRequest,
    responses((status = 200, body = PartnerPurchase))
)]
#[post("/partner/purchases/{id}/completion")]
pub async fn complete(
    partner: SignedPartner,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let request: CompletionRequest = partner.json()?;
    let mut conn = state.db.get().await?;
    let done = completion::complete(
        &mut conn,
        state.clock.now(),
        partner.partner_id,
        id.into_inner(),
        &request,
    )
    .await?;
    let view = listing::partner_purchase(&mut conn, partner.partner_id, done.id).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Check a face at the venue
///
/// The face check of an offline training on the venue's device: the raw JPEG
/// or PNG image (at most 1 MiB), matched against the participant's enrolled
/// face. Only for offline training (403 `forbidden` for online training, whose
/// checks come from the participant's app). Counts against the same daily
/// limits as the participant's own checks (10 a day, Asia/Jakarta, then 429
/// `face_attempts_exceeded`); three failed matches in a day flag the account
/// as suspected fraud.
#[utoipa::path(
    operation_id = "check_face_at_venue",
    tag = "purchases",
    security(("partner_id" = [], "partner_timestamp" = [], "partner_signature" = [])),
    params(("id" = Uuid, Path, description = "Purchase id")),
    request_body(description = "The raw JPEG or PNG image (at most 1 MiB)", content((ImageUpload = "image/jpeg"), (ImageUpload = "image/png"))),
    responses((status = 201, body = FaceCheckResult))
)]
#[post("/partner/purchases/{id}/face-verifications")]
pub async fn check_face(
    partner: SignedPartner<ONE_MIB>,
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let image = ImageBody::<ONE_MIB>::from_bytes(&req, partner.body.to_vec())?;
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
        face::FaceCaller::Partner(partner.partner_id),
        &image.bytes,
    )
    .await?;
    Ok(HttpResponse::Created().json(result))
}

/// One purchase of this platform
///
/// Another platform's purchase answers 404, as an unknown one. Never the
/// card's balance or the participant's eligibility.
#[utoipa::path(
    operation_id = "get_partner_purchase",
    tag = "purchases",
    security(("partner_id" = [], "partner_timestamp" = [], "partner_signature" = [])),
    params(("id" = Uuid, Path, description = "Purchase id")),
    responses((status = 200, body = PartnerPurchase))
)]
#[get("/partner/purchases/{id}")]
pub async fn read(
    partner: SignedPartner,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let view = listing::partner_purchase(&mut conn, partner.partner_id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `GET /v1/partner/purchases` filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedFilter {
    /// Purchases changed at or after this time (RFC 3339), and any changed
    /// up to 60 seconds before it (see the operation). Omit it to list every
    /// purchase of the platform.
    #[param(example = "2026-07-20T08:00:00+07:00")]
    pub updated_since: Option<DateTime<Utc>>,
}

/// The platform's purchases, by change
///
/// Every purchase of this platform ordered by `updated_at` then `id`, oldest
/// change first, so a platform learns of changes it did not cause
/// (cancellations, expiries). Poll with `updated_since` = the latest
/// `updated_at` seen, and follow `next_cursor` to the end. A change is
/// stamped when its request starts and shows once it commits, so one can
/// show after a later-stamped one: the list therefore starts 60 seconds
/// before `updated_since` (longer than any request that changes a purchase
/// may run), and a platform may see a change again; it is the same
/// `updated_at` for the same state, so deduplicate by (`id`, `updated_at`).
#[utoipa::path(
    operation_id = "list_partner_purchases",
    tag = "purchases",
    security(("partner_id" = [], "partner_timestamp" = [], "partner_signature" = [])),
    params(FeedFilter, PageParams),
    responses((status = 200, body = Page<PartnerPurchase>))
)]
#[get("/partner/purchases")]
pub async fn feed(
    partner: SignedPartner,
    state: web::Data<AppState>,
    filter: web::Query<FeedFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    let feed =
        listing::partner_purchases(&mut conn, partner.partner_id, filter.updated_since, page)
            .await?;
    Ok(HttpResponse::Ok().json(feed))
}
