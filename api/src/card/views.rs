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
    #[schema(example = "5213459876543217", pattern = "^[0-9]{16}$")]
    pub card_number: String,
    #[schema(example = "active")]
    pub status: CardStatus,
    #[schema(example = 1000000)]
    pub balance_idr: i64,
    /// Last Asia/Jakarta date (inclusive) to buy the next training: the
    /// selection date + 15 before the first purchase; null while a training
    /// is open; the review date + 15 after a review; the expiry date + 15
    /// after an expiry.
    pub purchase_deadline: Option<NaiveDate>,
    pub batch_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// One movement of the card's balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardTransaction {
    /// The journal entry. A wave's credits to its new cards are posted as one
    /// entry per part of its selection (up to 10,000 cards), so cards of one
    /// wave may share the id of their `credit`; within one card's history every
    /// id is distinct.
    pub id: Uuid,
    /// The kinds a card's history shows (of the ledger's entry kinds).
    #[schema(value_type = crate::contract::schema::TransactionKind, example = "credit")]
    pub kind: EntryKind,
    /// Signed: positive into the card, negative out of it.
    #[schema(example = 1000000)]
    pub amount_idr: i64,
    #[schema(example = 1000000)]
    pub balance_after_idr: i64,
    /// What caused it: `selection:<wave id>:<part>` for a credit, the purchase
    /// id for a purchase or its refund, the card id for an expiry.
    #[schema(example = "selection:5f0c6f5e-8a4b-4a57-9f43-0c7d2d0b9e11:1")]
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

/// Card summary once selected.
#[derive(Debug, Serialize, ToSchema)]
pub struct Beneficiary {
    pub batch_id: Uuid,
    #[schema(example = "active")]
    pub card_status: CardStatus,
    #[schema(example = 1000000)]
    pub balance_idr: i64,
    /// Last Asia/Jakarta date for the next purchase (null while a training is open).
    pub purchase_deadline: Option<NaiveDate>,
}
