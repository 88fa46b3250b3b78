//! Admin actions on accounts.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::{
    accounts::{
        me::account_view,
        model::{self, Account, EndReason},
        views::Me,
    },
    audit::{self, Action, Event},
    auth::Principal,
    clock::Clock,
    crypto::PiiCipher,
    db::schema::accounts,
    error::{ApiError, ErrorCode},
    http::Caller,
    incentives::views::AdminIncentives,
    pagination::{self, Cursor, Page, PageRequest},
};

/// A reason for an admin action (kept in the audit trail).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[schema(
        example = "Melanggar syarat dan ketentuan: akun dijual",
        min_length = 3,
        max_length = 500
    )]
    #[validate(length(min = 3, max = 500, message = "must be 3 to 500 characters"))]
    pub reason: String,
}

/// `PUT /v1/admin/accounts/{id}/fraud-flag`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FraudFlagBody {
    pub fraud_suspected: bool,
    #[schema(
        example = "Wajah tidak cocok pada 3 verifikasi berturut-turut",
        min_length = 3,
        max_length = 500
    )]
    #[validate(length(min = 3, max = 500, message = "must be 3 to 500 characters"))]
    pub reason: String,
}

/// `GET /v1/admin/accounts` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountFilter {
    /// Exact email address (case-insensitive); any text is accepted and finds
    /// nothing when it is no account's address.
    #[param(example = "budi@example.com")]
    #[serde(default, deserialize_with = "crate::http::query::text")]
    pub email: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound).detail("No such account.")
}

/// Lists accounts newest first, optionally by email.
pub async fn list(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    filter: &AccountFilter,
    page: PageRequest,
    today: NaiveDate,
) -> Result<Page<Me>, ApiError> {
    let mut query = accounts::table
        .select(Account::as_select())
        .order((accounts::created_at.desc(), accounts::id.desc()))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(email) = &filter.email {
        query = query.filter(accounts::email.eq(email.trim().to_lowercase()));
    }
    if let Some(after) = page.after {
        query = query.filter(pagination::before(
            accounts::created_at,
            accounts::id,
            after,
        ));
    }
    let rows: Vec<Account> = query.load(conn).await?;
    let page = page.page(
        rows,
        |a| Cursor {
            created_at: a.created_at,
            id: a.id,
        },
        |a| a,
    );
    let mut data = Vec::with_capacity(page.data.len());
    for account in &page.data {
        data.push(account_view(conn, pii, account, today).await?);
    }
    Ok(Page {
        data,
        next_cursor: page.next_cursor,
    })
}

/// What the office sees of one account: the participant's own view, plus
/// its incentives with every payout attempt and the payout account (masked),
/// to answer "where is my money?" from one page.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAccount {
    #[serde(flatten)]
    pub account: Me,
    pub incentives: AdminIncentives,
}

/// One account.
pub async fn get(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    id: Uuid,
    today: NaiveDate,
) -> Result<AdminAccount, ApiError> {
    let account = model::find(conn, id).await?.ok_or_else(not_found)?;
    let account = account_view(conn, pii, &account, today).await?;
    let incentives = crate::incentives::listing::account_incentives(conn, pii, id).await?;
    Ok(AdminAccount {
        account,
        incentives,
    })
}

/// An admin change to an account.
#[derive(Debug)]
pub enum Change {
    Block { reason: String },
    Unblock { reason: String },
    FraudFlag { suspected: bool, reason: String },
}

/// Applies a change under the account's row lock, with its audit event; a
/// change that alters nothing (blocking a blocked account) records nothing.
/// Blocking ends every session of the account at once.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    clock: &Clock,
    pii: &PiiCipher,
    caller: &Caller,
    admin: &Principal,
    id: Uuid,
    change: Change,
) -> Result<Me, ApiError> {
    if matches!(change, Change::Block { .. }) && id == admin.account_id {
        return Err(
            ApiError::new(ErrorCode::Forbidden).detail("An admin cannot block their own account.")
        );
    }
    let now = clock.now();
    let real_now = clock.security_now();
    let account = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let account: Option<Account> = accounts::table
                .find(id)
                .select(Account::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?;
            let account = account.ok_or_else(not_found)?;
            let target = accounts::table.find(id);
            let (action, reason) = match &change {
                Change::Block { reason } => {
                    if account.blocked() {
                        return Ok(account);
                    }
                    diesel::update(target)
                        .set((
                            accounts::blocked_at.eq(now),
                            accounts::blocked_reason.eq(reason),
                            accounts::updated_at.eq(now),
                        ))
                        .execute(conn)
                        .await?;
                    model::end_sessions(conn, id, None, EndReason::Blocked, real_now).await?;
                    (Action::AccountBlocked, reason)
                }
                Change::Unblock { reason } => {
                    if !account.blocked() {
                        return Ok(account);
                    }
                    diesel::update(target)
                        .set((
                            accounts::blocked_at.eq(None::<DateTime<Utc>>),
                            accounts::blocked_reason.eq(None::<String>),
                            accounts::updated_at.eq(now),
                        ))
                        .execute(conn)
                        .await?;
                    (Action::AccountUnblocked, reason)
                }
                Change::FraudFlag { suspected, reason } => {
                    if account.fraud_suspected == *suspected {
                        return Ok(account);
                    }
                    diesel::update(target)
                        .set((
                            accounts::fraud_suspected.eq(suspected),
                            accounts::updated_at.eq(now),
                        ))
                        .execute(conn)
                        .await?;
                    (
                        if *suspected {
                            Action::FraudFlagSet
                        } else {
                            Action::FraudFlagCleared
                        },
                        reason,
                    )
                }
            };
            let event = Event {
                actor_id: Some(admin.account_id),
                subject_id: Some(id),
                action,
                reason: Some(reason.as_str()),
            };
            audit::record(conn, now, &caller.origin, event).await?;
            model::find(conn, id).await?.ok_or_else(not_found)
        })
        .await?;
    account_view(conn, pii, &account, clock.today_jakarta()).await
}
