//! Redeeming a purchase (DOMAIN.md §7) and the job that expires the ones whose
//! window passed unredeemed.
//!
//! A redeem code belongs to one purchase of one platform and is used once: the
//! move purchased → redeemed is one conditional update, so a cancel racing a
//! redemption, or two redemptions of one code, have exactly one winner. Wrong
//! codes count per platform (20 a minute, then 429 `rate_limited`), without a
//! lock that would queue a platform's redemptions behind each other.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::{
    prelude::*,
    sql_types::{Text, Timestamptz},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{
    model::{self, Purchase},
    rules::{self, Delivery, PurchaseStatus},
    views::RedemptionResult,
};
use crate::{
    error::{ApiError, ErrorCode},
    ratelimit::{self, Limit},
};

/// Wrong redeem codes a platform may send in any minute.
pub const WRONG_CODES_PER_MINUTE: Limit = Limit {
    max: 20,
    window: TimeDelta::minutes(1),
};

fn invalid() -> ApiError {
    ApiError::new(ErrorCode::RedeemCodeInvalid)
        .detail("No purchase at this platform has this redeem code (and voucher code).")
}

/// Why a purchase in `status` cannot be redeemed, if it cannot.
fn refusal(p: &Purchase, now: DateTime<Utc>) -> Option<ApiError> {
    match p.status {
        PurchaseStatus::Cancelled => Some(
            ApiError::new(ErrorCode::PurchaseCancelled)
                .detail("The purchase was cancelled; its redeem code no longer works."),
        ),
        PurchaseStatus::Redeemed | PurchaseStatus::Completed => Some(
            ApiError::new(ErrorCode::RedeemCodeUsed).detail("This redeem code was already used."),
        ),
        PurchaseStatus::Expired => Some(window_closed()),
        PurchaseStatus::Purchased if !rules::in_redemption_window(p.delivery, p.starts_at, now) => {
            Some(window_closed())
        }
        PurchaseStatus::Purchased => None,
    }
}

fn window_closed() -> ApiError {
    ApiError::new(ErrorCode::RedemptionWindowClosed).detail(
        "Webinars are redeemed from 1 hour before to 1 hour after the start, offline training from 1 hour before to 2 hours after.",
    )
}

/// `POST /v1/partner/redemptions`.
pub async fn redeem(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    partner_id: Uuid,
    redeem_code: &str,
    voucher_code: Option<&str>,
) -> Result<RedemptionResult, ApiError> {
    let bucket = format!("redeem_wrong:partner:{partner_id}");
    ratelimit::check(conn, &bucket, WRONG_CODES_PER_MINUTE, now)
        .await?
        .map_err(|e| {
            e.into_error(ErrorCode::RateLimited)
                .detail("Too many wrong redeem codes from this platform; wait for Retry-After.")
        })?;
    // Participants read codes out: accept lower case and surrounding spaces.
    let code = redeem_code.trim().to_ascii_uppercase();
    let found = if rules::redeem_code_well_formed(&code) {
        model::find_by_redeem_code(conn, &code).await?
    } else {
        None
    };
    let Some(p) = found.filter(|p| {
        p.partner_id == partner_id
            && p.voucher_code
                .as_deref()
                .is_none_or(|v| Some(v) == voucher_code)
    }) else {
        ratelimit::record(conn, &bucket, now).await?;
        return Err(invalid());
    };
    if let Some(e) = refusal(&p, now) {
        return Err(e);
    }
    if rules::redemption_needs_face_check(p.delivery)
        && p.face_passed_until.is_none_or(|until| now > until)
    {
        return Err(ApiError::new(ErrorCode::FaceVerificationRequired).detail(
            "Online training is redeemed within 15 minutes of a passed face check by the participant.",
        ));
    }
    match model::redeem(conn, p.id, now).await? {
        Some(redeemed) => Ok(RedemptionResult {
            purchase_id: redeemed.id,
            status: redeemed.status,
        }),
        // Another request moved it first (a cancel, or the same code twice).
        None => {
            let current = model::find(conn, p.id).await?.ok_or_else(invalid)?;
            Err(refusal(&current, now).unwrap_or_else(|| {
                ApiError::new(ErrorCode::RedeemCodeUsed)
                    .detail("This redeem code was already used.")
            }))
        }
    }
}

/// What one run of `expire_purchases` did.
#[derive(Debug, Default, Serialize)]
pub struct ExpiryReport {
    pub expired: usize,
}

/// Purchases per statement.
const BATCH: i64 = 500;

fn closes_after(delivery: Delivery) -> TimeDelta {
    let start = DateTime::<Utc>::UNIX_EPOCH;
    rules::redemption_window(delivery, start)
        .map(|(_, closes)| closes - start)
        .unwrap_or(TimeDelta::MAX)
}

/// Job `expire_purchases`: every webinar or offline purchase not redeemed by
/// the end of its redemption window becomes `expired` (the money stays with
/// the platform). Rows are claimed with `SKIP LOCKED` and moved by the
/// conditional update, so instances running it at once, or a redemption at
/// the last second, never conflict.
pub async fn expire_purchases(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<ExpiryReport> {
    let mut report = ExpiryReport::default();
    loop {
        let moved = diesel::sql_query(
            "UPDATE purchases SET status = $1, expired_at = $2, updated_at = $2 \
             WHERE id IN ( \
                 SELECT id FROM purchases \
                 WHERE status = $3 AND ( \
                     (delivery = $4 AND starts_at < $2 - $5::interval) OR \
                     (delivery = $6 AND starts_at < $2 - $7::interval)) \
                 ORDER BY starts_at LIMIT $8 FOR UPDATE SKIP LOCKED) \
             AND status = $3",
        )
        .bind::<Text, _>(PurchaseStatus::Expired)
        .bind::<Timestamptz, _>(now)
        .bind::<Text, _>(PurchaseStatus::Purchased)
        .bind::<Text, _>(Delivery::Webinar)
        .bind::<Text, _>(interval(closes_after(Delivery::Webinar)))
        .bind::<Text, _>(Delivery::Offline)
        .bind::<Text, _>(interval(closes_after(Delivery::Offline)))
        .bind::<diesel::sql_types::BigInt, _>(BATCH)
        .execute(conn)
        .await?;
        report.expired += moved;
        if (moved as i64) < BATCH {
            return Ok(report);
        }
    }
}

fn interval(d: TimeDelta) -> String {
    format!("{} seconds", d.num_seconds())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_close_one_and_two_hours_after_the_start() {
        assert_eq!(closes_after(Delivery::Webinar), TimeDelta::hours(1));
        assert_eq!(closes_after(Delivery::Offline), TimeDelta::hours(2));
        assert_eq!(interval(TimeDelta::hours(2)), "7200 seconds");
    }
}
