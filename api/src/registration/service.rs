//! Registration flows (DOMAIN.md §2) after the identity ([`super::identity`]):
//! profile, KTP photo, face enrollment, questionnaire, statement and aptitude
//! test, and the eligibility check every later rule reuses.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{dsl::exists, prelude::*, select, upsert::excluded};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    model::{self, aad},
    rules::{self, EducationLevel, EmploymentStatus, Facts, Occupation, REGISTRATION_STEPS},
    views::*,
    Deps,
};
use crate::{
    auth::Principal,
    clock::jakarta_date,
    crypto::PiiCipher,
    db::{
        schema::{
            accounts, applications, aptitude_questions, aptitude_submissions, face_enrollments,
            ktp_photos, profiles, questionnaires, statements,
        },
        DbPool,
    },
    error::{ApiError, ErrorCode},
    http::ImageKind,
    integrations::face::{self, Liveness},
    ratelimit,
};

/// Stores the personal information. The address must be the KTP address, exactly.
pub async fn set_profile(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    who: &Principal,
    body: &ProfileBody,
) -> Result<ProfileView, ApiError> {
    let education: EducationLevel =
        ApiError::parse_field("education_level", &body.education_level)?;
    let occupation: Occupation = ApiError::parse_field("occupation", &body.occupation)?;
    let employment: EmploymentStatus =
        ApiError::parse_field("employment_status", &body.employment_status)?;
    let province = &body.domicile_province_code;
    let regency = &body.domicile_regency_code;
    if province.len() != 2 || !province.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::field(
            "domicile_province_code",
            "must be a 2-digit province code",
        ));
    }
    if regency.len() != 4
        || !regency.bytes().all(|b| b.is_ascii_digit())
        || !regency.starts_with(province.as_str())
    {
        return Err(ApiError::field(
            "domicile_regency_code",
            "must be a 4-digit regency code within the province",
        ));
    }
    let identity = model::load_identity(conn, deps.pii, who.account_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(ErrorCode::IdentityRequired).detail("Verify the identity (NIK) first.")
        })?;
    if body.address != identity.address {
        return Err(ApiError::new(ErrorCode::AddressMismatch)
            .detail("The address must be written exactly as on the KTP, punctuation included, without RT/RW or village.")
            .with_errors(vec![crate::error::FieldError { field: "address".into(), message: "differs from the KTP address".into() }]));
    }
    let now = deps.clock.now();
    let values = (
        profiles::account_id.eq(who.account_id),
        profiles::domicile_province_code.eq(province),
        profiles::domicile_regency_code.eq(regency),
        profiles::education_level.eq(education),
        profiles::in_formal_education.eq(body.in_formal_education),
        profiles::occupation.eq(occupation),
        profiles::employment_status.eq(employment),
        profiles::updated_at.eq(now),
    );
    // Saving the profile is also this year's data confirmation (DOMAIN.md §11):
    // both in one transaction, so `data_review_due` clears with the change.
    let today = jakarta_date(now);
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::insert_into(profiles::table)
            .values(values)
            .on_conflict(profiles::account_id)
            .do_update()
            .set((
                profiles::domicile_province_code.eq(excluded(profiles::domicile_province_code)),
                profiles::domicile_regency_code.eq(excluded(profiles::domicile_regency_code)),
                profiles::education_level.eq(excluded(profiles::education_level)),
                profiles::in_formal_education.eq(excluded(profiles::in_formal_education)),
                profiles::occupation.eq(excluded(profiles::occupation)),
                profiles::employment_status.eq(excluded(profiles::employment_status)),
                profiles::updated_at.eq(excluded(profiles::updated_at)),
            ))
            .execute(conn)
            .await?;
        record_data_confirmation(conn, who.account_id, today).await
    })
    .await?;
    Ok(ProfileView {
        domicile_province_code: province.clone(),
        domicile_regency_code: regency.clone(),
        education_level: education.as_str().to_owned(),
        in_formal_education: body.in_formal_education,
        occupation: occupation.as_str().to_owned(),
        employment_status: employment.as_str().to_owned(),
    })
}

/// Records that the participant confirmed their personal data on `today` (an
/// Asia/Jakarta date): the yearly data check of DOMAIN.md §11.
async fn record_data_confirmation(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    today: NaiveDate,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(account_id))
        .set(accounts::data_confirmed_on.eq(today))
        .execute(conn)
        .await?;
    Ok(())
}

/// `POST /v1/me/data-review`: the participant confirms that their stored
/// personal data (profile, domicile, education, occupation) still matches
/// their current KTP, with nothing to change. `confirmed` must be true, and a
/// profile must exist to confirm (409 `registration_incomplete` otherwise: fill
/// it in with `PUT /v1/me/profile`, which counts as the confirmation).
pub async fn confirm_data(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
    who: &Principal,
    confirmed: bool,
) -> Result<DataReviewView, ApiError> {
    if !confirmed {
        return Err(ApiError::field(
            "confirmed",
            "must be true; to change the data, send PUT /v1/me/profile instead",
        ));
    }
    let updated = diesel::update(accounts::table.find(who.account_id))
        .filter(exists(profiles::table.find(who.account_id)))
        .set(accounts::data_confirmed_on.eq(today))
        .execute(conn)
        .await?;
    if updated == 0 {
        return Err(ApiError::new(ErrorCode::RegistrationIncomplete)
            .detail("There is no profile to confirm yet: fill it in with PUT /v1/me/profile."));
    }
    Ok(DataReviewView {
        data_review_due: false,
        data_confirmed_on: today,
    })
}

/// Stores the e-KTP photo, encrypted.
pub async fn set_ktp_photo(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    who: &Principal,
    kind: ImageKind,
    image: &[u8],
) -> Result<(), ApiError> {
    let sealed = deps
        .pii
        .encrypt(image, &aad("ktp_photos", "ciphertext", who.account_id));
    let now = deps.clock.now();
    diesel::insert_into(ktp_photos::table)
        .values((
            ktp_photos::account_id.eq(who.account_id),
            ktp_photos::content_type.eq(kind.mime()),
            ktp_photos::size_bytes.eq(image.len() as i32),
            ktp_photos::ciphertext.eq(&sealed),
            ktp_photos::uploaded_at.eq(now),
        ))
        .on_conflict(ktp_photos::account_id)
        .do_update()
        .set((
            ktp_photos::content_type.eq(kind.mime()),
            ktp_photos::size_bytes.eq(image.len() as i32),
            ktp_photos::ciphertext.eq(&sealed),
            ktp_photos::uploaded_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the participant has applied to a wave (registration data is then frozen).
async fn has_applied(conn: &mut AsyncPgConnection, account: Uuid) -> QueryResult<bool> {
    select(exists(
        applications::table.filter(applications::account_id.eq(account)),
    ))
    .get_result(conn)
    .await
}

/// Enrolls the face after a liveness check; the service's face id is the
/// reference for later face checks.
pub async fn enroll_face(
    db: &DbPool,
    deps: Deps<'_>,
    who: &Principal,
    image: &[u8],
) -> Result<FaceEnrollmentView, ApiError> {
    {
        let mut conn = db.get().await?;
        if has_applied(&mut conn, who.account_id).await? {
            return Err(ApiError::new(ErrorCode::RegistrationLocked)
                .detail("The face cannot be changed after joining a wave."));
        }
        let calls = format!("face_calls:enrollment:{}", who.account_id);
        ratelimit::hit(
            &mut conn,
            &calls,
            rules::FACE_ENROLLMENT_CALLS,
            deps.clock.now(),
        )
        .await??;
    }
    let face_id = match deps.face.liveness(image).await.map_err(face::unavailable)? {
        Liveness::Live { face_id } => face_id,
        Liveness::NotLive => return Err(ApiError::new(ErrorCode::FaceLivenessFailed).detail(
            "No live face was recognised; take the photo again in good light and blink when asked.",
        )),
    };
    let now = deps.clock.now();
    let mut conn = db.get().await?;
    diesel::insert_into(face_enrollments::table)
        .values((
            face_enrollments::account_id.eq(who.account_id),
            face_enrollments::face_id.eq(&face_id),
            face_enrollments::enrolled_at.eq(now),
        ))
        .on_conflict(face_enrollments::account_id)
        .do_update()
        .set((
            face_enrollments::face_id.eq(&face_id),
            face_enrollments::enrolled_at.eq(now),
        ))
        .execute(&mut conn)
        .await?;
    Ok(FaceEnrollmentView { status: "enrolled" })
}

/// Stores the motivation and preferred skills.
pub async fn set_questionnaire(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    who: &Principal,
    body: QuestionnaireBody,
) -> Result<QuestionnaireView, ApiError> {
    let skills: Vec<String> = body
        .preferred_skills
        .iter()
        .map(|s| s.trim().to_owned())
        .collect();
    let motivation = body.motivation.trim().to_owned();
    diesel::insert_into(questionnaires::table)
        .values((
            questionnaires::account_id.eq(who.account_id),
            questionnaires::motivation.eq(&motivation),
            questionnaires::preferred_skills.eq(&skills),
            questionnaires::updated_at.eq(now),
        ))
        .on_conflict(questionnaires::account_id)
        .do_update()
        .set((
            questionnaires::motivation.eq(&motivation),
            questionnaires::preferred_skills.eq(&skills),
            questionnaires::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(QuestionnaireView {
        motivation,
        preferred_skills: skills,
    })
}

/// Records the signed declaration (must be `true`).
pub async fn sign_statement(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    who: &Principal,
    agreed: bool,
) -> Result<StatementView, ApiError> {
    if !agreed {
        return Err(ApiError::field(
            "agreed",
            "must be true: the declaration has to be agreed to",
        ));
    }
    diesel::insert_into(statements::table)
        .values((
            statements::account_id.eq(who.account_id),
            statements::agreed_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let agreed_at = statements::table
        .find(who.account_id)
        .select(statements::agreed_at)
        .first(conn)
        .await?;
    Ok(StatementView {
        agreed: true,
        agreed_at,
    })
}

#[derive(Queryable)]
struct QuestionRow {
    id: String,
    text: String,
    options: serde_json::Value,
    correct_option: String,
}

async fn questions(conn: &mut AsyncPgConnection) -> Result<Vec<QuestionRow>, ApiError> {
    Ok(aptitude_questions::table
        .order(aptitude_questions::position)
        .select((
            aptitude_questions::id,
            aptitude_questions::text,
            aptitude_questions::options,
            aptitude_questions::correct_option,
        ))
        .load(conn)
        .await?)
}

fn options_of(q: &QuestionRow) -> Result<Vec<AptitudeOption>, ApiError> {
    serde_json::from_value(q.options.clone())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("question {}: {e}", q.id)))
}

/// The questions, without their answers.
pub async fn aptitude_test(conn: &mut AsyncPgConnection) -> Result<AptitudeTest, ApiError> {
    let questions = questions(conn)
        .await?
        .into_iter()
        .map(|q| {
            Ok(AptitudeQuestion {
                options: options_of(&q)?,
                id: q.id,
                text: q.text,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(AptitudeTest { questions })
}

/// Scores a submission; one per account, every question answered exactly once.
pub async fn submit_aptitude(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    who: &Principal,
    body: &AptitudeSubmission,
) -> Result<AptitudeResult, ApiError> {
    let bank = questions(conn).await?;
    let mut given: HashMap<&str, &str> = HashMap::new();
    for (i, a) in body.answers.iter().enumerate() {
        let Some(q) = bank.iter().find(|q| q.id == a.question_id) else {
            return Err(ApiError::field(
                format!("answers[{i}].question_id"),
                "is not a question of this test",
            ));
        };
        if !options_of(q)?.iter().any(|o| o.id == a.option) {
            return Err(ApiError::field(
                format!("answers[{i}].option"),
                "is not an option of this question",
            ));
        }
        if given
            .insert(a.question_id.as_str(), a.option.as_str())
            .is_some()
        {
            return Err(ApiError::field(
                format!("answers[{i}].question_id"),
                "is answered twice",
            ));
        }
    }
    let answered: HashSet<&str> = given.keys().copied().collect();
    let missing: Vec<&str> = bank
        .iter()
        .map(|q| q.id.as_str())
        .filter(|id| !answered.contains(id))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(ErrorCode::AnswersIncomplete).detail(format!(
            "Every question must be answered; {} unanswered (first: {}).",
            missing.len(),
            missing[0]
        )));
    }
    let score = bank
        .iter()
        .filter(|q| given.get(q.id.as_str()) == Some(&q.correct_option.as_str()))
        .count() as i32;
    let answers = serde_json::to_value(&given).map_err(ApiError::internal)?;
    let inserted = diesel::insert_into(aptitude_submissions::table)
        .values((
            aptitude_submissions::account_id.eq(who.account_id),
            aptitude_submissions::score.eq(score),
            aptitude_submissions::answers.eq(answers),
            aptitude_submissions::submitted_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 0 {
        return Err(ApiError::new(ErrorCode::AlreadySubmitted)
            .detail("The aptitude test can be taken once."));
    }
    Ok(AptitudeResult {
        score,
        total: bank.len() as i32,
    })
}

/// The facts eligibility is decided on, read fresh from the database.
pub async fn eligibility_facts(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    account: Uuid,
) -> Result<Facts, ApiError> {
    let identity = model::load_identity(conn, pii, account).await?;
    let profile: Option<(bool, Occupation)> = profiles::table
        .find(account)
        .select((profiles::in_formal_education, profiles::occupation))
        .first(conn)
        .await
        .optional()?;
    let kk_other_beneficiaries = match &identity {
        Some(i) => model::kk_other_beneficiaries(conn, &i.kk_index, account).await?,
        None => 0,
    };
    Ok(Facts {
        identity_verified: identity.is_some(),
        birth_date: identity.as_ref().map(|i| i.birth_date),
        in_formal_education: profile.as_ref().map(|p| p.0),
        occupation: profile.map(|p| p.1),
        past_beneficiary: model::has_card(conn, account).await?,
        kk_other_beneficiaries,
    })
}

/// Eligibility on `today` (an Asia/Jakarta date).
pub async fn eligibility(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    account: Uuid,
    today: NaiveDate,
) -> Result<Eligibility, ApiError> {
    let facts = eligibility_facts(conn, pii, account).await?;
    let reasons = rules::eligibility(&facts, today);
    Ok(Eligibility {
        eligible: reasons.is_empty(),
        reasons,
    })
}

/// Which registration steps are done, in the journey's order (`GET /v1/me`),
/// from the steps' flags ([`model::steps_done`]).
pub fn progress_of(done: [bool; 8]) -> Registration {
    let (mut completed_steps, mut missing_steps) = (Vec::new(), Vec::new());
    for (step, is_done) in REGISTRATION_STEPS.into_iter().zip(done) {
        if is_done {
            completed_steps.push(step);
        } else {
            missing_steps.push(step);
        }
    }
    Registration {
        complete: missing_steps.is_empty(),
        completed_steps,
        missing_steps,
    }
}
