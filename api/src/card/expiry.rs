//! The first-purchase deadline (DOMAIN.md §5): a card with no purchase by its
//! deadline (a cancelled purchase does not count: the first training was not
//! bought) (an Asia/Jakarta date, inclusive) is deactivated for good, its
//! balance returned to the State Treasury as an `expiry` entry, and the
//! participant told. Cards are claimed with `FOR UPDATE SKIP LOCKED` and
//! changed by a conditional update, so two instances running the job at once
//! never deactivate (or refund) a card twice.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    dsl::{exists, not},
    prelude::*,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{
    ledger::{self, Entry, EntryKind, Posting},
    model::{CardStatus, DeactivationReason},
};
use crate::{
    db::schema::{accounts, cards, purchases},
    notifications::{self, Channel, Message},
    purchases::rules::PurchaseStatus,
};

/// A purchase of the card being looked at that was not cancelled.
fn standing_purchase() -> diesel::dsl::Filter<
    diesel::dsl::Filter<purchases::table, diesel::dsl::Eq<purchases::card_id, cards::id>>,
    diesel::dsl::NotEq<purchases::status, PurchaseStatus>,
> {
    purchases::table
        .filter(purchases::card_id.eq(cards::id))
        .filter(purchases::status.ne(PurchaseStatus::Cancelled))
}

/// What one run did.
#[derive(Debug, Default, Serialize)]
pub struct ExpiryReport {
    pub deactivated: u32,
    pub returned_idr: i64,
}

/// Cards per transaction.
const BATCH: i64 = 200;

/// Deactivates every active card whose deadline is before `today`.
pub async fn deactivate_expired_cards(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<ExpiryReport> {
    let mut report = ExpiryReport::default();
    loop {
        let done = conn
            .transaction::<_, anyhow::Error, _>(async |conn| {
                let due: Vec<(Uuid, Uuid)> = cards::table
                    .filter(cards::status.eq(CardStatus::Active))
                    .filter(cards::purchase_deadline.lt(today))
                    .filter(not(exists(standing_purchase())))
                    .select((cards::id, cards::account_id))
                    .order(cards::purchase_deadline)
                    .limit(BATCH)
                    .for_update()
                    .skip_locked()
                    .load(conn)
                    .await?;
                if due.is_empty() {
                    return Ok(true);
                }
                for (card_id, account_id) in due {
                    // Checked again in this statement's own snapshot: a purchase
                    // that committed after the claim above (it held the card row
                    // shared until then) keeps the card.
                    let changed = diesel::update(
                        cards::table
                            .find(card_id)
                            .filter(cards::status.eq(CardStatus::Active))
                            .filter(not(exists(standing_purchase()))),
                    )
                    .set((
                        cards::status.eq(CardStatus::Deactivated),
                        cards::deactivated_at.eq(now),
                        cards::deactivation_reason.eq(DeactivationReason::NoPurchaseByDeadline),
                    ))
                    .execute(conn)
                    .await?;
                    if changed == 0 {
                        continue;
                    }
                    let (account, balance) = ledger::card_account(conn, card_id).await?;
                    if balance > 0 {
                        // The card's row is locked by the update above, so the
                        // balance read is the one that leaves.
                        let entry = Entry {
                            kind: EntryKind::Expiry,
                            reference: &card_id.to_string(),
                            postings: &Posting::transfer(account, ledger::TREASURY_RETURN, balance),
                        };
                        ledger::post(conn, entry, now).await?;
                    }
                    let email: String = accounts::table
                        .find(account_id)
                        .select(accounts::email)
                        .first(conn)
                        .await?;
                    notifications::enqueue(
                        conn,
                        now,
                        Channel::Email,
                        &email,
                        &Message::CardDeactivated,
                    )
                    .await?;
                    report.deactivated += 1;
                    report.returned_idr += balance;
                }
                Ok(false)
            })
            .await?;
        if done {
            return Ok(report);
        }
    }
}
