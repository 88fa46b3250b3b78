//! Reading a participant's card and its transactions.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    accounts::views::Beneficiary,
    clock::jakarta_date,
    db::schema::{cards, journal_entries, ledger_accounts, ledger_postings},
    error::{ApiError, ErrorCode},
    pagination::{Cursor, Page, PageRequest},
};

/// The participant's card.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    /// 16 digits, the last a Luhn check digit.
    #[schema(example = "5213459876543217")]
    pub card_number: String,
    /// active or deactivated.
    #[schema(example = "active")]
    pub status: String,
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
    #[schema(example = "credit")]
    pub kind: String,
    /// Signed: positive into the card, negative out of it.
    #[schema(example = 1000000)]
    pub amount_idr: i64,
    #[schema(example = 1000000)]
    pub balance_after_idr: i64,
    /// What caused it (card, purchase …).
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable)]
struct CardRow {
    id: Uuid,
    batch_id: Uuid,
    card_number: String,
    status: String,
    purchase_deadline: NaiveDate,
    issued_at: DateTime<Utc>,
    deactivated_at: Option<DateTime<Utc>>,
    balance_idr: i64,
}

async fn card_row(conn: &mut AsyncPgConnection, account: Uuid) -> QueryResult<Option<CardRow>> {
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
            ledger_accounts::balance_idr,
        ))
        .first(conn)
        .await
        .optional()
}

fn no_card() -> ApiError {
    ApiError::new(ErrorCode::CardNotFound)
        .detail("No card yet: a card is issued when you are selected in a wave.")
}

/// `GET /v1/me/card`.
pub async fn my_card(conn: &mut AsyncPgConnection, account: Uuid) -> Result<CardView, ApiError> {
    let row = card_row(conn, account).await?.ok_or_else(no_card)?;
    Ok(CardView {
        card_number: row.card_number,
        status: row.status,
        balance_idr: row.balance_idr,
        purchase_deadline: Some(row.purchase_deadline),
        batch_id: row.batch_id,
        issued_at: row.issued_at,
        deactivated_at: row.deactivated_at,
    })
}

/// The beneficiary summary of `GET /v1/me`.
pub async fn beneficiary(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<Option<Beneficiary>> {
    Ok(card_row(conn, account).await?.map(|row| Beneficiary {
        batch_id: row.batch_id,
        card_status: row.status,
        balance_idr: row.balance_idr,
        purchase_deadline: Some(row.purchase_deadline),
    }))
}

/// Whether the account became a beneficiary in the Asia/Jakarta year of `today`
/// (the phone-change rule of DOMAIN.md §1).
pub async fn beneficiary_in_year_of(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    today: NaiveDate,
) -> QueryResult<bool> {
    let issued: Option<DateTime<Utc>> = cards::table
        .filter(cards::account_id.eq(account))
        .select(cards::issued_at)
        .first(conn)
        .await
        .optional()?;
    Ok(issued.is_some_and(|at| jakarta_date(at).year() == today.year()))
}

/// `GET /v1/me/card/transactions`: the card's postings, newest first.
pub async fn transactions(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    page: PageRequest,
) -> Result<Page<CardTransaction>, ApiError> {
    let row = card_row(conn, account).await?.ok_or_else(no_card)?;
    let mut query = ledger_postings::table
        .inner_join(journal_entries::table)
        .inner_join(ledger_accounts::table)
        .filter(ledger_accounts::card_id.eq(row.id))
        .order((
            journal_entries::created_at.desc(),
            journal_entries::id.desc(),
        ))
        .select((
            journal_entries::id,
            journal_entries::kind,
            ledger_postings::amount_idr,
            ledger_postings::balance_after_idr,
            journal_entries::reference,
            journal_entries::created_at,
        ))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(
            journal_entries::created_at
                .lt(after.created_at)
                .or(journal_entries::created_at
                    .eq(after.created_at)
                    .and(journal_entries::id.lt(after.id))),
        );
    }
    let rows: Vec<(Uuid, String, i64, i64, String, DateTime<Utc>)> = query.load(conn).await?;
    Ok(page.page(
        rows,
        |r| Cursor {
            created_at: r.5,
            id: r.0,
        },
        |(id, kind, amount_idr, balance_after_idr, reference, created_at)| CardTransaction {
            id,
            kind,
            amount_idr,
            balance_after_idr,
            reference,
            created_at,
        },
    ))
}
