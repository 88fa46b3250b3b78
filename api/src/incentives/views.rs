//! Request and response bodies of the incentive, survey and payout-callback routes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::rules::{AttemptStatus, IncentiveKind, IncentiveStatus};
use crate::{db::text_enum, integrations::payout::PayoutProvider};

/// `PUT /v1/me/payout-account`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"provider": "gopay", "account_number": "081234567890"}))]
pub struct LinkPayoutAccount {
    /// A bank or e-wallet of API.md's Fixed names.
    #[schema(example = "gopay")]
    pub provider: PayoutProvider,
    /// Digits only: the bank account number, or the e-wallet's phone number
    /// in national form (`08…`).
    #[schema(
        example = "081234567890",
        pattern = "^[0-9]{5,30}$",
        min_length = 5,
        max_length = 30
    )]
    #[validate(length(min = 5, max = 30, message = "must be 5 to 30 digits"))]
    pub account_number: String,
}

/// The linked payout account, masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutAccountView {
    #[schema(example = "gopay")]
    pub provider: PayoutProvider,
    /// The last four digits.
    #[schema(example = "********7890")]
    pub masked_account: String,
    /// The name the provider holds the account under (the participant's KTP name).
    #[schema(example = "SITI RAHAYU")]
    pub holder_name: String,
    pub linked_at: DateTime<Utc>,
}

/// One incentive: an installment of the post-training incentive or a survey incentive.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncentiveView {
    pub id: Uuid,
    #[schema(example = "training")]
    pub kind: IncentiveKind,
    /// Training: 1 to the wave's `incentive_months`; survey: the survey's number.
    #[schema(example = 1, minimum = 1)]
    pub installment: i32,
    #[schema(example = 600000)]
    pub amount_idr: i64,
    /// Asia/Jakarta date from which it is paid.
    #[schema(example = "2026-08-20")]
    pub due_on: NaiveDate,
    #[schema(example = "scheduled")]
    pub status: IncentiveStatus,
    pub paid_at: Option<DateTime<Utc>>,
    /// Why the last payment failed (status `failed`).
    #[schema(example = json!(null))]
    pub failure_reason: Option<String>,
}

/// One payout attempt, as the programme office sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// The provider's `reference` and `Idempotency-Key`.
    pub id: Uuid,
    #[schema(example = "completed")]
    pub status: AttemptStatus,
    #[schema(example = 600000)]
    pub amount_idr: i64,
    #[schema(example = "gopay")]
    pub provider: PayoutProvider,
    #[schema(example = "********7890")]
    pub masked_account: String,
    /// The provider's own id of the payment.
    pub provider_id: Option<String>,
    pub failure_reason: Option<String>,
    /// Times it was sent (retries of a timeout or a 5xx reuse the attempt).
    #[schema(example = 1)]
    pub sends: i32,
    /// The last send's error, if it failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

/// An incentive with every attempt to pay it (admin view).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminIncentiveView {
    #[serde(flatten)]
    pub incentive: IncentiveView,
    pub attempts: Vec<AttemptView>,
}

/// An account's incentives and the payout account (admin view).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminIncentives {
    pub account_id: Uuid,
    /// The linked payout account, if any.
    pub payout_account: Option<PayoutAccountView>,
    pub incentives: Vec<AdminIncentiveView>,
}

text_enum! {
    /// Where a survey stands for the participant.
    pub enum SurveyStatus {
        /// Not open yet (see `opens_on`; null until the first training is finished).
        Locked => "locked",
        Open => "open",
        Completed => "completed",
    }
}

/// One question; an empty `options` takes free text.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SurveyQuestion {
    #[schema(example = "q1")]
    pub id: String,
    #[schema(example = "Seberapa puas kamu dengan pelatihan yang kamu ikuti?")]
    pub text: String,
    /// The allowed answers; empty for a free-text question.
    #[schema(example = json!(["sangat_puas", "puas", "cukup", "tidak_puas"]))]
    pub options: Vec<String>,
}

/// An evaluation survey.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyView {
    #[schema(example = "survey-1")]
    pub id: String,
    #[schema(example = "Survei Evaluasi 1: Pelatihan Pertama")]
    pub title: String,
    #[schema(example = "open")]
    pub status: SurveyStatus,
    /// Asia/Jakarta date it opens; null until the first training is finished.
    #[schema(example = "2026-08-20")]
    pub opens_on: Option<NaiveDate>,
    /// Paid once the survey is answered.
    #[schema(example = 50000)]
    pub incentive_idr: i64,
    pub questions: Vec<SurveyQuestion>,
}

/// One answer.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswer {
    /// A question's `id`.
    #[schema(example = "q1", min_length = 1, max_length = 100)]
    #[validate(length(min = 1, max = 100, message = "must be a question id"))]
    pub question_id: String,
    /// One of the question's `options`, or free text (1 to 2000 characters).
    #[schema(example = "puas", min_length = 1, max_length = 2000)]
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    pub answer: String,
}

/// `POST /v1/me/surveys/{id}/responses`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answers": [{"question_id": "q1", "answer": "puas"}]}))]
pub struct SurveyResponseRequest {
    /// One answer per question: an unknown question, an answer outside the
    /// options or a question answered twice is 422 `validation_failed`; a
    /// missing one 422 `answers_incomplete`.
    #[schema(max_items = 100)]
    #[validate(length(max = 100, message = "has too many answers"), nested)]
    pub answers: Vec<SurveyAnswer>,
}

/// A recorded survey response.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyReceipt {
    #[schema(example = "survey-1")]
    pub survey_id: String,
    #[schema(example = "completed")]
    pub status: SurveyStatus,
    pub submitted_at: DateTime<Utc>,
    /// The survey incentive this response earned (0 when the wave pays none).
    #[schema(example = 50000)]
    pub incentive_idr: i64,
}

text_enum! {
    /// The outcome a callback reports.
    pub enum CallbackStatus {
        Completed => "completed",
        Failed => "failed",
    }
}

/// The payout provider's callback (INTEGRATIONS.md). Fields beyond these are
/// ignored: the provider owns this shape.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"event_id": "evt_01J9X3", "reference": "5f0c6f5e-8a4b-4a57-9f43-0c7d2d0b9e11", "status": "completed"}))]
pub struct DisbursementCallback {
    /// The provider's event id: a repeat is acknowledged with no effect.
    #[schema(example = "evt_01J9X3", min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub event_id: String,
    /// The attempt id sent as `reference`.
    #[schema(
        example = "5f0c6f5e-8a4b-4a57-9f43-0c7d2d0b9e11",
        min_length = 1,
        max_length = 200
    )]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub reference: String,
    #[schema(example = "completed")]
    pub status: CallbackStatus,
    #[schema(example = json!(null), max_length = 500)]
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    pub failure_reason: Option<String>,
}

/// The acknowledgement of a callback.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackAck {
    pub received: bool,
    /// The event id was seen before: nothing changed.
    pub duplicate: bool,
}
