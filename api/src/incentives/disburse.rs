//! Paying due incentives (DOMAIN.md §8: once and only once, even when the
//! provider is slow, fails, retries or calls back twice).
//!
//! The job `disburse_incentives` runs in two steps, each safe with several
//! workers at once:
//! 1. **Attempts.** Due `scheduled` installments are claimed with `FOR UPDATE
//!    SKIP LOCKED`; each gets one attempt for the linked payout account (held
//!    `FOR SHARE`, so it cannot be unlinked meanwhile) and moves to
//!    `processing`. A unique index allows one live attempt per installment.
//! 2. **Sends.** Attempts due for a send are leased (`locked_until`) with `FOR
//!    UPDATE SKIP LOCKED` and sent with `Idempotency-Key` = attempt id. An
//!    answer `completed` or `failed` settles at once (`settle`); `pending`
//!    waits for the callback; a timeout or 5xx leaves the attempt to be sent
//!    again, the same id, after a backoff.
//!
//! The job `reconcile_disbursements` ([`reconcile`]) asks the provider about
//! attempts still processing long after their last send and settles them, or
//! sends again an attempt the provider never received (the same key, so
//! still at most one payment).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use diesel::{
    prelude::*,
    sql_types::{Integer, Timestamptz},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{
    payout,
    rules::{self, AttemptStatus, IncentiveStatus},
    settle::{self, Outcome, Settled},
};
use crate::{
    crypto::PiiCipher,
    db::schema::{incentives, payout_accounts, payout_attempts},
    integrations::payout::{Disbursement, DisbursementState, DisbursementStatus, PayoutAdapter},
};

/// How long a leased attempt stays reserved for the worker sending it: more
/// than a send can take (the client's timeout, twice, plus the pause).
const LEASE: TimeDelta = TimeDelta::seconds(120);
/// Installments, or attempts, per transaction.
const BATCH: i64 = 50;

/// What one run of `disburse_incentives` did.
#[derive(Debug, Default, Serialize)]
pub struct DisburseReport {
    /// New attempts made for due installments.
    pub attempts: u32,
    pub paid: u32,
    pub failed: u32,
    /// Sent and accepted, waiting for the provider's callback.
    pub pending: u32,
    /// Not answered (timeout, 5xx): to be sent again after a backoff.
    pub retrying: u32,
}

/// The provider and the key to unseal account numbers.
#[derive(Clone, Copy)]
pub struct PayoutDeps<'a> {
    pub payout: &'a PayoutAdapter,
    pub pii: &'a PiiCipher,
}

/// The job `disburse_incentives`.
pub async fn disburse_due(
    conn: &mut AsyncPgConnection,
    deps: PayoutDeps<'_>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<DisburseReport> {
    let mut report = DisburseReport::default();
    loop {
        let made = make_attempts(conn, now, today).await?;
        report.attempts += made;
        if made < BATCH as u32 {
            break;
        }
    }
    loop {
        let leased = lease_sends(conn, now).await?;
        if leased.is_empty() {
            break;
        }
        for attempt in leased {
            send(conn, deps, attempt, now, &mut report).await?;
        }
    }
    Ok(report)
}

/// Step 1, one batch: returns how many attempts it made.
async fn make_attempts(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<u32> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        let due: Vec<(Uuid, Uuid, i64)> = incentives::table
            .filter(incentives::status.eq(IncentiveStatus::Scheduled))
            .filter(incentives::due_on.le(today))
            .select((
                incentives::id,
                incentives::account_id,
                incentives::amount_idr,
            ))
            .order((incentives::due_on, incentives::id))
            .limit(BATCH)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        let mut made = 0;
        for (incentive, account, amount) in due {
            let linked: Option<Uuid> = payout_accounts::table
                .filter(payout_accounts::account_id.eq(account))
                .filter(payout_accounts::unlinked_at.is_null())
                .select(payout_accounts::id)
                .for_share()
                .first(conn)
                .await
                .optional()?;
            let Some(payout_account) = linked else {
                diesel::update(incentives::table.find(incentive))
                    .set((
                        incentives::status.eq(IncentiveStatus::AwaitingPayoutAccount),
                        incentives::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                continue;
            };
            diesel::insert_into(payout_attempts::table)
                .values((
                    payout_attempts::id.eq(Uuid::new_v4()),
                    payout_attempts::incentive_id.eq(incentive),
                    payout_attempts::payout_account_id.eq(payout_account),
                    payout_attempts::amount_idr.eq(amount),
                    payout_attempts::status.eq(AttemptStatus::Processing),
                    payout_attempts::next_send_at.eq(now),
                    payout_attempts::created_at.eq(now),
                    payout_attempts::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            diesel::update(incentives::table.find(incentive))
                .set((
                    incentives::status.eq(IncentiveStatus::Processing),
                    incentives::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            made += 1;
        }
        Ok(made)
    })
    .await
}

/// An attempt leased for a send.
#[derive(QueryableByName)]
struct Leased {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    payout_account_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    amount_idr: i64,
    #[diesel(sql_type = Integer)]
    sends: i32,
}

/// Step 2: leases attempts due for a send (one statement, so two workers
/// never lease the same one).
async fn lease_sends(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<Vec<Leased>> {
    diesel::sql_query(
        "UPDATE payout_attempts SET locked_until = $1 + make_interval(secs => $3), updated_at = $1 \
         WHERE id IN (SELECT id FROM payout_attempts \
                      WHERE status = 'processing' AND next_send_at <= $1 \
                        AND (locked_until IS NULL OR locked_until <= $1) \
                      ORDER BY next_send_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING id, payout_account_id, amount_idr, sends",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(BATCH as i32)
    .bind::<Integer, _>(LEASE.num_seconds() as i32)
    .load(conn)
    .await
}

async fn send(
    conn: &mut AsyncPgConnection,
    deps: PayoutDeps<'_>,
    attempt: Leased,
    now: DateTime<Utc>,
    report: &mut DisburseReport,
) -> anyhow::Result<()> {
    let account = payout::unseal(conn, deps.pii, attempt.payout_account_id).await?;
    let answer = deps
        .payout
        .disburse(&Disbursement {
            attempt_id: attempt.id,
            provider: account.provider,
            account_number: &account.account_number,
            amount_idr: attempt.amount_idr,
            holder_name: &account.holder_name,
        })
        .await;
    let sends = attempt.sends + 1;
    match answer {
        Ok(state) => {
            record_send(
                conn,
                attempt.id,
                sends,
                None,
                None,
                state.provider_id.as_deref(),
                now,
            )
            .await?;
            match apply(conn, attempt.id, &state, now).await? {
                Some(Settled::Paid) => report.paid += 1,
                Some(Settled::Failed) => report.failed += 1,
                Some(_) => {}
                None => report.pending += 1,
            }
        }
        Err(e) => {
            let next = now + rules::resend_backoff(sends);
            record_send(
                conn,
                attempt.id,
                sends,
                Some(next),
                Some(&e.to_string()),
                None,
                now,
            )
            .await?;
            report.retrying += 1;
        }
    }
    Ok(())
}

/// Settles an attempt the provider has an answer for; `None` while pending.
async fn apply(
    conn: &mut AsyncPgConnection,
    attempt: Uuid,
    state: &DisbursementState,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Settled>> {
    let outcome = match state.status {
        DisbursementStatus::Pending => return Ok(None),
        DisbursementStatus::Completed => Outcome::Completed,
        DisbursementStatus::Failed => Outcome::Failed {
            reason: state.failure_reason.clone(),
        },
    };
    Ok(Some(settle::settle(conn, attempt, &outcome, now).await?))
}

/// Records a send's result and releases the lease. `next`: when to send
/// again (none: the provider has it). Only while still processing: a callback
/// may have settled it meanwhile.
async fn record_send(
    conn: &mut AsyncPgConnection,
    attempt: Uuid,
    sends: i32,
    next: Option<DateTime<Utc>>,
    error: Option<&str>,
    provider_id: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        payout_attempts::table
            .find(attempt)
            .filter(payout_attempts::status.eq(AttemptStatus::Processing)),
    )
    .set((
        payout_attempts::sends.eq(sends),
        payout_attempts::next_send_at.eq(next),
        payout_attempts::locked_until.eq(None::<DateTime<Utc>>),
        payout_attempts::last_error.eq(error),
        payout_attempts::updated_at.eq(now),
    ))
    .execute(conn)
    .await?;
    if let Some(id) = provider_id {
        diesel::update(payout_attempts::table.find(attempt))
            .set(payout_attempts::provider_id.eq(id))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// What one run of `reconcile_disbursements` did.
#[derive(Debug, Default, Serialize)]
pub struct ReconcileReport {
    pub checked: u32,
    pub paid: u32,
    pub failed: u32,
    pub still_pending: u32,
    /// Never received by the provider: queued to be sent again (same attempt).
    pub resent: u32,
    /// The provider could not answer; asked again next run.
    pub unanswered: u32,
}

/// The job `reconcile_disbursements`: every attempt processing with nothing
/// to send whose last change is older than `stale_after` is looked up at the
/// provider and settled from its answer.
pub async fn reconcile(
    conn: &mut AsyncPgConnection,
    payout: &PayoutAdapter,
    now: DateTime<Utc>,
    stale_after: TimeDelta,
) -> anyhow::Result<ReconcileReport> {
    let mut report = ReconcileReport::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut query = payout_attempts::table
            .filter(payout_attempts::status.eq(AttemptStatus::Processing))
            .filter(payout_attempts::next_send_at.is_null())
            .filter(payout_attempts::updated_at.le(now - stale_after))
            .select(payout_attempts::id)
            .order(payout_attempts::id)
            .limit(BATCH)
            .into_boxed();
        if let Some(last) = after {
            query = query.filter(payout_attempts::id.gt(last));
        }
        let stale: Vec<Uuid> = query.load(conn).await?;
        let Some(last) = stale.last().copied() else {
            return Ok(report);
        };
        after = Some(last);
        for attempt in stale {
            report.checked += 1;
            match payout.status(attempt).await {
                Ok(Some(state)) => match apply(conn, attempt, &state, now).await? {
                    Some(Settled::Paid) => report.paid += 1,
                    Some(Settled::Failed) => report.failed += 1,
                    Some(_) => {}
                    None => {
                        // Asked again once it is stale again, not every run.
                        touch(conn, attempt, now).await?;
                        report.still_pending += 1;
                    }
                },
                Ok(None) => {
                    diesel::update(
                        payout_attempts::table
                            .find(attempt)
                            .filter(payout_attempts::status.eq(AttemptStatus::Processing)),
                    )
                    .set((
                        payout_attempts::next_send_at.eq(now),
                        payout_attempts::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                    report.resent += 1;
                }
                Err(_) => report.unanswered += 1,
            }
        }
    }
}

async fn touch(conn: &mut AsyncPgConnection, attempt: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(
        payout_attempts::table
            .find(attempt)
            .filter(payout_attempts::status.eq(AttemptStatus::Processing)),
    )
    .set(payout_attempts::updated_at.eq(now))
    .execute(conn)
    .await
    .map(|_| ())
}
