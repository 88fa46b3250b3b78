//! The incentive schedule (DOMAIN.md §4, §8): a beneficiary earns the
//! post-training incentive once the first training is completed, its
//! certificate issued (reported with the completion) and its review given.
//!
//! [`on_training_finished`] is called in the review's transaction; the job
//! `schedule_incentives` ([`schedule_due`]) finds any finished first training
//! without a schedule (a review written before this existed, or a call that
//! failed), so nothing earned is missed. Either way the schedule is written
//! once per participant ever (primary key of `incentive_schedules`), with the
//! wave scheme's installments (default 4 × Rp600.000): installment 1 due on
//! the Asia/Jakarta date the training was finished, each next one a calendar
//! month later ([`rules::installment_due_on`]), `awaiting_payout_account` until
//! an account is linked. Each installment's obligation is posted to the ledger
//! (`incentive_earned`, programme budget → incentives payable) as it is earned.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{dsl::not, prelude::*};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{
    payout,
    rules::{self, IncentiveKind, IncentiveStatus},
};
use crate::{
    card::ledger::{self, Entry, EntryKind, LedgerError, Posting},
    clock::jakarta_date,
    db::schema::{batches, cards, incentive_schedules, incentives, purchases},
    purchases::rules::PurchaseStatus,
};

/// The wave scheme's incentive terms of a card.
struct Terms {
    card_id: Uuid,
    monthly_idr: i64,
    months: i32,
}

/// One incentive to create.
pub(super) struct NewIncentive<'a> {
    pub account: Uuid,
    pub card_id: Uuid,
    pub kind: IncentiveKind,
    pub installment: i32,
    pub amount_idr: i64,
    pub due_on: NaiveDate,
    pub survey_id: Option<&'a str>,
}

/// Writes an earned incentive and its obligation in the ledger; `scheduled`
/// when a payout account is linked, else `awaiting_payout_account`. Call
/// inside the transaction that earns it. `None` when it exists already.
pub(super) async fn create_incentive(
    conn: &mut AsyncPgConnection,
    new: &NewIncentive<'_>,
    linked: bool,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, LedgerError> {
    let id = Uuid::new_v4();
    let status = if linked {
        IncentiveStatus::Scheduled
    } else {
        IncentiveStatus::AwaitingPayoutAccount
    };
    let inserted = diesel::insert_into(incentives::table)
        .values((
            incentives::id.eq(id),
            incentives::account_id.eq(new.account),
            incentives::card_id.eq(new.card_id),
            incentives::kind.eq(new.kind),
            incentives::installment.eq(new.installment),
            incentives::amount_idr.eq(new.amount_idr),
            incentives::due_on.eq(new.due_on),
            incentives::status.eq(status),
            incentives::survey_id.eq(new.survey_id),
            incentives::created_at.eq(now),
            incentives::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    let reference = id.to_string();
    ledger::post(
        conn,
        Entry {
            kind: EntryKind::IncentiveEarned,
            reference: &reference,
            postings: &Posting::transfer(
                ledger::PROGRAMME_FUNDING,
                ledger::INCENTIVE_PAYABLE,
                new.amount_idr,
            ),
        },
        now,
    )
    .await?;
    Ok(Some(id))
}

/// Schedules the post-training incentive if `purchase_id` is a finished
/// (completed, certificate issued, reviewed) training of a participant who
/// has no schedule yet. Call in the transaction that finishes it (the
/// review's); returns whether it scheduled. Safe to call for any purchase,
/// any number of times.
pub async fn on_training_finished(
    conn: &mut AsyncPgConnection,
    purchase_id: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        let finished: Option<(Uuid, Uuid)> = purchases::table
            .find(purchase_id)
            .filter(purchases::status.eq(PurchaseStatus::Completed))
            .filter(purchases::certificate_url.is_not_null())
            .filter(purchases::reviewed_at.is_not_null())
            .select((purchases::account_id, purchases::card_id))
            .first(conn)
            .await
            .optional()?;
        let Some((account, card_id)) = finished else {
            return Ok(false);
        };
        let finished_on = jakarta_date(now);
        let inserted = diesel::insert_into(incentive_schedules::table)
            .values((
                incentive_schedules::account_id.eq(account),
                incentive_schedules::card_id.eq(card_id),
                incentive_schedules::purchase_id.eq(purchase_id),
                incentive_schedules::finished_on.eq(finished_on),
                incentive_schedules::created_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if inserted == 0 {
            // Once per participant ever: a later training earns nothing more.
            return Ok(false);
        }
        let terms = terms(conn, card_id).await?;
        let linked = payout::is_linked(conn, account).await?;
        if terms.monthly_idr > 0 {
            for k in 1..=terms.months {
                let new = NewIncentive {
                    account,
                    card_id: terms.card_id,
                    kind: IncentiveKind::Training,
                    installment: k,
                    amount_idr: terms.monthly_idr,
                    due_on: rules::installment_due_on(finished_on, k),
                    survey_id: None,
                };
                create_incentive(conn, &new, linked, now).await?;
            }
        }
        Ok(true)
    })
    .await
}

async fn terms(conn: &mut AsyncPgConnection, card_id: Uuid) -> QueryResult<Terms> {
    let (monthly_idr, months) = cards::table
        .inner_join(batches::table)
        .filter(cards::id.eq(card_id))
        .select((batches::incentive_monthly_idr, batches::incentive_months))
        .first(conn)
        .await?;
    Ok(Terms {
        card_id,
        monthly_idr,
        months,
    })
}

/// What one run of `schedule_incentives` did.
#[derive(Debug, Default, Serialize)]
pub struct ScheduleReport {
    pub scheduled: u32,
}

/// Purchases looked at per query.
const BATCH: i64 = 200;

/// The job `schedule_incentives`: every finished training of a participant
/// without a schedule, earliest review first, is scheduled.
pub async fn schedule_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> anyhow::Result<ScheduleReport> {
    let mut report = ScheduleReport::default();
    loop {
        let due: Vec<Uuid> = purchases::table
            .filter(purchases::status.eq(PurchaseStatus::Completed))
            .filter(purchases::certificate_url.is_not_null())
            .filter(purchases::reviewed_at.is_not_null())
            .filter(not(diesel::dsl::exists(incentive_schedules::table.filter(
                incentive_schedules::account_id.eq(purchases::account_id),
            ))))
            .select(purchases::id)
            .order((purchases::reviewed_at, purchases::id))
            .limit(BATCH)
            .load(conn)
            .await?;
        let mut progressed = false;
        for purchase in due {
            // Each in its own transaction, so one participant's failure does
            // not hold back the others.
            if on_training_finished(conn, purchase, now).await? {
                report.scheduled += 1;
                progressed = true;
            }
        }
        // A scheduled participant's other trainings drop out of the query;
        // a run that schedules nothing has nothing left to do.
        if !progressed {
            return Ok(report);
        }
    }
}
