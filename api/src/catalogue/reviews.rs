//! A course's page: the course and its most recent reviews, each reviewer
//! shown only as first name and initial (API.md: never the account, email or NIK).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{model::Course, views::CourseView};
use crate::{
    crypto::PiiCipher,
    db::schema::{course_reviews, courses, identities},
    error::{ApiError, ErrorCode},
    registration::model::aad,
};

/// Reviews shown on a course's page, newest first.
pub const RECENT_REVIEWS: i64 = 10;

/// One participant's review, as the public sees it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "rating": 5,
    "comment": "Materinya jelas dan langsung bisa dipraktikkan.",
    "reviewer": "Budi S.",
    "created_at": "2026-12-20T03:00:00Z"
}))]
pub struct PublicReview {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i16,
    pub comment: String,
    /// First name and the initial of the second name (`Budi S.`); the account
    /// behind it is never shown.
    pub reviewer: String,
    pub created_at: DateTime<Utc>,
}

/// A course with its most recent reviews.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseDetail {
    #[serde(flatten)]
    pub course: CourseView,
    /// The 10 most recent reviews, newest first (`rating_count` counts them all).
    pub recent_reviews: Vec<PublicReview>,
}

/// `Budi S.` of `BUDI SANTOSO`: the first name in title case and the initial
/// of the next; one name stays whole (`Sukarno`). Never more of the name.
pub fn masked_name(full_name: &str) -> String {
    let mut words = full_name.split_whitespace();
    let title_case = |w: &str| {
        let mut chars = w.chars();
        chars.next().map_or_else(String::new, |first| {
            first
                .to_uppercase()
                .chain(chars.flat_map(char::to_lowercase))
                .collect()
        })
    };
    match (words.next(), words.next()) {
        (Some(first), Some(second)) => {
            let initial: String = second
                .chars()
                .take(1)
                .flat_map(char::to_uppercase)
                .collect();
            format!("{} {initial}.", title_case(first))
        }
        (Some(first), None) => title_case(first),
        _ => "Peserta".to_owned(),
    }
}

/// A review and its author's sealed full name (none without an identity).
type ReviewRow = (i16, String, DateTime<Utc>, Uuid, Option<Vec<u8>>);

/// The course `id` with its recent reviews; 404 `not_found` when there is none.
pub async fn course_detail(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    id: Uuid,
) -> Result<CourseDetail, ApiError> {
    let course: Course = courses::table
        .find(id)
        .select(Course::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound).detail("No course has this id."))?;
    let rows: Vec<ReviewRow> = course_reviews::table
        .left_join(identities::table.on(identities::account_id.eq(course_reviews::account_id)))
        .filter(course_reviews::course_id.eq(id))
        .order((
            course_reviews::created_at.desc(),
            course_reviews::purchase_id.desc(),
        ))
        .limit(RECENT_REVIEWS)
        .select((
            course_reviews::rating,
            course_reviews::comment,
            course_reviews::created_at,
            course_reviews::account_id,
            identities::full_name_ciphertext.nullable(),
        ))
        .load(conn)
        .await?;
    let mut recent_reviews = Vec::with_capacity(rows.len());
    for (rating, comment, created_at, account_id, name) in rows {
        let reviewer = match name {
            Some(blob) => masked_name(
                &pii.decrypt_string(&blob, &aad("identities", "full_name", account_id))
                    .map_err(|e| {
                        ApiError::internal(anyhow::anyhow!("full name of {account_id}: {e}"))
                    })?,
            ),
            None => masked_name(""),
        };
        recent_reviews.push(PublicReview {
            rating,
            comment,
            reviewer,
            created_at,
        });
    }
    Ok(CourseDetail {
        course: CourseView::from(course),
        recent_reviews,
    })
}

#[cfg(test)]
mod tests {
    use super::masked_name;

    #[test]
    fn reviewer_is_first_name_and_initial() {
        assert_eq!(masked_name("BUDI SANTOSO"), "Budi S.");
        assert_eq!(masked_name("siti nur haliza"), "Siti N.");
        assert_eq!(masked_name("  Sukarno "), "Sukarno");
        assert_eq!(masked_name("ÉLODIE ÅSTRÖM"), "Élodie Å.");
        assert_eq!(masked_name("PESERTA 950123"), "Peserta 9.");
        assert_eq!(masked_name(""), "Peserta");
    }
}
