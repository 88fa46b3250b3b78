//! Reading purchases: the participant's own, and a platform's own (never
//! another platform's, never a balance or an eligibility reason).

use chrono::{DateTime, TimeDelta, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, Int2, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    cancellation::not_found,
    model::Purchase,
    views::{MyPurchase, PartnerPurchase, ReviewView},
};
use crate::{
    db::schema::{cards, purchases},
    error::ApiError,
    pagination::{self, Cursor, Page, PageRequest},
};

#[derive(QueryableByName)]
struct ReviewRow {
    #[diesel(sql_type = SqlUuid)]
    purchase_id: Uuid,
    #[diesel(sql_type = Int2)]
    rating: i16,
    #[diesel(sql_type = Text)]
    comment: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

/// The reviews of these purchases (one per purchase, in the catalogue's
/// `course_reviews`).
async fn reviews_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, ReviewView)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ReviewRow> = diesel::sql_query(
        "SELECT purchase_id, rating, comment, created_at FROM course_reviews WHERE purchase_id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.purchase_id,
                ReviewView {
                    rating: r.rating,
                    comment: r.comment,
                    created_at: r.created_at,
                },
            )
        })
        .collect())
}

async fn with_reviews(
    conn: &mut AsyncPgConnection,
    rows: Vec<Purchase>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<MyPurchase>> {
    let reviewed: Vec<Uuid> = rows
        .iter()
        .filter(|p| p.reviewed_at.is_some())
        .map(|p| p.id)
        .collect();
    let mut reviews = reviews_of(conn, &reviewed).await?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let review = reviews
                .iter()
                .position(|(id, _)| *id == p.id)
                .map(|i| reviews.swap_remove(i).1);
            MyPurchase::of(p, review, now)
        })
        .collect())
}

/// `GET /v1/me/purchases/{id}`.
pub async fn my_purchase(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    purchase_id: Uuid,
    now: DateTime<Utc>,
) -> Result<MyPurchase, ApiError> {
    let p = super::cancellation::own(conn, account_id, purchase_id).await?;
    with_reviews(conn, vec![p], now)
        .await?
        .pop()
        .ok_or_else(not_found)
}

/// `GET /v1/me/purchases`: newest first.
pub async fn my_purchases(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    page: PageRequest,
    now: DateTime<Utc>,
) -> Result<Page<MyPurchase>, ApiError> {
    let mut query = purchases::table
        .filter(purchases::account_id.eq(account_id))
        .order((purchases::purchased_at.desc(), purchases::id.desc()))
        .select(Purchase::as_select())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(pagination::before(
            purchases::purchased_at,
            purchases::id,
            after,
        ));
    }
    let rows = query.load(conn).await?;
    let has_more = rows.len() as i64 > page.limit;
    let mut rows = rows;
    rows.truncate(page.limit as usize);
    let next_cursor = match (has_more, rows.last()) {
        (true, Some(last)) => Some(
            Cursor {
                created_at: last.purchased_at,
                id: last.id,
            }
            .encode(),
        ),
        _ => None,
    };
    Ok(Page {
        data: with_reviews(conn, rows, now).await?,
        next_cursor,
    })
}

/// `GET /v1/partner/purchases/{id}`: only the platform's own.
pub async fn partner_purchase(
    conn: &mut AsyncPgConnection,
    partner_id: Uuid,
    purchase_id: Uuid,
) -> Result<PartnerPurchase, ApiError> {
    let (p, number): (Purchase, String) = purchases::table
        .inner_join(cards::table)
        .filter(purchases::id.eq(purchase_id))
        .filter(purchases::partner_id.eq(partner_id))
        .select((Purchase::as_select(), cards::card_number))
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    Ok(PartnerPurchase::of(p, &number))
}

/// How far before `updated_since` the feed starts. A change is stamped with
/// the clock when its request starts and becomes visible when it commits, so
/// a change can show after one stamped later; a platform polling from the
/// latest `updated_at` it saw would miss it. Starting the feed this much
/// earlier covers it: longer than any transaction that changes a purchase
/// (each runs a few statements under the 10-second statement timeout; the
/// expiry job moves at most 500 rows per statement and transaction).
pub const LATE_COMMIT_MARGIN: TimeDelta = TimeDelta::seconds(60);

/// `GET /v1/partner/purchases?updated_since=`: the platform's purchases by
/// `updated_at` then `id`, oldest first, so a platform polling with the last
/// `updated_at` it saw learns of every change, cancellations it did not cause
/// included, starting [`LATE_COMMIT_MARGIN`] before `updated_since`.
pub async fn partner_purchases(
    conn: &mut AsyncPgConnection,
    partner_id: Uuid,
    updated_since: Option<DateTime<Utc>>,
    page: PageRequest,
) -> Result<Page<PartnerPurchase>, ApiError> {
    let mut query = purchases::table
        .inner_join(cards::table)
        .filter(purchases::partner_id.eq(partner_id))
        .order((purchases::updated_at.asc(), purchases::id.asc()))
        .select((Purchase::as_select(), cards::card_number))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(since) = updated_since {
        query = query.filter(purchases::updated_at.ge(since - LATE_COMMIT_MARGIN));
    }
    if let Some(after) = page.after {
        query = query.filter(pagination::after(
            purchases::updated_at,
            purchases::id,
            after,
        ));
    }
    let rows: Vec<(Purchase, String)> = query.load(conn).await?;
    Ok(page.page(
        rows,
        |(p, _)| Cursor {
            created_at: p.updated_at,
            id: p.id,
        },
        |(p, number)| PartnerPurchase::of(p, &number),
    ))
}
