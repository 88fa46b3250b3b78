//! Request and response bodies of the catalogue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::model::{Course, CourseLevel};
use crate::purchases::rules::Delivery;

pub(crate) fn no_control_chars(value: &str) -> Result<(), ValidationError> {
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ValidationError::new("control")
            .with_message("must not contain control characters".into()));
    }
    Ok(())
}

/// Control characters are refused while the body is parsed
/// (`http::text::single_line`, 400); a name of blanks only is refused here.
pub(crate) fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    Ok(())
}

/// `PUT /v1/partner/courses/{external_id}`: the course as the platform sells it
/// now. The whole course each time (a PUT replaces it).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Pemasaran Digital untuk UMKM",
    "description": "Belajar memasarkan produk usaha kecil lewat media sosial dan marketplace.",
    "category": "Pemasaran",
    "delivery": "webinar",
    "price_idr": 750000,
    "starts_at": "2027-01-15T02:00:00Z",
    "duration_hours": 12,
    "level": "beginner",
    "institution": "Lembaga Pelatihan Nusantara",
    "location": null
}))]
pub struct CourseBody {
    #[schema(min_length = 3, max_length = 200)]
    #[validate(
        length(min = 3, max = 200, message = "must be 3 to 200 characters"),
        custom(function = "not_blank")
    )]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    #[serde(deserialize_with = "crate::http::text::single_line")]
    pub title: String,
    #[schema(min_length = 1, max_length = 5000)]
    #[validate(
        length(min = 1, max = 5000, message = "must be 1 to 5000 characters"),
        custom(function = "no_control_chars")
    )]
    pub description: String,
    #[schema(min_length = 1, max_length = 100)]
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "not_blank")
    )]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    #[serde(deserialize_with = "crate::http::text::single_line")]
    pub category: String,
    pub delivery: Delivery,
    /// Integer rupiah, 1 to 100,000,000 (far above any card's balance: a larger
    /// figure is a typo).
    #[schema(minimum = 1, maximum = 100_000_000)]
    #[validate(range(min = 1, max = 100_000_000, message = "must be 1 to 100000000 rupiah"))]
    pub price_idr: i64,
    /// When the training starts (for self-paced learning: when it opens).
    pub starts_at: DateTime<Utc>,
    #[schema(minimum = 1, maximum = 2000)]
    #[validate(range(min = 1, max = 2000, message = "must be 1 to 2000 hours"))]
    pub duration_hours: i32,
    pub level: CourseLevel,
    #[schema(min_length = 1, max_length = 200)]
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    #[serde(deserialize_with = "crate::http::text::single_line")]
    pub institution: String,
    /// The venue: required for `offline`, absent (or null) for online training.
    #[schema(min_length = 1, max_length = 300)]
    #[validate(
        length(min = 1, max = 300, message = "must be 1 to 300 characters"),
        custom(function = "not_blank")
    )]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    #[serde(default, deserialize_with = "crate::http::text::optional_single_line")]
    pub location: Option<String>,
}

/// A course as the catalogue shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "5b0f0c7e-2d7c-4a59-8f7e-6c3b7f1e9a21",
    "partner_id": "0b3e2f6c-63a5-4c4e-9a55-2f1e0d7c9a10",
    "external_id": "UMKM-101",
    "title": "Pemasaran Digital untuk UMKM",
    "description": "Belajar memasarkan produk usaha kecil lewat media sosial dan marketplace.",
    "category": "Pemasaran",
    "delivery": "webinar",
    "price_idr": 750000,
    "starts_at": "2027-01-15T02:00:00Z",
    "duration_hours": 12,
    "level": "beginner",
    "institution": "Lembaga Pelatihan Nusantara",
    "location": null,
    "rating_average": 4.5,
    "rating_count": 12,
    "created_at": "2026-12-02T01:00:00Z",
    "updated_at": "2026-12-02T01:00:00Z"
}))]
pub struct CourseView {
    /// The catalogue id (`course_id` of purchase bodies).
    pub id: Uuid,
    pub partner_id: Uuid,
    /// The platform's own id of the course.
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
    /// The venue of offline training; null online.
    pub location: Option<String>,
    /// Mean of the participants' ratings (1 to 5, two decimals); null before the first.
    #[schema(minimum = 1, maximum = 5)]
    pub rating_average: Option<f64>,
    pub rating_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The average of `count` ratings summing to `sum`, to two decimals.
pub fn rating_average(sum: i64, count: i32) -> Option<f64> {
    (count > 0).then(|| ((sum as f64 / f64::from(count)) * 100.0).round() / 100.0)
}

impl From<Course> for CourseView {
    fn from(c: Course) -> Self {
        CourseView {
            id: c.id,
            partner_id: c.partner_id,
            external_id: c.external_id,
            title: c.title,
            description: c.description,
            category: c.category,
            delivery: c.delivery,
            price_idr: c.price_idr,
            starts_at: c.starts_at,
            duration_hours: c.duration_hours,
            level: c.level,
            institution: c.institution,
            location: c.location,
            rating_average: rating_average(c.rating_sum, c.rating_count),
            rating_count: c.rating_count,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rating_average;

    #[test]
    fn average_is_rounded_to_two_decimals_and_absent_without_ratings() {
        assert_eq!(rating_average(0, 0), None);
        assert_eq!(rating_average(5, 1), Some(5.0));
        assert_eq!(rating_average(14, 3), Some(4.67));
        assert_eq!(rating_average(9, 2), Some(4.5));
    }
}
