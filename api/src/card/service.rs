//! Reading a participant's card and its transactions.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    ledger::EntryKind,
    model,
    views::{Beneficiary, CardTransaction, CardView},
};
use crate::{
    clock::jakarta_date,
    db::schema::{cards, journal_entries, ledger_accounts, ledger_postings},
    error::{ApiError, ErrorCode},
    pagination::{self, Cursor, Page, PageRequest},
    purchases,
};

fn no_card() -> ApiError {
    ApiError::new(ErrorCode::CardNotFound)
        .detail("No card yet: a card is issued when you are selected in a wave.")
}

/// `GET /v1/me/card`.
pub async fn my_card(conn: &mut AsyncPgConnection, account: Uuid) -> Result<CardView, ApiError> {
    let row = model::of_account(conn, account)
        .await?
        .ok_or_else(no_card)?;
    let purchase_deadline = next_purchase_deadline(conn, &row).await?;
    Ok(CardView {
        card_number: row.card_number,
        status: row.status,
        balance_idr: row.balance_idr,
        purchase_deadline,
        batch_id: row.batch_id,
        issued_at: row.issued_at,
        deactivated_at: row.deactivated_at,
    })
}

/// The beneficiary summary of `GET /v1/me`: the card with its balance, and
/// what the card's latest purchase leaves for the next one
/// ([`purchases::service::previous_of`]).
pub fn beneficiary_of(row: model::CardRow, previous: purchases::rules::Previous) -> Beneficiary {
    Beneficiary {
        batch_id: row.batch_id,
        card_status: row.status,
        balance_idr: row.balance_idr,
        purchase_deadline: purchases::rules::purchase_deadline(row.purchase_deadline, previous),
    }
}

/// The last Asia/Jakarta date for the card's next purchase (API.md Card and
/// balance): none while a training is open.
async fn next_purchase_deadline(
    conn: &mut AsyncPgConnection,
    row: &model::CardRow,
) -> QueryResult<Option<NaiveDate>> {
    let previous = purchases::service::previous(conn, row.id).await?;
    Ok(purchases::rules::purchase_deadline(
        row.purchase_deadline,
        previous,
    ))
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
    let row = model::of_account(conn, account)
        .await?
        .ok_or_else(no_card)?;
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
            // Card postings always carry it (only card accounts cache a balance).
            ledger_postings::balance_after_idr.assume_not_null(),
            journal_entries::reference,
            journal_entries::created_at,
        ))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(pagination::before(
            journal_entries::created_at,
            journal_entries::id,
            after,
        ));
    }
    let rows: Vec<(Uuid, EntryKind, i64, i64, String, DateTime<Utc>)> = query.load(conn).await?;
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
