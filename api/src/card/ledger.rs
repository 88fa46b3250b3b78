//! The double-entry ledger. Money moves only as journal entries whose postings
//! sum to zero (checked here and again by a deferred database trigger at
//! commit), written in the transaction of the change that causes them. Each
//! ledger account caches its balance; the cache changes only together with a
//! posting, so it always equals the sum of its postings, and a card account
//! can never go below zero (a CHECK constraint).
//!
//! Accounts: `programme_funding` (the State budget, source of every credit),
//! `treasury_return` (balances returned to the State Treasury), one
//! `participant_card` per card, `partner_payable` per partner (purchases), and
//! `incentive_payable` / `incentive_paid` (incentives).

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{journal_entries, ledger_accounts, ledger_postings};

/// The programme's budget account (seeded by the migration).
pub const PROGRAMME_FUNDING: Uuid = Uuid::from_u128(1);
/// Balances returned to the State Treasury (seeded by the migration).
pub const TREASURY_RETURN: Uuid = Uuid::from_u128(2);

/// What a journal entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// The wave's training balance credited to a new card.
    Credit,
    /// A training bought with the card.
    Purchase,
    /// A cancelled purchase returned to the card.
    Refund,
    /// An unused balance returned to the Treasury when the card is deactivated.
    Expiry,
}

impl EntryKind {
    /// Stored value (also the `kind` of card transactions).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Credit => "credit",
            EntryKind::Purchase => "purchase",
            EntryKind::Refund => "refund",
            EntryKind::Expiry => "expiry",
        }
    }
}

/// Why a posting was refused.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("the postings of an entry must sum to zero, not {0}")]
    Unbalanced(i64),
    #[error("the account would go below zero")]
    InsufficientFunds,
    #[error(transparent)]
    Database(#[from] DieselError),
}

impl From<LedgerError> for crate::error::ApiError {
    fn from(e: LedgerError) -> Self {
        crate::error::ApiError::internal(e)
    }
}

/// Opens the ledger account of a new card (zero balance).
pub async fn open_card_account(
    conn: &mut AsyncPgConnection,
    card_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Uuid> {
    let id = Uuid::new_v4();
    diesel::insert_into(ledger_accounts::table)
        .values((
            ledger_accounts::id.eq(id),
            ledger_accounts::kind.eq("participant_card"),
            ledger_accounts::card_id.eq(card_id),
            ledger_accounts::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// The ledger account of a card.
pub async fn card_account(conn: &mut AsyncPgConnection, card_id: Uuid) -> QueryResult<(Uuid, i64)> {
    ledger_accounts::table
        .filter(ledger_accounts::card_id.eq(card_id))
        .select((ledger_accounts::id, ledger_accounts::balance_idr))
        .first(conn)
        .await
}

/// Writes one balanced entry. Call inside the transaction of the change that
/// causes it. Balances move by conditional updates, so concurrent entries on
/// one account serialise on its row and a card can never be overdrawn.
pub async fn post(
    conn: &mut AsyncPgConnection,
    kind: EntryKind,
    reference: &str,
    postings: &[(Uuid, i64)],
    now: DateTime<Utc>,
) -> Result<Uuid, LedgerError> {
    let sum: i64 = postings.iter().map(|(_, amount)| amount).sum();
    if sum != 0 || postings.is_empty() {
        return Err(LedgerError::Unbalanced(sum));
    }
    let entry = Uuid::new_v4();
    diesel::insert_into(journal_entries::table)
        .values((
            journal_entries::id.eq(entry),
            journal_entries::kind.eq(kind.as_str()),
            journal_entries::reference.eq(reference),
            journal_entries::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    for &(account, amount) in postings {
        let balance_after: i64 = diesel::update(ledger_accounts::table.find(account))
            .set(ledger_accounts::balance_idr.eq(ledger_accounts::balance_idr + amount))
            .returning(ledger_accounts::balance_idr)
            .get_result(conn)
            .await
            .map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, _) => {
                    LedgerError::InsufficientFunds
                }
                e => LedgerError::Database(e),
            })?;
        diesel::insert_into(ledger_postings::table)
            .values((
                ledger_postings::entry_id.eq(entry),
                ledger_postings::account_id.eq(account),
                ledger_postings::amount_idr.eq(amount),
                ledger_postings::balance_after_idr.eq(balance_after),
                ledger_postings::created_at.eq(now),
            ))
            .execute(conn)
            .await?;
    }
    Ok(entry)
}

/// Opens card accounts and credits each with `amount` from the programme
/// budget, as one balanced `credit` entry per card, in a few set-based
/// statements (selection credits up to millions of cards at once).
pub async fn credit_new_cards(
    conn: &mut AsyncPgConnection,
    card_ids: &[Uuid],
    amount: i64,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    if card_ids.is_empty() {
        return Ok(());
    }
    // Fresh ids in ascending order (like `card_ids`, when the caller sorts
    // them): each index then fills page by page instead of at random places.
    let fresh_sorted = || {
        let mut ids: Vec<Uuid> = card_ids.iter().map(|_| Uuid::new_v4()).collect();
        ids.sort_unstable();
        ids
    };
    let accounts = fresh_sorted();
    let entries = fresh_sorted();
    let references: Vec<String> = card_ids.iter().map(Uuid::to_string).collect();
    diesel::sql_query(
        "INSERT INTO ledger_accounts (id, kind, card_id, balance_idr, created_at) \
         SELECT a, 'participant_card', c, $3, $4 FROM unnest($1::uuid[], $2::uuid[]) AS t(a, c)",
    )
    .bind::<Array<SqlUuid>, _>(&accounts)
    .bind::<Array<SqlUuid>, _>(card_ids)
    .bind::<BigInt, _>(amount)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO journal_entries (id, kind, reference, created_at) \
         SELECT e, 'credit', r, $3 FROM unnest($1::uuid[], $2::text[]) AS t(e, r)",
    )
    .bind::<Array<SqlUuid>, _>(&entries)
    .bind::<Array<Text>, _>(&references)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    // The card side: each card's first posting leaves it at `amount`.
    diesel::sql_query(
        "INSERT INTO ledger_postings (entry_id, account_id, amount_idr, balance_after_idr, created_at) \
         SELECT e, a, $3, $3, $4 FROM unnest($1::uuid[], $2::uuid[]) AS t(e, a)",
    )
    .bind::<Array<SqlUuid>, _>(&entries)
    .bind::<Array<SqlUuid>, _>(&accounts)
    .bind::<BigInt, _>(amount)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    // The budget side, with the running balance after each entry.
    let total = amount * card_ids.len() as i64;
    let after: i64 = diesel::update(ledger_accounts::table.find(PROGRAMME_FUNDING))
        .set(ledger_accounts::balance_idr.eq(ledger_accounts::balance_idr - total))
        .returning(ledger_accounts::balance_idr)
        .get_result(conn)
        .await?;
    let before = after + total;
    diesel::sql_query(
        "INSERT INTO ledger_postings (entry_id, account_id, amount_idr, balance_after_idr, created_at) \
         SELECT e, $2, -$3, $4 - $3 * n, $5 FROM unnest($1::uuid[]) WITH ORDINALITY AS t(e, n)",
    )
    .bind::<Array<SqlUuid>, _>(&entries)
    .bind::<SqlUuid, _>(PROGRAMME_FUNDING)
    .bind::<BigInt, _>(amount)
    .bind::<BigInt, _>(before)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_the_card_transaction_kinds() {
        let kinds: Vec<&str> = [
            EntryKind::Credit,
            EntryKind::Purchase,
            EntryKind::Refund,
            EntryKind::Expiry,
        ]
        .iter()
        .map(|k| k.as_str())
        .collect();
        assert_eq!(kinds, ["credit", "purchase", "refund", "expiry"]);
    }
}
