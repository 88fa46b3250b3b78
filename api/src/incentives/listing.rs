//! Reading incentives: the participant's list (`GET /v1/me/incentives`) and
//! the programme office's view of an account's incentives with every attempt
//! to pay them ("where is my money?").

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    payout,
    rules::{AttemptStatus, IncentiveKind, IncentiveStatus},
    views::{AdminIncentiveView, AdminIncentives, AttemptView, IncentiveView},
};
use crate::{
    crypto::PiiCipher,
    db::schema::{accounts, incentives, payout_accounts, payout_attempts},
    error::{ApiError, ErrorCode},
    integrations::payout::PayoutProvider,
    pagination::{Cursor, Page, PageRequest},
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = incentives)]
struct Row {
    id: Uuid,
    kind: IncentiveKind,
    installment: i32,
    amount_idr: i64,
    due_on: NaiveDate,
    status: IncentiveStatus,
    paid_at: Option<DateTime<Utc>>,
    failure_reason: Option<String>,
}

impl Row {
    fn view(self) -> IncentiveView {
        IncentiveView {
            id: self.id,
            kind: self.kind,
            installment: self.installment,
            amount_idr: self.amount_idr,
            due_on: self.due_on,
            status: self.status,
            paid_at: self.paid_at,
            failure_reason: self.failure_reason,
        }
    }
}

/// The list is ordered by due date, then id; the cursor carries the due date
/// as its instant (midnight UTC of that date) and the id.
fn cursor_of(row: &Row) -> Cursor {
    Cursor {
        created_at: row.due_on.and_time(NaiveTime::MIN).and_utc(),
        id: row.id,
    }
}

/// `GET /v1/me/incentives`: earliest due first.
pub async fn my_incentives(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    page: PageRequest,
) -> Result<Page<IncentiveView>, ApiError> {
    let mut query = incentives::table
        .filter(incentives::account_id.eq(account))
        .select(Row::as_select())
        .order((incentives::due_on, incentives::id))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(c) = page.after {
        let due = c.created_at.date_naive();
        query = query.filter(
            incentives::due_on
                .gt(due)
                .or(incentives::due_on.eq(due).and(incentives::id.gt(c.id))),
        );
    }
    let rows = query.load(conn).await?;
    Ok(page.page(rows, cursor_of, Row::view))
}

#[derive(Queryable)]
struct AttemptRow {
    id: Uuid,
    incentive_id: Uuid,
    status: AttemptStatus,
    amount_idr: i64,
    provider: PayoutProvider,
    masked_account: String,
    provider_id: Option<String>,
    failure_reason: Option<String>,
    sends: i32,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    settled_at: Option<DateTime<Utc>>,
}

/// `GET /v1/admin/accounts/{id}/incentives`.
pub async fn account_incentives(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    account: Uuid,
) -> Result<AdminIncentives, ApiError> {
    let exists: i64 = accounts::table
        .find(account)
        .count()
        .get_result(conn)
        .await?;
    if exists == 0 {
        return Err(ApiError::new(ErrorCode::NotFound).detail("No such account."));
    }
    let payout_account = payout::linked(conn, pii, account)
        .await
        .map_err(ApiError::internal)?
        .map(|a| a.view());
    let rows: Vec<Row> = incentives::table
        .filter(incentives::account_id.eq(account))
        .select(Row::as_select())
        .order((incentives::due_on, incentives::id))
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let attempts: Vec<AttemptRow> = payout_attempts::table
        .inner_join(payout_accounts::table)
        .filter(payout_attempts::incentive_id.eq_any(&ids))
        .select((
            payout_attempts::id,
            payout_attempts::incentive_id,
            payout_attempts::status,
            payout_attempts::amount_idr,
            payout_accounts::provider,
            payout_accounts::masked_account,
            payout_attempts::provider_id,
            payout_attempts::failure_reason,
            payout_attempts::sends,
            payout_attempts::last_error,
            payout_attempts::created_at,
            payout_attempts::settled_at,
        ))
        .order((payout_attempts::created_at, payout_attempts::id))
        .load(conn)
        .await?;
    let incentives = rows
        .into_iter()
        .map(|row| {
            let mine = attempts
                .iter()
                .filter(|a| a.incentive_id == row.id)
                .map(|a| AttemptView {
                    id: a.id,
                    status: a.status,
                    amount_idr: a.amount_idr,
                    provider: a.provider,
                    masked_account: a.masked_account.clone(),
                    provider_id: a.provider_id.clone(),
                    failure_reason: a.failure_reason.clone(),
                    sends: a.sends,
                    last_error: a.last_error.clone(),
                    created_at: a.created_at,
                    settled_at: a.settled_at,
                })
                .collect();
            AdminIncentiveView {
                incentive: row.view(),
                attempts: mine,
            }
        })
        .collect();
    Ok(AdminIncentives {
        account_id: account,
        payout_account,
        incentives,
    })
}
