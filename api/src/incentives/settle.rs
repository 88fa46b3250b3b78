//! Settling a payout attempt: the one place an installment becomes `paid` or
//! `failed`, whoever learnt the outcome (the provider's answer to the send,
//! its callback, or the reconciliation's status query).
//!
//! Each outcome is one conditional update of the attempt (`… WHERE status =
//! 'processing'`): of two callbacks, a callback and an answer, or two workers,
//! exactly one moves it, and the others change nothing. A `completed` attempt
//! never goes back; a late `completed` for an attempt that was reported
//! `failed` is honoured (the money did leave) unless a newer attempt for the
//! installment is live, which is logged for the programme office to resolve.
//! The payment's ledger entry (`incentive_paid`, incentives payable →
//! incentives paid, referenced by the attempt), the installment's move and the
//! `incentive_paid` email commit together, once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::rules::{AttemptStatus, IncentiveStatus};
use crate::{
    card::ledger::{self, Entry, EntryKind, Posting},
    db::schema::{accounts, incentives, payout_attempts},
    notifications::{self, Channel, Message},
};

/// What the provider said about an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Failed { reason: Option<String> },
}

/// What settling did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settled {
    /// The installment is paid now.
    Paid,
    /// The installment failed now.
    Failed,
    /// Already settled that way (or a regress, refused): nothing changed.
    NoChange,
    /// No such attempt.
    UnknownAttempt,
}

/// Applies `outcome` to attempt `attempt_id`; see the module docs.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    attempt_id: Uuid,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> anyhow::Result<Settled> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| match outcome {
        Outcome::Completed => complete(conn, attempt_id, now).await,
        Outcome::Failed { reason } => fail(conn, attempt_id, reason.as_deref(), now).await,
    })
    .await
}

async fn complete(
    conn: &mut AsyncPgConnection,
    attempt_id: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<Settled> {
    let moved: Option<(Uuid, i64)> = diesel::update(
        payout_attempts::table
            .find(attempt_id)
            .filter(payout_attempts::status.eq(AttemptStatus::Processing)),
    )
    .set((
        payout_attempts::status.eq(AttemptStatus::Completed),
        payout_attempts::settled_at.eq(now),
        payout_attempts::next_send_at.eq(None::<DateTime<Utc>>),
        payout_attempts::locked_until.eq(None::<DateTime<Utc>>),
        payout_attempts::updated_at.eq(now),
    ))
    .returning((payout_attempts::incentive_id, payout_attempts::amount_idr))
    .get_result(conn)
    .await
    .optional()?;
    let (incentive, amount) = match moved {
        Some(moved) => moved,
        None => match late_completion(conn, attempt_id, now).await? {
            Some(moved) => moved,
            None => return no_change_or_unknown(conn, attempt_id).await,
        },
    };
    let paid = diesel::update(
        incentives::table
            .find(incentive)
            .filter(incentives::status.eq(IncentiveStatus::Processing)),
    )
    .set((
        incentives::status.eq(IncentiveStatus::Paid),
        incentives::paid_at.eq(now),
        incentives::failure_reason.eq(None::<String>),
        incentives::updated_at.eq(now),
    ))
    .returning(incentives::account_id)
    .get_result::<Uuid>(conn)
    .await
    .optional()?;
    let Some(account) = paid else {
        // The attempt moved, so its installment was processing: the one-live-
        // attempt index allows nothing else.
        anyhow::bail!("attempt {attempt_id} completed but its installment was not processing");
    };
    let reference = attempt_id.to_string();
    ledger::post(
        conn,
        Entry {
            kind: EntryKind::IncentivePaid,
            reference: &reference,
            postings: &Posting::transfer(ledger::INCENTIVE_PAYABLE, ledger::INCENTIVE_PAID, amount),
        },
        now,
    )
    .await?;
    let email: String = accounts::table
        .find(account)
        .select(accounts::email)
        .first(conn)
        .await?;
    notifications::enqueue(
        conn,
        now,
        Channel::Email,
        &email,
        &Message::IncentivePaid { amount_idr: amount },
    )
    .await?;
    Ok(Settled::Paid)
}

/// A `completed` for an attempt reported `failed` before: the provider paid
/// after all. Taken when its installment has no newer live attempt (it is
/// `failed`, or back to `scheduled` / `awaiting_payout_account` after a new
/// account was linked); returns the installment and amount, now `processing`.
async fn late_completion(
    conn: &mut AsyncPgConnection,
    attempt_id: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(Uuid, i64)>> {
    let failed: Option<(Uuid, i64)> = payout_attempts::table
        .find(attempt_id)
        .filter(payout_attempts::status.eq(AttemptStatus::Failed))
        .select((payout_attempts::incentive_id, payout_attempts::amount_idr))
        .first(conn)
        .await
        .optional()?;
    let Some((incentive, amount)) = failed else {
        return Ok(None);
    };
    let reopened = diesel::update(incentives::table.find(incentive).filter(
        incentives::status.eq_any([
            IncentiveStatus::Failed,
            IncentiveStatus::Scheduled,
            IncentiveStatus::AwaitingPayoutAccount,
        ]),
    ))
    .set((
        incentives::status.eq(IncentiveStatus::Processing),
        incentives::updated_at.eq(now),
    ))
    .execute(conn)
    .await?;
    if reopened == 0 {
        tracing::error!(
            attempt = %attempt_id,
            incentive = %incentive,
            "the provider reports completed an attempt it failed, while a newer attempt is live: needs review"
        );
        return Ok(None);
    }
    diesel::update(
        payout_attempts::table
            .find(attempt_id)
            .filter(payout_attempts::status.eq(AttemptStatus::Failed)),
    )
    .set((
        payout_attempts::status.eq(AttemptStatus::Completed),
        payout_attempts::settled_at.eq(now),
        payout_attempts::updated_at.eq(now),
    ))
    .execute(conn)
    .await?;
    tracing::warn!(attempt = %attempt_id, "a failed attempt was completed by the provider later");
    Ok(Some((incentive, amount)))
}

async fn fail(
    conn: &mut AsyncPgConnection,
    attempt_id: Uuid,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Settled> {
    let reason = reason.unwrap_or("failed");
    let moved: Option<Uuid> = diesel::update(
        payout_attempts::table
            .find(attempt_id)
            .filter(payout_attempts::status.eq(AttemptStatus::Processing)),
    )
    .set((
        payout_attempts::status.eq(AttemptStatus::Failed),
        payout_attempts::failure_reason.eq(reason),
        payout_attempts::settled_at.eq(now),
        payout_attempts::next_send_at.eq(None::<DateTime<Utc>>),
        payout_attempts::locked_until.eq(None::<DateTime<Utc>>),
        payout_attempts::updated_at.eq(now),
    ))
    .returning(payout_attempts::incentive_id)
    .get_result(conn)
    .await
    .optional()?;
    let Some(incentive) = moved else {
        return no_change_or_unknown(conn, attempt_id).await;
    };
    diesel::update(
        incentives::table
            .find(incentive)
            .filter(incentives::status.eq(IncentiveStatus::Processing)),
    )
    .set((
        incentives::status.eq(IncentiveStatus::Failed),
        incentives::failure_reason.eq(reason),
        incentives::updated_at.eq(now),
    ))
    .execute(conn)
    .await?;
    Ok(Settled::Failed)
}

async fn no_change_or_unknown(
    conn: &mut AsyncPgConnection,
    attempt_id: Uuid,
) -> anyhow::Result<Settled> {
    let known: i64 = payout_attempts::table
        .find(attempt_id)
        .count()
        .get_result(conn)
        .await?;
    Ok(if known == 0 {
        Settled::UnknownAttempt
    } else {
        Settled::NoChange
    })
}
