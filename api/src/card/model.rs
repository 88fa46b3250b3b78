//! Card rows and their queries.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::{
    schema::{cards, ledger_accounts},
    text_enum, Reader,
};

text_enum! {
    /// A card's status (API.md: active/deactivated).
    pub enum CardStatus {
        /// Usable to buy training.
        Active => "active",
        /// Deactivated for good (DOMAIN.md §5).
        Deactivated => "deactivated",
    }
}

text_enum! {
    /// Why a card was deactivated.
    pub enum DeactivationReason {
        /// No first training bought within 15 calendar days of the notification.
        NoPurchaseByDeadline => "no_purchase_by_deadline",
    }
}

/// A card with its cached balance.
#[derive(Debug, Queryable)]
pub struct CardRow {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub card_number: String,
    pub status: CardStatus,
    pub purchase_deadline: NaiveDate,
    pub issued_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub balance_idr: i64,
}

/// The card of an account, with its balance.
pub async fn of_account(conn: &mut impl Reader, account: Uuid) -> QueryResult<Option<CardRow>> {
    cards::table
        .inner_join(ledger_accounts::table)
        .filter(cards::account_id.eq(account))
        .select((
            cards::id,
            cards::batch_id,
            cards::card_number,
            cards::status,
            cards::purchase_deadline,
            cards::issued_at,
            cards::deactivated_at,
            ledger_accounts::balance_idr.assume_not_null(),
        ))
        .first(conn)
        .await
        .optional()
}
