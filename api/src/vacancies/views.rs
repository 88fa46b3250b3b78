//! Request and response bodies of the job routes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::{
    model::{EmploymentType, Vacancy},
    rules::RecommendationReason,
};
use crate::{
    catalogue::views::{no_control_chars, not_blank},
    http::text::is_single_line,
};

/// Most skills a vacancy lists.
pub const MAX_SKILLS: usize = 20;
/// Longest skill.
pub const MAX_SKILL_CHARS: usize = 100;

/// `PUT /v1/partner/jobs/{external_id}`: the vacancy as the job board shows it
/// now. The whole vacancy each time (a PUT replaces it).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Penjahit Garmen",
    "company": "PT Busana Nusantara",
    "description": "Menjahit pakaian jadi di lini produksi ekspor.",
    "requirements": "Pengalaman menjahit minimal 1 tahun; bisa mesin jahit industri.",
    "province_code": "31",
    "regency_code": "3174",
    "employment_type": "full_time",
    "skills": ["menjahit", "pola busana"],
    "apply_url": "https://karir.example.id/lowongan/PJ-2027-01",
    "closes_on": "2027-01-31"
}))]
pub struct VacancyBody {
    #[schema(min_length = 3, max_length = 200)]
    #[validate(
        length(min = 3, max = 200, message = "must be 3 to 200 characters"),
        custom(function = "not_blank")
    )]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    #[serde(deserialize_with = "crate::http::text::single_line")]
    pub title: String,
    /// The employer.
    #[schema(min_length = 1, max_length = 200)]
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    #[serde(deserialize_with = "crate::http::text::single_line")]
    pub company: String,
    #[schema(min_length = 1, max_length = 5000)]
    #[validate(
        length(min = 1, max = 5000, message = "must be 1 to 5000 characters"),
        custom(function = "no_control_chars")
    )]
    pub description: String,
    #[schema(min_length = 1, max_length = 5000)]
    #[validate(
        length(min = 1, max = 5000, message = "must be 1 to 5000 characters"),
        custom(function = "no_control_chars")
    )]
    pub requirements: String,
    /// The office's province: the 2-digit code of the KTP (`31` DKI Jakarta).
    #[schema(example = "31", pattern = "^[0-9]{2}$")]
    pub province_code: String,
    /// The office's regency or city: 4 digits starting with `province_code`
    /// (else 422 `validation_failed`).
    #[schema(example = "3174", pattern = "^[0-9]{4}$")]
    pub regency_code: String,
    #[schema(value_type = EmploymentType, example = "full_time")]
    pub employment_type: String,
    /// What the job needs: the recommendations match these against the
    /// participants' preferred skills and training categories (case, accents
    /// and repeated spaces ignored), so short common names work best
    /// (`menjahit`, `desain grafis`, `Pemasaran`).
    #[schema(schema_with = skills_schema)]
    #[validate(
        length(min = 1, max = 20, message = "must list 1 to 20 skills"),
        custom(function = "skills_ok")
    )]
    pub skills: Vec<String>,
    /// Where to apply: an absolute `https` URL with a host (else 422).
    #[schema(
        example = "https://karir.example.id/lowongan/PJ-2027-01",
        pattern = "^https://",
        max_length = 2000
    )]
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    pub apply_url: String,
    /// The last Asia/Jakarta day applications are taken (inclusive), in the
    /// years 2000 to 2099. A date already past closes the vacancy at once.
    pub closes_on: NaiveDate,
}

fn skills_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_SKILL_CHARS))
                .pattern(Some("[^ ]")),
        )
        .min_items(Some(1))
        .max_items(Some(MAX_SKILLS))
        .description(Some(
            "What the job needs: 1 to 20 skills, each 1 to 100 characters on one line and not only \
             spaces. The recommendations match them against participants' preferred skills and \
             training categories (case, accents and repeated spaces ignored).",
        ))
        .examples([serde_json::json!(["menjahit", "pola busana"])])
        .build()
}

fn skills_ok(skills: &[String]) -> Result<(), ValidationError> {
    for skill in skills {
        if !is_single_line(skill) || skill.trim().is_empty() {
            return Err(ValidationError::new("skill").with_message(
                "each skill must be one line of printable text, not only spaces".into(),
            ));
        }
        if skill.chars().count() > MAX_SKILL_CHARS {
            return Err(ValidationError::new("skill")
                .with_message("each skill must be 1 to 100 characters".into()));
        }
    }
    Ok(())
}

/// A vacancy as the job list shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "8d3c1f0e-5a2b-4c7d-9e8f-1a2b3c4d5e6f",
    "partner_id": "0b3e2f6c-63a5-4c4e-9a55-2f1e0d7c9a10",
    "external_id": "PJ-2027-01",
    "title": "Penjahit Garmen",
    "company": "PT Busana Nusantara",
    "description": "Menjahit pakaian jadi di lini produksi ekspor.",
    "requirements": "Pengalaman menjahit minimal 1 tahun; bisa mesin jahit industri.",
    "province_code": "31",
    "regency_code": "3174",
    "employment_type": "full_time",
    "skills": ["menjahit", "pola busana"],
    "apply_url": "https://karir.example.id/lowongan/PJ-2027-01",
    "closes_on": "2027-01-31",
    "open": true,
    "created_at": "2027-01-02T01:00:00Z",
    "updated_at": "2027-01-02T01:00:00Z"
}))]
pub struct VacancyView {
    /// The vacancy's id (`GET /v1/jobs/{id}`).
    pub id: Uuid,
    /// The job board that published it.
    pub partner_id: Uuid,
    /// The job board's own id of the vacancy.
    pub external_id: String,
    pub title: String,
    pub company: String,
    pub description: String,
    pub requirements: String,
    pub province_code: String,
    pub regency_code: String,
    pub employment_type: EmploymentType,
    pub skills: Vec<String>,
    pub apply_url: String,
    /// The last day to apply (Asia/Jakarta, inclusive).
    pub closes_on: NaiveDate,
    /// Whether applications are still taken today (Asia/Jakarta date of the
    /// service clock on or before `closes_on`). Lists show open vacancies
    /// only; `GET /v1/jobs/{id}` also answers a closed one, with `false`.
    pub open: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl VacancyView {
    /// The view of `v` on `today` (an Asia/Jakarta date).
    pub fn of(v: Vacancy, today: NaiveDate) -> VacancyView {
        VacancyView {
            id: v.id,
            partner_id: v.partner_id,
            external_id: v.external_id,
            title: v.title,
            company: v.company,
            description: v.description,
            requirements: v.requirements,
            province_code: v.province_code,
            regency_code: v.regency_code,
            employment_type: v.employment_type,
            skills: v.skills,
            apply_url: v.apply_url,
            open: today <= v.closes_on,
            closes_on: v.closes_on,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// One recommended vacancy.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "job": {
        "id": "8d3c1f0e-5a2b-4c7d-9e8f-1a2b3c4d5e6f",
        "partner_id": "0b3e2f6c-63a5-4c4e-9a55-2f1e0d7c9a10",
        "external_id": "PJ-2027-01",
        "title": "Penjahit Garmen",
        "company": "PT Busana Nusantara",
        "description": "Menjahit pakaian jadi di lini produksi ekspor.",
        "requirements": "Pengalaman menjahit minimal 1 tahun; bisa mesin jahit industri.",
        "province_code": "31",
        "regency_code": "3174",
        "employment_type": "full_time",
        "skills": ["Menjahit", "Fesyen"],
        "apply_url": "https://karir.example.id/lowongan/PJ-2027-01",
        "closes_on": "2027-01-31",
        "open": true,
        "created_at": "2027-01-02T01:00:00Z",
        "updated_at": "2027-01-02T01:00:00Z"
    },
    "score": 9,
    "reasons": [
        {"kind": "matching_skills", "skills": ["Menjahit"]},
        {"kind": "training_category", "categories": ["Fesyen"]},
        {"kind": "same_province", "province_code": "31"}
    ]
}))]
pub struct Recommendation {
    pub job: VacancyView,
    /// How well it fits (higher is better): 3 points per matching preferred
    /// skill, 2 per matching training category, 4 for the same province.
    #[schema(minimum = 2)]
    pub score: i32,
    /// Why it is recommended, each kind at most once, in this order:
    /// `matching_skills` (the vacancy's skills among the participant's
    /// preferred skills), `training_category` (categories of completed
    /// trainings among the vacancy's skills), `same_province` (the vacancy is
    /// in the participant's domicile province). At least one of the first two.
    #[schema(min_items = 1, max_items = 3)]
    pub reasons: Vec<RecommendationReason>,
}

/// `GET /v1/me/job-recommendations`: the list shape of every list, on one page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recommendations {
    /// Best first, at most 20.
    #[schema(max_items = 20)]
    pub data: Vec<Recommendation>,
    /// Always null: the recommendations are one page.
    #[schema(value_type = Option<String>, example = json!(null))]
    pub next_cursor: Option<String>,
}
