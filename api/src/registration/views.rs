//! Request and response bodies of the registration routes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::rules::{EducationLevel, EmploymentStatus, Occupation, Reason};
use crate::identity::Gender;

/// `PUT /v1/me/identity`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityBody {
    /// 16-digit national identity number (NIK): a province code, regency and
    /// district, the birth day (plus 40 for women), month and year, a serial.
    /// A date that does not exist, or one that disagrees with `date_of_birth`,
    /// answers 422 `nik_invalid`.
    #[schema(
        example = "3174055704950001",
        pattern = "^(1[1-9]|21|3[1-6]|5[1-3]|6[1-5]|7[1-6]|8[12]|9[1-7])[0-9]{4}(0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])(0[1-9]|1[0-2])[0-9]{6}$"
    )]
    pub nik: String,
    /// 16-digit family card number (KK), starting with a province code.
    #[schema(
        example = "3174050101090001",
        pattern = "^(1[1-9]|21|3[1-6]|5[1-3]|6[1-5]|7[1-6]|8[12]|9[1-7])[0-9]{14}$"
    )]
    pub kk_number: String,
    /// As on the KTP; must agree with the date encoded in the NIK.
    #[schema(example = "1995-04-17")]
    pub date_of_birth: NaiveDate,
}

/// The registry's record of the participant (cannot be changed by them).
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    #[schema(example = "PESERTA 950001")]
    pub full_name: String,
    pub gender: Gender,
    #[schema(example = "JAKARTA")]
    pub birth_place: String,
    /// The KTP address; the profile address must equal it exactly.
    #[schema(example = "JL. PERCOBAAN NO. 0001")]
    pub address: String,
    #[schema(example = "31")]
    pub province_code: String,
    #[schema(example = "3174")]
    pub regency_code: String,
}

/// `PUT /v1/me/profile`. Vocabularies: see API.md Fixed names.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// Must equal the KTP address exactly (punctuation included; no RT/RW or village added).
    #[schema(
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "JL. PERCOBAAN NO. 0001",
        min_length = 1,
        max_length = 500
    )]
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    #[serde(deserialize_with = "crate::http::text::single_line")]
    pub address: String,
    #[schema(example = "31", pattern = "^[0-9]{2}$")]
    pub domicile_province_code: String,
    /// Starts with the province code (else 422 `validation_failed`).
    #[schema(example = "3174", pattern = "^[0-9]{4}$")]
    pub domicile_regency_code: String,
    #[schema(example = "sma", value_type = EducationLevel)]
    pub education_level: String,
    pub in_formal_education: bool,
    /// The excluded occupations (state_official … soe_board_member) make the
    /// participant ineligible; they are still accepted here.
    #[schema(example = "unemployed", value_type = Occupation)]
    pub occupation: String,
    #[schema(example = "laid_off", value_type = EmploymentStatus)]
    pub employment_status: String,
}

/// The stored profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    #[schema(example = "31")]
    pub domicile_province_code: String,
    #[schema(example = "3174")]
    pub domicile_regency_code: String,
    #[schema(example = "sma", value_type = EducationLevel)]
    pub education_level: String,
    pub in_formal_education: bool,
    #[schema(example = "unemployed", value_type = Occupation)]
    pub occupation: String,
    #[schema(example = "laid_off", value_type = EmploymentStatus)]
    pub employment_status: String,
}

/// Result of a face enrollment.
#[derive(Debug, Serialize, ToSchema)]
pub struct FaceEnrollmentView {
    #[schema(example = "enrolled", pattern = "^enrolled$")]
    pub status: &'static str,
}

/// `PUT /v1/me/questionnaire`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireBody {
    /// Why the participant joins the programme.
    #[schema(example = "Ingin meningkatkan keterampilan digital untuk mencari kerja.")]
    #[schema(min_length = 1, max_length = 2000)]
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    pub motivation: String,
    /// Training or skills wanted: 1 to 10, each 1 to 100 characters and not only
    /// spaces, tabs or line breaks.
    #[schema(schema_with = skills_schema)]
    #[validate(
        length(min = 1, max = 10, message = "must list 1 to 10 skills"),
        custom(function = "skills_ok")
    )]
    pub preferred_skills: Vec<String>,
}

fn skills_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(100))
                .pattern(Some("[^ \t\n\r]")),
        )
        .min_items(Some(1))
        .max_items(Some(10))
        .description(Some(
            "Training or skills wanted: 1 to 10, each 1 to 100 characters and not only spaces, tabs or line breaks.",
        ))
        .examples([serde_json::json!(["pemasaran digital", "desain grafis"])])
        .build()
}

/// Blank means only spaces, tabs and line breaks: one definition that the
/// schema's pattern states exactly (Unicode's wider whitespace differs between
/// regex engines).
fn is_blank(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

fn skills_ok(skills: &[String]) -> Result<(), validator::ValidationError> {
    if skills
        .iter()
        .all(|s| !is_blank(s) && s.chars().count() <= 100)
    {
        Ok(())
    } else {
        Err(validator::ValidationError::new("skill")
            .with_message("each skill must be 1 to 100 characters".into()))
    }
}

/// The stored questionnaire.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionnaireView {
    pub motivation: String,
    pub preferred_skills: Vec<String>,
}

/// `PUT /v1/me/statement`: the signed declaration about one's situation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementBody {
    /// Must be `true` (else 422 `validation_failed`).
    #[schema(example = true, schema_with = must_be_true)]
    pub agreed: bool,
}

pub(crate) fn must_be_true() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Boolean)
        .enum_values(Some([true]))
        .description(Some("Must be `true` (else 422 `validation_failed`)."))
        .examples([serde_json::json!(true)])
        .build()
}

/// The declaration as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementView {
    pub agreed: bool,
    pub agreed_at: DateTime<Utc>,
}

/// One answer option.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AptitudeOption {
    #[schema(example = "a")]
    pub id: String,
    #[schema(example = "teliti")]
    pub text: String,
}

/// One question of the aptitude test.
#[derive(Debug, Serialize, ToSchema)]
pub struct AptitudeQuestion {
    #[schema(example = "tkd-01")]
    pub id: String,
    pub text: String,
    pub options: Vec<AptitudeOption>,
}

/// The aptitude test (TKD).
#[derive(Debug, Serialize, ToSchema)]
pub struct AptitudeTest {
    pub questions: Vec<AptitudeQuestion>,
}

/// One answer: the chosen option's id.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AptitudeAnswer {
    /// A question's `id` from `GET /v1/aptitude-test`.
    #[schema(example = "tkd-01", min_length = 1, max_length = 100)]
    #[validate(length(min = 1, max = 100, message = "must be a question id"))]
    pub question_id: String,
    /// The chosen option's `id`.
    #[schema(example = "a", min_length = 1, max_length = 100)]
    #[validate(length(min = 1, max = 100, message = "must be an option id"))]
    pub option: String,
}

/// `POST /v1/aptitude-test/submissions`: every question answered once.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AptitudeSubmission {
    /// One answer per question; an unknown question or option, or a question
    /// answered twice, is 422 `validation_failed`, a missing one 422 `answers_incomplete`.
    #[schema(max_items = 500)]
    #[validate(length(max = 500, message = "has too many answers"), nested)]
    pub answers: Vec<AptitudeAnswer>,
}

/// The score (correct answers); there is no pass mark.
#[derive(Debug, Serialize, ToSchema)]
pub struct AptitudeResult {
    #[schema(example = 18)]
    pub score: i32,
    #[schema(example = 24)]
    pub total: i32,
}

/// `GET /v1/me/eligibility`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Eligibility {
    pub eligible: bool,
    /// Failing rules: identity_not_verified, age_out_of_range, in_formal_education,
    /// excluded_occupation, past_beneficiary, kk_limit_reached.
    pub reasons: Vec<Reason>,
}

/// Registration progress (steps in the order of the participant's journey).
#[derive(Debug, Serialize, ToSchema)]
pub struct Registration {
    pub complete: bool,
    #[schema(example = json!(["identity", "phone"]), value_type = Vec<crate::contract::schema::RegistrationStep>)]
    pub completed_steps: Vec<&'static str>,
    #[schema(example = json!(["profile", "ktp_photo", "face", "questionnaire", "statement", "aptitude_test"]),
        value_type = Vec<crate::contract::schema::RegistrationStep>)]
    pub missing_steps: Vec<&'static str>,
}

/// `POST /v1/me/data-review`: the yearly data check, answered "nothing changed".
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataReviewBody {
    /// Must be `true`: the profile, domicile, education and occupation still
    /// match the current KTP (else 422 `validation_failed`; to change them send
    /// `PUT /v1/me/profile`).
    #[schema(example = true, schema_with = must_be_true)]
    pub confirmed: bool,
}

/// The data check is done for this year.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"data_review_due": false, "data_confirmed_on": "2027-01-04"}))]
pub struct DataReviewView {
    /// As in `GET /v1/me`: false until next year.
    pub data_review_due: bool,
    /// The Asia/Jakarta date of this confirmation.
    pub data_confirmed_on: NaiveDate,
}
