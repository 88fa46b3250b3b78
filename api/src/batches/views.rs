//! Request and response bodies of the wave routes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::rules::{ApplicationStatus, BatchStatus, Scheme};

/// A wave as anyone sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    pub id: Uuid,
    #[schema(example = "Gelombang 71")]
    pub name: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    #[schema(example = 50000)]
    pub quota: i32,
    /// Provinces of domicile served; empty means all.
    #[schema(example = json!(["31", "32"]))]
    pub province_codes: Vec<String>,
    pub status: BatchStatus,
    pub scheme: Scheme,
}

/// A wave with the programme office's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAdminView {
    #[serde(flatten)]
    pub batch: BatchView,
    /// Hex lottery seed, drawn once the wave has closed (null before): with it
    /// anyone can recompute the order, SHA-256(seed ‖ application id bytes) ascending.
    pub seed: Option<String>,
    pub applied: i64,
    pub selected: i64,
    pub not_selected: i64,
    pub selected_at: Option<DateTime<Utc>>,
}

/// A benefit scheme in a request; omitted fields take DOMAIN.md §4's defaults.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemeBody {
    #[schema(minimum = 1, maximum = 100_000_000, example = 1000000)]
    #[validate(range(
        min = 1,
        max = 100_000_000,
        message = "must be between 1 and 100000000"
    ))]
    pub training_idr: Option<i64>,
    #[schema(minimum = 0, maximum = 100_000_000, example = 600000)]
    #[validate(range(
        min = 0,
        max = 100_000_000,
        message = "must be between 0 and 100000000"
    ))]
    pub incentive_monthly_idr: Option<i64>,
    #[schema(minimum = 0, maximum = 24, example = 4)]
    #[validate(range(min = 0, max = 24, message = "must be between 0 and 24"))]
    pub incentive_months: Option<i32>,
    #[schema(minimum = 0, maximum = 100_000_000, example = 50000)]
    #[validate(range(
        min = 0,
        max = 100_000_000,
        message = "must be between 0 and 100000000"
    ))]
    pub survey_incentive_idr: Option<i64>,
    #[schema(minimum = 0, maximum = 10, example = 3)]
    #[validate(range(min = 0, max = 10, message = "must be between 0 and 10"))]
    pub survey_count: Option<i32>,
}

impl SchemeBody {
    /// Fills omitted fields from `base`.
    pub fn over(&self, base: Scheme) -> Scheme {
        Scheme {
            training_idr: self.training_idr.unwrap_or(base.training_idr),
            incentive_monthly_idr: self
                .incentive_monthly_idr
                .unwrap_or(base.incentive_monthly_idr),
            incentive_months: self.incentive_months.unwrap_or(base.incentive_months),
            survey_incentive_idr: self
                .survey_incentive_idr
                .unwrap_or(base.survey_incentive_idr),
            survey_count: self.survey_count.unwrap_or(base.survey_count),
        }
    }
}

/// `POST /v1/admin/batches`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBatch {
    #[schema(
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Gelombang 71",
        min_length = 1,
        max_length = 200
    )]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[serde(deserialize_with = "crate::http::text::single_line")]
    pub name: String,
    /// When applications open (RFC 3339).
    #[schema(example = "2026-07-01T00:00:00+07:00")]
    pub opens_at: DateTime<Utc>,
    /// When applications close; after `opens_at` (else 422 `validation_failed`).
    #[schema(example = "2026-07-15T00:00:00+07:00")]
    pub closes_at: DateTime<Utc>,
    #[schema(example = 50000, minimum = 1, maximum = 10_000_000)]
    #[validate(range(min = 1, max = 10_000_000, message = "must be between 1 and 10000000"))]
    pub quota: i32,
    /// Two-digit province codes of domicile (at most 40); omit or leave empty
    /// for all provinces.
    #[schema(schema_with = province_codes_schema)]
    #[validate(custom(function = "province_codes_ok"))]
    pub province_codes: Option<Vec<String>>,
    #[validate(nested)]
    pub scheme: Option<SchemeBody>,
}

fn province_codes_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]{2}$")),
        )
        .max_items(Some(40))
        .description(Some(
            "Two-digit province codes of domicile (at most 40); empty or null for all provinces.",
        ))
        .examples([serde_json::json!(["31", "32"])])
        .build()
}

/// `PATCH /v1/admin/batches/{id}`: any creation field; only before the wave opens.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"quota": 60000, "province_codes": ["31", "32"], "scheme": {"training_idr": 1000000}}))]
#[serde(deny_unknown_fields)]
pub struct UpdateBatch {
    #[schema(
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        min_length = 1,
        max_length = 200
    )]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[serde(default, deserialize_with = "crate::http::text::optional_single_line")]
    pub name: Option<String>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    #[schema(minimum = 1, maximum = 10_000_000)]
    #[validate(range(min = 1, max = 10_000_000, message = "must be between 1 and 10000000"))]
    pub quota: Option<i32>,
    #[schema(schema_with = province_codes_schema)]
    #[validate(custom(function = "province_codes_ok"))]
    pub province_codes: Option<Vec<String>>,
    #[validate(nested)]
    pub scheme: Option<SchemeBody>,
}

fn province_codes_ok(codes: &[String]) -> Result<(), validator::ValidationError> {
    let ok = codes.len() <= 40
        && codes
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(validator::ValidationError::new("province_codes")
            .with_message("must be two-digit province codes".into()))
    }
}

/// An application to a wave.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: Uuid,
    pub batch_id: Uuid,
    #[schema(example = "Gelombang 71")]
    pub batch_name: String,
    #[schema(example = "pending")]
    pub status: ApplicationStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Result of a selection run.
#[derive(Debug, Serialize, ToSchema)]
pub struct SelectionResult {
    #[schema(example = 50000)]
    pub selected: i64,
    #[schema(example = 120000)]
    pub not_selected: i64,
}
