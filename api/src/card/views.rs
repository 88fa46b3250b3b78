//! Response bodies of the card routes and the card summary of `GET /v1/me`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ledger::EntryKind, model::CardStatus};

/// The participant's card.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    /// 16 digits, the last a Luhn check digit.
    #[schema(example = "5213459876543217")]
    pub card_number: String,
    /// active or deactivated.
    #[schema(value_type = String, example = "active")]
    pub status: CardStatus,
    #[schema(example = 1000000)]
    pub balance_idr: i64,
    /// Last Asia/Jakarta date (inclusive) to buy the next training: the
    /// selection date + 15 before the first purchase.
    pub purchase_deadline: Option<NaiveDate>,
    pub batch_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// One movement of the card's balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardTransaction {
    /// The journal entry.
    pub id: Uuid,
    /// credit, purchase, refund or expiry.
    #[schema(value_type = String, example = "credit")]
    pub kind: EntryKind,
    /// Signed: positive into the card, negative out of it.
    #[schema(example = 1000000)]
    pub amount_idr: i64,
    #[schema(example = 1000000)]
    pub balance_after_idr: i64,
    /// What caused it (card, purchase …).
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

/// Card summary once selected.
#[derive(Debug, Serialize, ToSchema)]
pub struct Beneficiary {
    pub batch_id: Uuid,
    /// active or deactivated.
    #[schema(value_type = String, example = "active")]
    pub card_status: CardStatus,
    #[schema(example = 1000000)]
    pub balance_idr: i64,
    /// Last Asia/Jakarta date for the next purchase (null while a training is open).
    pub purchase_deadline: Option<NaiveDate>,
}
