//! The double-entry ledger. Money moves only as journal entries whose postings
//! sum to zero (checked here and again by a deferred database trigger at
//! commit), written in the transaction of the change that causes them.
//!
//! - **One cause posts once.** An entry's `(kind, reference)` is unique: the
//!   reference names its cause (a part of a wave's selection for the credit of
//!   its new cards, the card for an expiry, the purchase for a purchase or its
//!   refund, the payout attempt for a payment),
//!   so a retried job or a duplicate webhook gets [`LedgerError::AlreadyPosted`]
//!   instead of paying twice.
//! - **No overdraft, no aborted transaction.** Only card accounts cache a
//!   balance, and a card posting is one conditional update
//!   (`… WHERE balance_idr + amount >= 0`): a debit the balance cannot cover is
//!   [`LedgerError::InsufficientFunds`] (409 `insufficient_balance`), with
//!   nothing of the entry written and the caller's transaction still usable. The
//!   CHECK constraint stays as the backstop.
//! - **One lock order.** An entry locks its card accounts in ascending account
//!   id, so a purchase (card → partner) and a refund (partner → card), or any
//!   two entries, can never wait on each other in a cycle.
//! - **No hot row.** The programme, treasury, partner-payable and incentive
//!   accounts cache nothing: their balance is the sum of their postings
//!   ([`balance`]), so concurrent entries on different cards never wait on a
//!   shared row (a posting only takes a key-share lock on its account row).
//!
//! Accounts: `programme_funding` (the State budget, source of every credit),
//! `treasury_return` (balances returned to the State Treasury), one
//! `participant_card` per card, one `partner_payable` per partner (purchases),
//! and `incentive_payable` / `incentive_paid` (incentives).

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    result::Error as DieselError,
    sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{
    db::{
        prepared,
        schema::{journal_entries, ledger_accounts, ledger_postings},
        text_enum,
    },
    error::{ApiError, ErrorCode},
};

/// The programme's budget account (seeded by the migration).
pub const PROGRAMME_FUNDING: Uuid = Uuid::from_u128(1);
/// Balances returned to the State Treasury (seeded by the migration).
pub const TREASURY_RETURN: Uuid = Uuid::from_u128(2);
/// Incentives earned, not yet paid (seeded by the migration).
pub const INCENTIVE_PAYABLE: Uuid = Uuid::from_u128(3);
/// Incentives disbursed to participants (seeded by the migration).
pub const INCENTIVE_PAID: Uuid = Uuid::from_u128(4);

text_enum! {
    /// What a ledger account holds.
    pub enum AccountKind {
        /// The State budget allocated to the programme (source of every credit).
        ProgrammeFunding => "programme_funding",
        /// Balances returned to the State Treasury (RKUN).
        TreasuryReturn => "treasury_return",
        /// A card's training balance: the only kind that caches its balance.
        ParticipantCard => "participant_card",
        /// Owed to one partner platform for the trainings it sold.
        PartnerPayable => "partner_payable",
        /// Incentives earned, not yet paid.
        IncentivePayable => "incentive_payable",
        /// Incentives disbursed.
        IncentivePaid => "incentive_paid",
    }
}

text_enum! {
    /// What a journal entry records (every kind the schema allows).
    pub enum EntryKind {
        /// The wave's training balance credited to a new card.
        Credit => "credit",
        /// A training bought with the card.
        Purchase => "purchase",
        /// A cancelled purchase returned to the card.
        Refund => "refund",
        /// An unused balance returned to the Treasury when the card is deactivated.
        Expiry => "expiry",
        /// An incentive earned by a participant.
        IncentiveEarned => "incentive_earned",
        /// An incentive paid out.
        IncentivePaid => "incentive_paid",
    }
}

impl AccountKind {
    /// Whether accounts of this kind keep a cached balance (and
    /// `balance_after_idr` on their postings).
    pub const fn caches_balance(self) -> bool {
        matches!(self, AccountKind::ParticipantCard)
    }
}

/// One leg of an entry: positive into the account, negative out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub account: Uuid,
    pub amount_idr: i64,
}

impl Posting {
    /// `amount` moved from `from` to `to`, as the two legs of an entry.
    pub fn transfer(from: Uuid, to: Uuid, amount: i64) -> [Posting; 2] {
        [
            Posting {
                account: from,
                amount_idr: -amount,
            },
            Posting {
                account: to,
                amount_idr: amount,
            },
        ]
    }
}

/// A journal entry to write.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub kind: EntryKind,
    /// The cause: unique with `kind`.
    pub reference: &'a str,
    pub postings: &'a [Posting],
}

/// A written entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub entry_id: Uuid,
    /// The balance after the entry of each card account it touched.
    pub card_balances: Vec<(Uuid, i64)>,
}

impl Posted {
    /// The balance after this entry of a card account it touched.
    pub fn balance_after(&self, account: Uuid) -> Option<i64> {
        self.card_balances
            .iter()
            .find(|(a, _)| *a == account)
            .map(|(_, b)| *b)
    }
}

/// Why an entry was refused. Nothing of a refused entry is written, and the
/// caller's transaction stays usable.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("the postings of an entry must sum to zero, not {0}")]
    Unbalanced(i64),
    /// A card debit its balance cannot cover (409 `insufficient_balance`).
    #[error("the balance of account {account} cannot cover {amount_idr}")]
    InsufficientFunds { account: Uuid, amount_idr: i64 },
    /// An entry of this kind and reference exists: its cause already posted.
    #[error("a {kind} entry for {reference} is already posted")]
    AlreadyPosted { kind: EntryKind, reference: String },
    #[error("no ledger account {0}")]
    UnknownAccount(Uuid),
    /// A total beyond what an `i64` of rupiah holds.
    #[error("the amounts of an entry overflow")]
    Overflow,
    #[error(transparent)]
    Database(#[from] DieselError),
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::InsufficientFunds { .. } => ApiError::new(ErrorCode::InsufficientBalance)
                .detail("The card's balance does not cover the price."),
            // A duplicate the caller did not expect is a bug, not the client's fault.
            e => ApiError::internal(e),
        }
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
            ledger_accounts::kind.eq(AccountKind::ParticipantCard),
            ledger_accounts::card_id.eq(card_id),
            ledger_accounts::balance_idr.eq(Some(0i64)),
            ledger_accounts::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Opens (once) the payable account of a partner and returns it; opening it
/// again returns the same account.
pub async fn open_partner_account(
    conn: &mut AsyncPgConnection,
    partner_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Uuid> {
    diesel::insert_into(ledger_accounts::table)
        .values((
            ledger_accounts::id.eq(Uuid::new_v4()),
            ledger_accounts::kind.eq(AccountKind::PartnerPayable),
            ledger_accounts::partner_id.eq(partner_id),
            ledger_accounts::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    ledger_accounts::table
        .filter(ledger_accounts::partner_id.eq(partner_id))
        .select(ledger_accounts::id)
        .first(conn)
        .await
}

/// The payable account of a partner, if opened.
pub async fn partner_account(
    conn: &mut AsyncPgConnection,
    partner_id: Uuid,
) -> QueryResult<Option<Uuid>> {
    ledger_accounts::table
        .filter(ledger_accounts::partner_id.eq(partner_id))
        .select(ledger_accounts::id)
        .first(conn)
        .await
        .optional()
}

/// The ledger account of a card and its balance.
pub async fn card_account(conn: &mut AsyncPgConnection, card_id: Uuid) -> QueryResult<(Uuid, i64)> {
    ledger_accounts::table
        .filter(ledger_accounts::card_id.eq(card_id))
        .select((
            ledger_accounts::id,
            ledger_accounts::balance_idr.assume_not_null(),
        ))
        .first(conn)
        .await
}

/// Any account's balance: the cache of a card, the sum of the postings of
/// every other account (for reports and checks, not for hot paths).
pub async fn balance(conn: &mut AsyncPgConnection, account: Uuid) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Balance {
        #[diesel(sql_type = BigInt)]
        balance_idr: i64,
    }
    let row: Balance = diesel::sql_query(
        "SELECT coalesce(a.balance_idr, \
           (SELECT coalesce(sum(p.amount_idr), 0) FROM ledger_postings p WHERE p.account_id = a.id) \
         )::bigint AS balance_idr FROM ledger_accounts a WHERE a.id = $1",
    )
    .bind::<SqlUuid, _>(account)
    .get_result(conn)
    .await?;
    Ok(row.balance_idr)
}

/// Writes the entry row of a cause, once: a second entry of the same
/// `(kind, reference)` is [`LedgerError::AlreadyPosted`], with nothing written.
async fn open_entry(
    conn: &mut AsyncPgConnection,
    kind: EntryKind,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, LedgerError> {
    let entry_id: Option<Uuid> = diesel::insert_into(journal_entries::table)
        .values((
            journal_entries::id.eq(Uuid::new_v4()),
            journal_entries::kind.eq(kind),
            journal_entries::reference.eq(reference),
            journal_entries::created_at.eq(now),
        ))
        .on_conflict((journal_entries::kind, journal_entries::reference))
        .do_nothing()
        .returning(journal_entries::id)
        .get_result(conn)
        .await
        .optional()?;
    entry_id.ok_or_else(|| LedgerError::AlreadyPosted {
        kind,
        reference: reference.to_owned(),
    })
}

/// Writes one balanced entry. Call inside the transaction of the change that
/// causes it; see the module docs for what it guarantees.
pub async fn post(
    conn: &mut AsyncPgConnection,
    entry: Entry<'_>,
    now: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    let sum: i64 = entry.postings.iter().map(|p| p.amount_idr).sum();
    if sum != 0 || entry.postings.is_empty() {
        return Err(LedgerError::Unbalanced(sum));
    }
    let mut postings = entry.postings.to_vec();
    // The global lock order: ascending account id.
    postings.sort_by_key(|p| p.account);
    // A savepoint: a refused entry leaves nothing behind, and the caller's
    // transaction carries on.
    conn.transaction::<_, LedgerError, _>(async |conn| {
        let entry_id = open_entry(conn, entry.kind, entry.reference, now).await?;
        let ids: Vec<Uuid> = postings.iter().map(|p| p.account).collect();
        let kinds: Vec<(Uuid, AccountKind)> = ledger_accounts::table
            .filter(ledger_accounts::id.eq_any(&ids))
            .select((ledger_accounts::id, ledger_accounts::kind))
            .load(conn)
            .await?;
        let mut card_balances = Vec::new();
        let mut rows = Vec::with_capacity(postings.len());
        for p in &postings {
            let kind = kinds
                .iter()
                .find(|(id, _)| *id == p.account)
                .map(|(_, k)| *k)
                .ok_or(LedgerError::UnknownAccount(p.account))?;
            let balance_after = if kind.caches_balance() {
                let after = move_card_balance(conn, p.account, p.amount_idr)
                    .await?
                    .ok_or(LedgerError::InsufficientFunds {
                        account: p.account,
                        amount_idr: -p.amount_idr,
                    })?;
                card_balances.push((p.account, after));
                Some(after)
            } else {
                None
            };
            rows.push((
                ledger_postings::entry_id.eq(entry_id),
                ledger_postings::account_id.eq(p.account),
                ledger_postings::amount_idr.eq(p.amount_idr),
                ledger_postings::balance_after_idr.eq(balance_after),
                ledger_postings::created_at.eq(now),
            ));
        }
        // One text per number of legs (two or three): bounded, so kept prepared.
        prepared(diesel::insert_into(ledger_postings::table).values(&rows))
            .execute(conn)
            .await?;
        Ok(Posted {
            entry_id,
            card_balances,
        })
    })
    .await
}

/// Moves a card's cached balance by `amount` unless that would take it below
/// zero (`None` then): one conditional update, which locks the row.
async fn move_card_balance(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    amount: i64,
) -> QueryResult<Option<i64>> {
    let balance = ledger_accounts::balance_idr.assume_not_null();
    let covered = ledger_accounts::table
        .find(account)
        .filter((balance + amount).ge(0i64));
    prepared(
        diesel::update(covered)
            .set(ledger_accounts::balance_idr.eq(ledger_accounts::balance_idr + amount))
            .returning(balance),
    )
    .get_result(conn)
    .await
    .optional()
}

/// Opens card accounts and credits each with `amount` from the programme
/// budget, as one balanced `credit` entry for them all (referenced by
/// `reference`, the cause: a part of a wave's selection), in three set-based
/// statements. Selection credits up to millions of cards at once: an entry per
/// card would write two more rows per card (the entry and its budget leg),
/// about a third of the ledger's work. The programme side caches no balance, so
/// no shared row is updated.
pub async fn credit_new_cards(
    conn: &mut AsyncPgConnection,
    reference: &str,
    card_ids: &[Uuid],
    amount: i64,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    if card_ids.is_empty() {
        return Ok(());
    }
    let total = i64::try_from(card_ids.len())
        .ok()
        .and_then(|n| n.checked_mul(amount))
        .ok_or(LedgerError::Overflow)?;
    let entry_id = open_entry(conn, EntryKind::Credit, reference, now).await?;
    // Fresh ids in ascending order (like `card_ids`, when the caller sorts
    // them): each index then fills page by page instead of at random places.
    let mut accounts: Vec<Uuid> = card_ids.iter().map(|_| Uuid::new_v4()).collect();
    accounts.sort_unstable();
    diesel::sql_query(
        "INSERT INTO ledger_accounts (id, kind, card_id, balance_idr, created_at) \
         SELECT a, $5, c, $3, $4 FROM unnest($1::uuid[], $2::uuid[]) AS t(a, c)",
    )
    .bind::<Array<SqlUuid>, _>(&accounts)
    .bind::<Array<SqlUuid>, _>(card_ids)
    .bind::<BigInt, _>(amount)
    .bind::<Timestamptz, _>(now)
    .bind::<Text, _>(AccountKind::ParticipantCard)
    .execute(conn)
    .await?;
    // Every leg in one statement (the balance trigger sees the entry whole):
    // each card ends at `amount`; the budget's one leg carries no running
    // balance.
    diesel::sql_query(
        "INSERT INTO ledger_postings (entry_id, account_id, amount_idr, balance_after_idr, created_at) \
         SELECT $1, a, $3, $3, $4 FROM unnest($2::uuid[]) AS t(a) \
         UNION ALL \
         SELECT $1, $5, -$6, NULL, $4",
    )
    .bind::<SqlUuid, _>(entry_id)
    .bind::<Array<SqlUuid>, _>(&accounts)
    .bind::<BigInt, _>(amount)
    .bind::<Timestamptz, _>(now)
    .bind::<SqlUuid, _>(PROGRAMME_FUNDING)
    .bind::<BigInt, _>(total)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_transaction_kinds_are_entry_kinds() {
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
        assert_eq!(EntryKind::ALL.len(), 6);
    }

    #[test]
    fn only_cards_cache_a_balance() {
        let caching: Vec<AccountKind> = AccountKind::ALL
            .iter()
            .copied()
            .filter(|k| k.caches_balance())
            .collect();
        assert_eq!(caching, [AccountKind::ParticipantCard]);
    }

    #[test]
    fn a_transfer_balances() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let legs = Posting::transfer(a, b, 750_000);
        assert_eq!(legs.iter().map(|p| p.amount_idr).sum::<i64>(), 0);
        assert_eq!(legs[0].account, a);
        assert_eq!(legs[0].amount_idr, -750_000);
    }
}
