//! Request and response bodies of the registration routes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::rules::Reason;
use crate::identity::Gender;

/// `PUT /v1/me/identity`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityBody {
    /// 16-digit national identity number (NIK).
    #[schema(example = "3174055704950001")]
    pub nik: String,
    /// 16-digit family card number (KK).
    #[schema(example = "3174050101090001")]
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
    #[schema(example = "JL. PERCOBAAN NO. 0001")]
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    pub address: String,
    #[schema(example = "31")]
    pub domicile_province_code: String,
    /// Starts with the province code.
    #[schema(example = "3174")]
    pub domicile_regency_code: String,
    /// none, sd, smp, sma, smk, d1, d2, d3, d4, s1, s2, s3.
    #[schema(example = "sma")]
    pub education_level: String,
    pub in_formal_education: bool,
    /// unemployed, private_employee, entrepreneur, farmer, fisher, laborer, freelancer, homemaker, other;
    /// excluded from the programme: state_official, dprd_member, civil_servant, military, police,
    /// village_official, soe_board_member.
    #[schema(example = "unemployed")]
    pub occupation: String,
    /// unemployed, employed, self_employed, laid_off.
    #[schema(example = "laid_off")]
    pub employment_status: String,
}

/// The stored profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    pub domicile_province_code: String,
    pub domicile_regency_code: String,
    pub education_level: String,
    pub in_formal_education: bool,
    pub occupation: String,
    pub employment_status: String,
}

/// Result of a face enrollment.
#[derive(Debug, Serialize, ToSchema)]
pub struct FaceEnrollmentView {
    /// `enrolled`.
    #[schema(example = "enrolled")]
    pub status: &'static str,
}

/// `PUT /v1/me/questionnaire`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireBody {
    /// Why the participant joins the programme.
    #[schema(example = "Ingin meningkatkan keterampilan digital untuk mencari kerja.")]
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    pub motivation: String,
    /// Training or skills wanted (1 to 10, each up to 100 characters).
    #[schema(example = json!(["pemasaran digital", "desain grafis"]))]
    #[validate(
        length(min = 1, max = 10, message = "must list 1 to 10 skills"),
        custom(function = "skills_ok")
    )]
    pub preferred_skills: Vec<String>,
}

fn skills_ok(skills: &[String]) -> Result<(), validator::ValidationError> {
    if skills
        .iter()
        .all(|s| !s.trim().is_empty() && s.chars().count() <= 100)
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
    /// Must be `true`.
    #[schema(example = true)]
    pub agreed: bool,
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
    #[schema(example = "tkd-01")]
    pub question_id: String,
    #[schema(example = "a")]
    pub option: String,
}

/// `POST /v1/aptitude-test/submissions`: every question answered once.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AptitudeSubmission {
    #[validate(length(max = 500, message = "has too many answers"))]
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
    #[schema(example = json!(["identity", "phone"]))]
    pub completed_steps: Vec<&'static str>,
    #[schema(example = json!(["profile", "ktp_photo", "face", "questionnaire", "statement", "aptitude_test"]))]
    pub missing_steps: Vec<&'static str>,
}
