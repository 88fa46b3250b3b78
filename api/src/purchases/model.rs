//! Purchase rows, platform bindings and face checks, and their queries. Every
//! change of a purchase's status is one conditional update from the state the
//! [`Transition`] leaves; `None` means another request moved it first.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::rules::{CancellationReason, Delivery, FaceCheckSource, PurchaseStatus, Transition};
use crate::db::{
    prepared,
    schema::{face_checks, platform_bindings, purchases},
    text_enum, Reader,
};

/// A purchase with its copy of the course's terms.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = purchases)]
pub struct Purchase {
    pub id: Uuid,
    pub card_id: Uuid,
    pub account_id: Uuid,
    pub partner_id: Uuid,
    pub course_id: Uuid,
    pub platform_user_id: String,
    pub course_title: String,
    pub delivery: Delivery,
    pub price_idr: i64,
    pub starts_at: DateTime<Utc>,
    pub duration_hours: i32,
    pub course_terms: serde_json::Value,
    pub status: PurchaseStatus,
    pub redeem_code: String,
    pub voucher_code: Option<String>,
    pub purchased_at: DateTime<Utc>,
    pub cancel_deadline: Option<NaiveDate>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<CancellationReason>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub certificate_url: Option<String>,
    pub post_test_score: Option<i16>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub face_passed_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A purchase to insert (the terms copied from the course as sold).
#[derive(Debug, Insertable)]
#[diesel(table_name = purchases)]
pub struct NewPurchase<'a> {
    pub id: Uuid,
    pub card_id: Uuid,
    pub account_id: Uuid,
    pub partner_id: Uuid,
    pub course_id: Uuid,
    pub platform_user_id: &'a str,
    pub course_title: &'a str,
    pub delivery: Delivery,
    pub price_idr: i64,
    pub starts_at: DateTime<Utc>,
    pub duration_hours: i32,
    pub course_terms: &'a serde_json::Value,
    pub status: PurchaseStatus,
    pub redeem_code: &'a str,
    pub voucher_code: Option<&'a str>,
    pub purchased_at: DateTime<Utc>,
    pub cancel_deadline: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

/// Inserts a purchase unless its redeem code is taken (`None` then: draw a
/// new code). Any other unique violation (a second open training of the card)
/// is returned as the error it is.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewPurchase<'_>,
) -> QueryResult<Option<Purchase>> {
    let insert = diesel::insert_into(purchases::table)
        .values(new)
        .on_conflict(purchases::redeem_code)
        .do_nothing()
        .returning(Purchase::as_returning());
    prepared(insert).get_result(conn).await.optional()
}

/// One purchase by id.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Purchase>> {
    purchases::table
        .find(id)
        .select(Purchase::as_select())
        .first(conn)
        .await
        .optional()
}

/// One purchase by its redeem code.
pub async fn find_by_redeem_code(
    conn: &mut AsyncPgConnection,
    code: &str,
) -> QueryResult<Option<Purchase>> {
    purchases::table
        .filter(purchases::redeem_code.eq(code))
        .select(Purchase::as_select())
        .first(conn)
        .await
        .optional()
}

/// Where a card's latest purchase that was not cancelled stands: its status,
/// when it was reviewed and when it expired.
pub type Standing = (PurchaseStatus, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// What the next purchase of a card depends on: its latest purchase that was
/// not cancelled (status, review and expiry stamps).
pub async fn latest_standing(
    conn: &mut AsyncPgConnection,
    card_id: Uuid,
) -> QueryResult<Option<Standing>> {
    purchases::table
        .filter(purchases::card_id.eq(card_id))
        .filter(purchases::status.ne(PurchaseStatus::Cancelled))
        .order(purchases::purchased_at.desc())
        .select((
            purchases::status,
            purchases::reviewed_at,
            purchases::expired_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// [`latest_standing`] by the card's holder: a person holds one card ever, so
/// the account's purchases are its card's (for reads that do not know the
/// card yet, `GET /v1/me`).
pub async fn latest_standing_of_account(
    conn: &mut impl Reader,
    account_id: Uuid,
) -> QueryResult<Option<Standing>> {
    purchases::table
        .filter(purchases::account_id.eq(account_id))
        .filter(purchases::status.ne(PurchaseStatus::Cancelled))
        .order(purchases::purchased_at.desc())
        .select((
            purchases::status,
            purchases::reviewed_at,
            purchases::expired_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// Whether the card once cancelled a purchase of this course (it can never be
/// bought again by that participant).
pub async fn cancelled_before(
    conn: &mut AsyncPgConnection,
    card_id: Uuid,
    course_id: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        purchases::table
            .filter(purchases::card_id.eq(card_id))
            .filter(purchases::course_id.eq(course_id))
            .filter(purchases::status.eq(PurchaseStatus::Cancelled)),
    ))
    .get_result(conn)
    .await
}

fn moving(
    id: Uuid,
    t: Transition,
) -> diesel::dsl::Filter<
    diesel::dsl::Find<purchases::table, Uuid>,
    diesel::dsl::Eq<purchases::status, PurchaseStatus>,
> {
    purchases::table
        .find(id)
        .filter(purchases::status.eq(t.from()))
}

/// purchased → redeemed.
pub async fn redeem(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<Purchase>> {
    let t = Transition::Redeem;
    diesel::update(moving(id, t))
        .set((
            purchases::status.eq(t.to()),
            purchases::redeemed_at.eq(now),
            purchases::updated_at.eq(now),
        ))
        .returning(Purchase::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// purchased → cancelled.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: CancellationReason,
    now: DateTime<Utc>,
) -> QueryResult<Option<Purchase>> {
    let t = Transition::Cancel;
    diesel::update(moving(id, t))
        .set((
            purchases::status.eq(t.to()),
            purchases::cancelled_at.eq(now),
            purchases::cancellation_reason.eq(reason),
            purchases::updated_at.eq(now),
        ))
        .returning(Purchase::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// purchased → expired.
pub async fn expire(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<Purchase>> {
    let t = Transition::Expire;
    diesel::update(moving(id, t))
        .set((
            purchases::status.eq(t.to()),
            purchases::expired_at.eq(now),
            purchases::updated_at.eq(now),
        ))
        .returning(Purchase::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// What the institution reports at completion.
#[derive(Debug, Clone)]
pub struct Completion<'a> {
    pub completed_at: DateTime<Utc>,
    pub certificate_url: &'a str,
    pub post_test_score: Option<i16>,
}

/// redeemed → completed.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    completion: &Completion<'_>,
    now: DateTime<Utc>,
) -> QueryResult<Option<Purchase>> {
    let t = Transition::Complete;
    diesel::update(moving(id, t))
        .set((
            purchases::status.eq(t.to()),
            purchases::completed_at.eq(completion.completed_at),
            purchases::certificate_url.eq(completion.certificate_url),
            purchases::post_test_score.eq(completion.post_test_score),
            purchases::updated_at.eq(now),
        ))
        .returning(Purchase::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Marks a completed purchase reviewed, once: `None` if it was not completed
/// or already reviewed. This closes the training for the next purchase.
pub async fn mark_reviewed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<Purchase>> {
    diesel::update(
        purchases::table
            .find(id)
            .filter(purchases::status.eq(PurchaseStatus::Completed))
            .filter(purchases::reviewed_at.is_null()),
    )
    .set((
        purchases::reviewed_at.eq(now),
        purchases::updated_at.eq(now),
    ))
    .returning(Purchase::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Opens redemption until `until` after a passed face check (only while the
/// purchase is still purchased or redeemed).
pub async fn open_face_pass(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    until: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        purchases::table.find(id).filter(
            purchases::status.eq_any([PurchaseStatus::Purchased, PurchaseStatus::Redeemed]),
        ),
    )
    .set(purchases::face_passed_until.eq(until))
    .execute(conn)
    .await
}

// ---------------------------------------------------------------- bindings

/// Why a platform user id and a card cannot be bound at a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingConflict {
    /// The platform user id is bound to another card.
    UserBoundToOtherCard,
    /// The card is bound to another platform user id.
    CardBoundToOtherUser,
}

/// Binds (once) a platform user id to a card at a partner, or says which side
/// is already bound elsewhere. The two unique keys decide: a request racing
/// another waits on the key until the other commits, then sees its row.
pub async fn bind(
    conn: &mut AsyncPgConnection,
    partner_id: Uuid,
    platform_user_id: &str,
    card_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Result<(), BindingConflict>> {
    let inserted = diesel::insert_into(platform_bindings::table)
        .values((
            platform_bindings::partner_id.eq(partner_id),
            platform_bindings::platform_user_id.eq(platform_user_id),
            platform_bindings::card_id.eq(card_id),
            platform_bindings::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(Ok(()));
    }
    let of_user: Option<Uuid> = platform_bindings::table
        .find((partner_id, platform_user_id))
        .select(platform_bindings::card_id)
        .first(conn)
        .await
        .optional()?;
    match of_user {
        Some(card) if card == card_id => Ok(Ok(())),
        Some(_) => Ok(Err(BindingConflict::UserBoundToOtherCard)),
        // The user id is free, so the conflict was the card's.
        None => Ok(Err(BindingConflict::CardBoundToOtherUser)),
    }
}

// ---------------------------------------------------------------- face checks

text_enum! {
    /// What a face check found.
    pub enum FaceOutcome {
        /// Reserved; the face service has not answered yet.
        Pending => "pending",
        Passed => "passed",
        Failed => "failed",
    }
}

/// Attempts on a purchase on one Asia/Jakarta date (pending ones included).
pub async fn face_attempts_on(
    conn: &mut AsyncPgConnection,
    purchase_id: Uuid,
    date: NaiveDate,
) -> QueryResult<i64> {
    face_checks::table
        .filter(face_checks::purchase_id.eq(purchase_id))
        .filter(face_checks::check_date.eq(date))
        .count()
        .get_result(conn)
        .await
}

/// Failed matches of an account on one Asia/Jakarta date.
pub async fn failed_matches_on(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    date: NaiveDate,
) -> QueryResult<i64> {
    face_checks::table
        .filter(face_checks::account_id.eq(account_id))
        .filter(face_checks::check_date.eq(date))
        .filter(face_checks::outcome.eq(FaceOutcome::Failed))
        .count()
        .get_result(conn)
        .await
}

/// Reserves a face-check attempt.
pub async fn reserve_face_check(
    conn: &mut AsyncPgConnection,
    purchase_id: Uuid,
    account_id: Uuid,
    date: NaiveDate,
    source: FaceCheckSource,
    now: DateTime<Utc>,
) -> QueryResult<Uuid> {
    let id = Uuid::new_v4();
    diesel::insert_into(face_checks::table)
        .values((
            face_checks::id.eq(id),
            face_checks::purchase_id.eq(purchase_id),
            face_checks::account_id.eq(account_id),
            face_checks::check_date.eq(date),
            face_checks::source.eq(source),
            face_checks::outcome.eq(FaceOutcome::Pending),
            face_checks::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Records the face service's verdict on a reserved attempt.
pub async fn decide_face_check(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    passed: bool,
    score: f64,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let outcome = if passed {
        FaceOutcome::Passed
    } else {
        FaceOutcome::Failed
    };
    diesel::update(
        face_checks::table
            .find(id)
            .filter(face_checks::outcome.eq(FaceOutcome::Pending)),
    )
    .set((
        face_checks::outcome.eq(outcome),
        face_checks::score.eq(score),
        face_checks::decided_at.eq(now),
    ))
    .execute(conn)
    .await
}

/// Forgets a reserved attempt the face service could not answer: it counts
/// neither as an attempt nor as a failed match.
pub async fn release_face_check(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(
        face_checks::table
            .find(id)
            .filter(face_checks::outcome.eq(FaceOutcome::Pending)),
    )
    .execute(conn)
    .await
}
