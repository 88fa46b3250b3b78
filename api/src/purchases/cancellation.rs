//! Cancelling a purchase (DOMAIN.md §6): only before it is redeemed and on or
//! before its cancel deadline; the price goes back to the card through the
//! ledger (partner payable → card, the purchase as the refund's unique
//! reference), the participant is told, and the course can never be bought
//! again by that participant.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    model::{self, Purchase},
    rules::{self, CancelRefusal, CancellationReason, PurchaseStatus},
    views::CancellationReceipt,
};
use crate::{
    card::ledger::{self, Entry, EntryKind, Posting},
    clock::jakarta_date,
    db::schema::{accounts, cards},
    error::{ApiError, ErrorCode},
    idempotency::Lease,
    notifications::{self, Channel, Message},
};

/// 404 for a purchase that is not the caller's (as if absent).
pub fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound).detail("No such purchase.")
}

fn refused(e: CancelRefusal) -> ApiError {
    match e {
        CancelRefusal::AlreadyRedeemed => ApiError::new(ErrorCode::AlreadyRedeemed)
            .detail("The training was already joined and can no longer be cancelled."),
        CancelRefusal::AlreadyCancelled => ApiError::new(ErrorCode::AlreadyCancelled),
        CancelRefusal::WindowClosed => ApiError::new(ErrorCode::CancellationWindowClosed).detail(
            "A purchase can be cancelled until the earlier of 3 days after the purchase and 3 days before the start.",
        ),
    }
}

/// The participant's own purchase.
pub async fn own(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    purchase_id: Uuid,
) -> Result<Purchase, ApiError> {
    model::find(conn, purchase_id)
        .await?
        .filter(|p| p.account_id == account_id)
        .ok_or_else(not_found)
}

/// `POST /v1/me/purchases/{id}/cancellation`.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    account_id: Uuid,
    purchase_id: Uuid,
    reason: CancellationReason,
    lease: Option<&Lease>,
) -> Result<CancellationReceipt, ApiError> {
    let today = jakarta_date(now);
    let p = own(conn, account_id, purchase_id).await?;
    rules::may_cancel(p.status, p.cancel_deadline, today).map_err(refused)?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        // The card row shared, as a purchase takes it: the deadline job never
        // deactivates a card while its money moves.
        cards::table
            .find(p.card_id)
            .select(cards::id)
            .for_share()
            .first::<Uuid>(conn)
            .await?;
        // The one conditional move: a redemption racing this cancel cannot
        // also win.
        let Some(cancelled) = model::cancel(conn, p.id, reason, now).await? else {
            let current = model::find(conn, p.id).await?.ok_or_else(not_found)?;
            let e = rules::may_cancel(current.status, current.cancel_deadline, today)
                .err()
                .unwrap_or(CancelRefusal::WindowClosed);
            return Err(refused(e));
        };
        let (card_account, _) = ledger::card_account(conn, p.card_id).await?;
        let partner_account = ledger::partner_account(conn, p.partner_id)
            .await?
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("a sold purchase without a partner account"))
            })?;
        let posted = ledger::post(
            conn,
            Entry {
                kind: EntryKind::Refund,
                reference: &cancelled.id.to_string(),
                postings: &Posting::transfer(partner_account, card_account, cancelled.price_idr),
            },
            now,
        )
        .await?;
        let balance_after_idr = posted
            .balance_after(card_account)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no card balance posted")))?;
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
            &Message::PurchaseCancelled {
                refund_idr: cancelled.price_idr,
            },
        )
        .await?;
        let receipt = CancellationReceipt {
            refund_idr: cancelled.price_idr,
            balance_after_idr,
        };
        debug_assert_eq!(cancelled.status, PurchaseStatus::Cancelled);
        if let Some(lease) = lease {
            lease.commit(conn, &receipt).await?;
        }
        Ok(receipt)
    })
    .await
}
