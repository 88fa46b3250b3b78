//! Request and response bodies of the purchase routes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::{
    model::Purchase,
    rules::{self, CancellationReason, Delivery, PurchaseStatus},
};

/// `POST /v1/partner/purchase-otps`.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"card_number": "5213459876543217", "course_id": "0b9f3c1e-6c43-4d7e-9a59-0f6f8f0f3c11"}))]
pub struct PurchaseOtpRequest {
    /// The participant's 16-digit Kartu Prakerja number.
    #[schema(pattern = "^[0-9]{16}$", min_length = 16, max_length = 16)]
    pub card_number: String,
    /// The catalogue id `PUT /v1/partner/courses/{external_id}` returned.
    pub course_id: Uuid,
}

/// A purchase code was sent to the participant.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"challenge_id": "5f7a0f0e-3c36-4d8e-8b0c-2f9e8d7c6b5a", "expires_at": "2026-07-10T09:05:00+00:00"}))]
pub struct PurchaseOtpSent {
    /// Pass with the code to `POST /v1/partner/purchases`.
    pub challenge_id: Uuid,
    /// The code is valid until then (5 minutes).
    pub expires_at: DateTime<Utc>,
}

/// `POST /v1/partner/purchases`.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "card_number": "5213459876543217",
    "course_id": "0b9f3c1e-6c43-4d7e-9a59-0f6f8f0f3c11",
    "challenge_id": "5f7a0f0e-3c36-4d8e-8b0c-2f9e8d7c6b5a",
    "otp_code": "482913",
    "platform_user_id": "user-10293",
    "voucher_code": "VCR-88A1"
}))]
pub struct PurchaseRequest {
    #[schema(pattern = "^[0-9]{16}$", min_length = 16, max_length = 16)]
    pub card_number: String,
    pub course_id: Uuid,
    /// From `POST /v1/partner/purchase-otps`.
    pub challenge_id: Uuid,
    /// The 6 digits the participant received.
    #[schema(pattern = "^[0-9]{6}$", min_length = 6, max_length = 6)]
    pub otp_code: String,
    /// The buyer's user id on the platform: bound to this card for good (one
    /// user id per card and one card per user id, per platform).
    #[validate(length(min = 1, max = 128))]
    #[schema(min_length = 1, max_length = 128)]
    pub platform_user_id: String,
    /// The platform's own voucher code for the training, if it gives one;
    /// redemption then needs it too.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub voucher_code: Option<String>,
}

/// A purchase made.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "9d2c1b7a-1f43-4a8e-b1f0-5e6d7c8b9a01",
    "redeem_code": "7K3M9PQ2XW4T",
    "voucher_code": "VCR-88A1",
    "price_idr": 600000,
    "balance_after_idr": 400000
}))]
pub struct PurchaseReceipt {
    pub id: Uuid,
    /// 12 characters of Crockford base 32; the participant enters it on the
    /// institution's site (or shows it as a QR code at an offline venue).
    pub redeem_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voucher_code: Option<String>,
    pub price_idr: i64,
    pub balance_after_idr: i64,
}

/// The purchase's copy of the course's terms: what was sold, whatever the
/// course says today.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchasedCourse {
    /// The catalogue id.
    pub id: Uuid,
    pub title: String,
    #[schema(example = "webinar")]
    pub delivery: Delivery,
    pub price_idr: i64,
    pub starts_at: DateTime<Utc>,
    pub duration_hours: i32,
    /// The rest of the terms as sold (category, level, institution, location).
    #[schema(value_type = Object)]
    pub terms: serde_json::Value,
}

/// A participant's review of a training.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"rating": 5, "comment": "Materinya jelas dan praktis.", "created_at": "2026-08-21T09:30:00+07:00"}))]
pub struct ReviewView {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i16,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// A purchase as the participant sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyPurchase {
    pub id: Uuid,
    pub course: PurchasedCourse,
    /// purchased, redeemed, completed, cancelled or expired.
    #[schema(example = "purchased")]
    pub status: PurchaseStatus,
    /// As sold.
    pub price_idr: i64,
    pub redeem_code: String,
    pub voucher_code: Option<String>,
    /// The last Asia/Jakarta date to cancel (null when it cannot be cancelled
    /// at all: the training starts within 3 days of the purchase).
    pub cancel_deadline: Option<NaiveDate>,
    pub purchased_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Shown from 7 days after completion.
    pub certificate_url: Option<String>,
    pub review: Option<ReviewView>,
}

impl MyPurchase {
    /// The view of `p` at `now`, with its review if any.
    pub fn of(p: Purchase, review: Option<ReviewView>, now: DateTime<Utc>) -> MyPurchase {
        let certificate_url = match p.completed_at {
            Some(done) if rules::certificate_visible(done, now) => p.certificate_url,
            _ => None,
        };
        MyPurchase {
            id: p.id,
            course: PurchasedCourse {
                id: p.course_id,
                title: p.course_title,
                delivery: p.delivery,
                price_idr: p.price_idr,
                starts_at: p.starts_at,
                duration_hours: p.duration_hours,
                terms: p.course_terms,
            },
            status: p.status,
            price_idr: p.price_idr,
            redeem_code: p.redeem_code,
            voucher_code: p.voucher_code,
            cancel_deadline: p.cancel_deadline,
            purchased_at: p.purchased_at,
            cancelled_at: p.cancelled_at,
            redeemed_at: p.redeemed_at,
            expired_at: p.expired_at,
            completed_at: p.completed_at,
            certificate_url,
            review,
        }
    }
}

/// A purchase as its platform sees it: never the card's balance or the
/// participant's eligibility.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerPurchase {
    pub id: Uuid,
    pub course_id: Uuid,
    pub platform_user_id: String,
    /// The last four digits only.
    #[schema(example = "************3217")]
    pub card_number_masked: String,
    #[schema(example = "redeemed")]
    pub status: PurchaseStatus,
    pub price_idr: i64,
    pub redeem_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voucher_code: Option<String>,
    pub course: PurchasedCourse,
    pub purchased_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl PartnerPurchase {
    /// The partner's view of `p`, whose card number is `card_number`.
    pub fn of(p: Purchase, card_number: &str) -> PartnerPurchase {
        PartnerPurchase {
            id: p.id,
            course_id: p.course_id,
            platform_user_id: p.platform_user_id,
            card_number_masked: rules::mask_card_number(card_number),
            status: p.status,
            price_idr: p.price_idr,
            redeem_code: p.redeem_code,
            voucher_code: p.voucher_code,
            course: PurchasedCourse {
                id: p.course_id,
                title: p.course_title,
                delivery: p.delivery,
                price_idr: p.price_idr,
                starts_at: p.starts_at,
                duration_hours: p.duration_hours,
                terms: p.course_terms,
            },
            purchased_at: p.purchased_at,
            cancelled_at: p.cancelled_at,
            redeemed_at: p.redeemed_at,
            expired_at: p.expired_at,
            completed_at: p.completed_at,
            updated_at: p.updated_at,
        }
    }
}

/// `POST /v1/me/purchases/{id}/cancellation`.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "schedule_conflict"}))]
pub struct CancellationRequest {
    /// schedule_conflict, wrong_course, found_better_course, personal_reasons or other.
    #[schema(example = "schedule_conflict")]
    pub reason: CancellationReason,
}

/// A cancelled purchase's refund.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"refund_idr": 600000, "balance_after_idr": 1000000}))]
pub struct CancellationReceipt {
    pub refund_idr: i64,
    pub balance_after_idr: i64,
}

/// A face check's verdict.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"passed": true, "valid_until": "2026-07-20T08:15:00+07:00"}))]
pub struct FaceCheckResult {
    /// Whether the face matched the enrolled one; a pass opens redemption for
    /// 15 minutes.
    pub passed: bool,
    /// Until when redemption is open after this pass.
    pub valid_until: Option<DateTime<Utc>>,
}

/// `POST /v1/partner/redemptions`.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"redeem_code": "7K3M9PQ2XW4T", "voucher_code": "VCR-88A1"}))]
pub struct RedemptionRequest {
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64, example = "7K3M9PQ2XW4T")]
    pub redeem_code: String,
    /// Required when the purchase has one.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub voucher_code: Option<String>,
}

/// A redemption done.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"purchase_id": "9d2c1b7a-1f43-4a8e-b1f0-5e6d7c8b9a01", "status": "redeemed"}))]
pub struct RedemptionResult {
    pub purchase_id: Uuid,
    #[schema(example = "redeemed")]
    pub status: PurchaseStatus,
}

/// `POST /v1/partner/purchases/{id}/completion`.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"completed_at": "2026-08-20T15:00:00+07:00", "certificate_url": "https://lms.example/certificates/abc123", "post_test_score": 87}))]
pub struct CompletionRequest {
    /// When the skill test was completed: between the redemption and now.
    pub completed_at: DateTime<Utc>,
    /// An https URL of at most 2048 characters.
    #[validate(length(min = 9, max = 2048))]
    #[schema(min_length = 9, max_length = 2048, pattern = "^https://")]
    pub certificate_url: String,
    /// 0 to 100; it does not decide anything.
    #[validate(range(min = 0, max = 100))]
    #[schema(minimum = 0, maximum = 100)]
    pub post_test_score: Option<i16>,
}

/// `POST /v1/me/purchases/{id}/review`.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rating": 5, "comment": "Materinya jelas dan praktis."}))]
pub struct ReviewRequest {
    /// 1 to 5 stars.
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i16,
    /// 1 to 2000 characters, not only white space (trimmed when stored).
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub comment: String,
}
