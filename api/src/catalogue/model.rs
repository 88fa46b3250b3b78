//! Course rows: the partner's upsert by external id, and reads of one course.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::views::CourseBody;
use crate::{
    db::{schema::courses, text_enum},
    purchases::rules::Delivery,
};

text_enum! {
    /// A course's level (API.md Fixed names).
    pub enum CourseLevel {
        Beginner => "beginner",
        Intermediate => "intermediate",
        Advanced => "advanced",
    }
}

/// A course row (every column but the generated search document).
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = courses)]
pub struct Course {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub external_id: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub delivery: Delivery,
    pub price_idr: i64,
    pub starts_at: DateTime<Utc>,
    pub duration_hours: i32,
    pub level: CourseLevel,
    pub institution: String,
    pub location: Option<String>,
    pub rating_count: i32,
    pub rating_sum: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`Course`], for raw SQL.
pub const COURSE_COLUMNS: &str = "id, partner_id, external_id, title, description, category, \
     delivery, price_idr, starts_at, duration_hours, level, institution, location, \
     rating_count, rating_sum, created_at, updated_at";

/// An upsert's outcome.
#[derive(Debug, QueryableByName)]
pub struct Upserted {
    #[diesel(embed)]
    pub course: Course,
    /// True when the row is new (201), false when an existing one was replaced (200).
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub created: bool,
}

/// Creates or replaces the course `external_id` of `partner_id` in one
/// statement (two PUTs at once cannot both create it). Ratings and `created_at`
/// survive a replacement; the id never changes.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    partner_id: Uuid,
    external_id: &str,
    body: &CourseBody,
    now: DateTime<Utc>,
) -> QueryResult<Upserted> {
    diesel::sql_query(format!(
        "INSERT INTO courses (id, partner_id, external_id, title, description, category, delivery, \
             price_idr, starts_at, duration_hours, level, institution, location, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
         ON CONFLICT (partner_id, external_id) DO UPDATE SET \
             title = EXCLUDED.title, description = EXCLUDED.description, category = EXCLUDED.category, \
             delivery = EXCLUDED.delivery, price_idr = EXCLUDED.price_idr, starts_at = EXCLUDED.starts_at, \
             duration_hours = EXCLUDED.duration_hours, level = EXCLUDED.level, \
             institution = EXCLUDED.institution, location = EXCLUDED.location, updated_at = EXCLUDED.updated_at \
         RETURNING {COURSE_COLUMNS}, (xmax = 0) AS created"
    ))
    .bind::<SqlUuid, _>(Uuid::new_v4())
    .bind::<SqlUuid, _>(partner_id)
    .bind::<Text, _>(external_id)
    .bind::<Text, _>(&body.title)
    .bind::<Text, _>(&body.description)
    .bind::<Text, _>(&body.category)
    .bind::<Text, _>(body.delivery)
    .bind::<BigInt, _>(body.price_idr)
    .bind::<Timestamptz, _>(body.starts_at)
    .bind::<Integer, _>(body.duration_hours)
    .bind::<Text, _>(body.level)
    .bind::<Text, _>(&body.institution)
    .bind::<Nullable<Text>, _>(body.location.as_deref())
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await
}
