//! The participant's review of a finished training (DOMAIN.md §7): 1 to 5
//! stars and a comment, once, only after completion.
//!
//! One transaction marks the purchase reviewed (a conditional update, so two
//! reviews sent at once have one winner), stores the review for the course's
//! page and adds it to the course's running rating (`rating_sum`,
//! `rating_count`), so the catalogue never averages reviews per request. The
//! review closes the training: the next purchase is allowed within 15
//! calendar days of its Asia/Jakarta date.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Int2, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    cancellation::own,
    model,
    rules::{self, PurchaseStatus},
    views::{ReviewRequest, ReviewView},
};
use crate::{
    error::{ApiError, ErrorCode},
    incentives,
};

/// Why a purchase in `status` cannot be reviewed. Only a completed purchase
/// carries a review (a CHECK of the table), so a completed one that the
/// conditional update did not move was reviewed already.
fn refused(status: PurchaseStatus) -> ApiError {
    if status == PurchaseStatus::Completed {
        ApiError::new(ErrorCode::ReviewExists).detail("This training was already reviewed.")
    } else {
        ApiError::new(ErrorCode::TrainingNotCompleted)
            .detail("A training can be reviewed once the institution has reported it completed.")
    }
}

/// The comment as stored: surrounding white space trimmed, refused when
/// nothing is left. It is stored through a bound parameter and shown as text
/// (JSON strings) on the course's page; U+0000 never gets this far (the JSON
/// parser refuses it on every route).
pub fn clean_comment(comment: &str) -> Result<String, ApiError> {
    let trimmed = comment.trim();
    if trimmed.is_empty() {
        return Err(ApiError::field("comment", "must not be blank"));
    }
    if trimmed.chars().count() > rules::MAX_COMMENT_CHARS {
        return Err(ApiError::field(
            "comment",
            format!("at most {} characters", rules::MAX_COMMENT_CHARS),
        ));
    }
    Ok(trimmed.to_owned())
}

/// `POST /v1/me/purchases/{id}/review`: the participant's own purchase only
/// (404 otherwise), completed (409 `training_not_completed`), not reviewed
/// yet (409 `review_exists`).
pub async fn review(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    account_id: Uuid,
    purchase_id: Uuid,
    request: &ReviewRequest,
) -> Result<ReviewView, ApiError> {
    let comment = clean_comment(&request.comment)?;
    if !rules::RATINGS.contains(&request.rating) {
        return Err(ApiError::field("rating", "1 to 5 stars"));
    }
    let p = own(conn, account_id, purchase_id).await?;
    if p.reviewed_at.is_some() || p.status != PurchaseStatus::Completed {
        return Err(refused(p.status));
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        let Some(reviewed) = model::mark_reviewed(conn, p.id, now).await? else {
            let current = own(conn, account_id, purchase_id).await?;
            return Err(refused(current.status));
        };
        diesel::sql_query(
            "INSERT INTO course_reviews (purchase_id, course_id, account_id, rating, comment, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind::<SqlUuid, _>(reviewed.id)
        .bind::<SqlUuid, _>(reviewed.course_id)
        .bind::<SqlUuid, _>(reviewed.account_id)
        .bind::<Int2, _>(request.rating)
        .bind::<Text, _>(&comment)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
        // The running rating the catalogue shows. A course's reviews queue on
        // its row for this one statement; they are rare next to purchases.
        diesel::sql_query(
            "UPDATE courses SET rating_sum = rating_sum + $1, rating_count = rating_count + 1 \
             WHERE id = $2",
        )
        .bind::<diesel::sql_types::BigInt, _>(i64::from(request.rating))
        .bind::<SqlUuid, _>(reviewed.course_id)
        .execute(conn)
        .await?;
        // DOMAIN.md §8: completion, certificate and review finish the first
        // training; its incentives are scheduled in the same transaction (the
        // job `schedule_incentives` only catches what a crash left behind).
        incentives::schedule::on_training_finished(conn, reviewed.id, now).await?;
        Ok(ReviewView {
            rating: request.rating,
            comment,
            created_at: now,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_trimmed_and_bounded() {
        assert_eq!(clean_comment("  Bagus sekali.\n").unwrap(), "Bagus sekali.");
        assert_eq!(
            clean_comment("baris 1\nbaris 2").unwrap(),
            "baris 1\nbaris 2"
        );
        for bad in ["", "   ", "\n\t"] {
            assert_eq!(
                clean_comment(bad).unwrap_err().code(),
                ErrorCode::ValidationFailed
            );
        }
        let long = "é".repeat(rules::MAX_COMMENT_CHARS + 1);
        assert_eq!(
            clean_comment(&long).unwrap_err().code(),
            ErrorCode::ValidationFailed
        );
        assert!(clean_comment(&"é".repeat(rules::MAX_COMMENT_CHARS)).is_ok());
    }

    #[test]
    fn a_review_is_refused_before_completion_and_after_a_review() {
        for status in [
            PurchaseStatus::Purchased,
            PurchaseStatus::Redeemed,
            PurchaseStatus::Cancelled,
            PurchaseStatus::Expired,
        ] {
            assert_eq!(refused(status).code(), ErrorCode::TrainingNotCompleted);
        }
        assert_eq!(
            refused(PurchaseStatus::Completed).code(),
            ErrorCode::ReviewExists
        );
    }
}
