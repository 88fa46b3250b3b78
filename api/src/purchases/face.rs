//! Face checks of a training (DOMAIN.md §7): the participant's own, and an
//! offline venue's device through its platform. Each is matched against the
//! face enrolled at registration.
//!
//! An attempt is reserved before the face service is called, under a lock on
//! the purchase's attempt count, so attempts sent at once never pass the daily
//! limit (5 a day for self-paced, 10 for webinars and offline, per Asia/Jakarta
//! date); the account's face-call quota is taken after that limit. No
//! transaction is open while the service is called. A call the service could
//! not answer is forgotten (503, not an attempt and not a failed match). A
//! pass opens redemption for 15 minutes; a third failed match in one day sets
//! the account's `fraud_suspected` flag with an audit event.

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    model::{self, Purchase},
    rules::{self, FaceCheckSource, PurchaseStatus},
    views::FaceCheckResult,
};
use crate::{
    audit::{self, Action, Event, Origin},
    clock::{jakarta_date, wib},
    db::{
        schema::{accounts, face_enrollments},
        DbPool,
    },
    error::{ApiError, ErrorCode},
    integrations::face::FaceAdapter,
    ratelimit::{self, Limit},
};

/// What a face check needs besides the purchase.
pub struct FaceDeps<'a> {
    pub pool: &'a DbPool,
    pub face: &'a FaceAdapter,
    pub origin: &'a Origin,
}

/// Seconds from `now` to the next Asia/Jakarta midnight, when the daily limits
/// start again.
fn until_next_jakarta_day(now: DateTime<Utc>) -> u64 {
    let tomorrow = jakarta_date(now).succ_opt().unwrap_or(jakarta_date(now));
    let midnight = wib()
        .from_local_datetime(&tomorrow.and_time(NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    (midnight - now).num_seconds().max(1) as u64
}

fn closed(status: PurchaseStatus) -> Option<ApiError> {
    match status {
        PurchaseStatus::Purchased | PurchaseStatus::Redeemed => None,
        PurchaseStatus::Cancelled => Some(
            ApiError::new(ErrorCode::PurchaseCancelled)
                .detail("The purchase was cancelled; there is nothing to check a face for."),
        ),
        PurchaseStatus::Completed | PurchaseStatus::Expired => Some(
            ApiError::new(ErrorCode::PurchaseClosed)
                .detail("The training is completed or expired; no more face checks are taken."),
        ),
    }
}

/// Checks `image` against the purchase holder's enrolled face.
async fn check(
    deps: &FaceDeps<'_>,
    now: DateTime<Utc>,
    purchase: &Purchase,
    source: FaceCheckSource,
    image: &[u8],
) -> Result<FaceCheckResult, ApiError> {
    let today = jakarta_date(now);
    let mut conn = deps.pool.get().await?;
    let (attempt, face_id) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let attempts_bucket = format!("face_attempts:{}", purchase.id);
            ratelimit::lock_all(conn, &[&attempts_bucket]).await?;
            let current = model::find(conn, purchase.id)
                .await?
                .ok_or_else(super::cancellation::not_found)?;
            if let Some(e) = closed(current.status) {
                return Err(e);
            }
            let limit = rules::face_attempts_per_day(current.delivery);
            if model::face_attempts_on(conn, current.id, today).await? >= limit {
                return Err(ApiError::new(ErrorCode::FaceAttemptsExceeded)
                    .detail(format!(
                        "At most {limit} face checks a day for this training; try again tomorrow (Asia/Jakarta)."
                    ))
                    .retry_after(until_next_jakarta_day(now)));
            }
            // The account's quota of face-service calls, after the per-purchase limit.
            let quota = Limit {
                max: rules::FACE_CALLS_PER_ACCOUNT_PER_DAY,
                window: chrono::TimeDelta::hours(24),
            };
            ratelimit::hit(conn, &format!("face_calls:account:{}", current.account_id), quota, now)
                .await??;
            let face_id: String = face_enrollments::table
                .find(current.account_id)
                .select(face_enrollments::face_id)
                .first(conn)
                .await
                .optional()?
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a beneficiary without an enrolled face")))?;
            let attempt =
                model::reserve_face_check(conn, current.id, current.account_id, today, source, now).await?;
            Ok((attempt, face_id))
        })
        .await?;
    // The outside call, with no transaction open.
    let verdict = match deps.face.match_face(&face_id, image).await {
        Ok(verdict) => verdict,
        Err(e) => {
            model::release_face_check(&mut conn, attempt).await?;
            return Err(crate::integrations::face::unavailable(e));
        }
    };
    conn.transaction::<_, ApiError, _>(async |conn| {
        model::decide_face_check(conn, attempt, verdict.matched, verdict.score, now).await?;
        if verdict.matched {
            let until = now + rules::FACE_PASS_VALIDITY;
            model::open_face_pass(conn, purchase.id, until).await?;
            return Ok(FaceCheckResult {
                passed: true,
                valid_until: Some(until),
            });
        }
        let failed = model::failed_matches_on(conn, purchase.account_id, today).await?;
        if failed >= rules::FAILED_MATCHES_FOR_FRAUD {
            let flagged = diesel::update(
                accounts::table
                    .find(purchase.account_id)
                    .filter(accounts::fraud_suspected.eq(false)),
            )
            .set((
                accounts::fraud_suspected.eq(true),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
            if flagged == 1 {
                let event = Event {
                    actor_id: None,
                    subject_id: Some(purchase.account_id),
                    action: Action::FraudFlagSet,
                    reason: Some("face_checks_failed"),
                };
                audit::record(conn, now, deps.origin, event).await?;
            }
        }
        Ok(FaceCheckResult {
            passed: false,
            valid_until: None,
        })
    })
    .await
}

/// The purchase of `account_id` (participant route), or of `partner_id` (the
/// venue's route: offline training only), or 404.
async fn purchase_for(
    conn: &mut AsyncPgConnection,
    purchase_id: Uuid,
    caller: FaceCaller,
) -> Result<Purchase, ApiError> {
    let p = model::find(conn, purchase_id)
        .await?
        .ok_or_else(super::cancellation::not_found)?;
    match caller {
        FaceCaller::Participant(account) if p.account_id == account => Ok(p),
        FaceCaller::Partner(partner) if p.partner_id == partner => {
            if p.delivery == rules::Delivery::Offline {
                Ok(p)
            } else {
                Err(ApiError::new(ErrorCode::Forbidden).detail(
                    "A platform sends face checks only for offline training; online checks come from the participant.",
                ))
            }
        }
        _ => Err(super::cancellation::not_found()),
    }
}

/// Who sends a face check.
#[derive(Debug, Clone, Copy)]
pub enum FaceCaller {
    Participant(Uuid),
    Partner(Uuid),
}

impl FaceCaller {
    /// The source a check of this caller is recorded with.
    fn source(self) -> FaceCheckSource {
        match self {
            FaceCaller::Participant(_) => FaceCheckSource::Participant,
            FaceCaller::Partner(_) => FaceCheckSource::Partner,
        }
    }
}

/// A face check `caller` sends for `purchase_id`: the purchase must be theirs
/// (404 otherwise; a platform's only for offline training), then [`check`].
pub async fn check_for(
    deps: &FaceDeps<'_>,
    now: DateTime<Utc>,
    purchase_id: Uuid,
    caller: FaceCaller,
    image: &[u8],
) -> Result<FaceCheckResult, ApiError> {
    let purchase = {
        let mut conn = deps.pool.get().await?;
        purchase_for(&mut conn, purchase_id, caller).await?
    };
    check(deps, now, &purchase, caller.source(), image).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daily_limit_resets_at_jakarta_midnight() {
        // 23:59:00 WIB: one minute left.
        let now = Utc.with_ymd_and_hms(2026, 7, 19, 16, 59, 0).unwrap();
        assert_eq!(until_next_jakarta_day(now), 60);
        let now = Utc.with_ymd_and_hms(2026, 7, 19, 17, 0, 0).unwrap();
        assert_eq!(until_next_jakarta_day(now), 24 * 3600);
    }
}
