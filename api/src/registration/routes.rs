//! Handlers of the registration routes. All require a logged-in participant.

use actix_web::{get, post, put, web, HttpResponse};

use super::{identity, service, views::*, Deps};
use crate::{
    auth::Authenticated,
    contract::Operation,
    error::{ApiResult, ErrorCode},
    http::{
        image::{ImageUpload, ONE_MIB},
        Caller, ImageBody, JsonBody,
    },
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = {
    use ErrorCode::*;
    &[
        Operation::new(
            "put_identity",
            &[
                NikRegistered,
                IdentityAlreadyVerified,
                NikInvalid,
                IdentityMismatch,
                RegistryUnavailable,
            ],
        )
        .participant_only(),
        Operation::new("put_profile", &[IdentityRequired, AddressMismatch]).participant_only(),
        Operation::new("post_data_review", &[RegistrationIncomplete]).participant_only(),
        Operation::new("put_ktp_photo", &[]).participant_only(),
        Operation::new(
            "post_face_enrollment",
            &[
                RegistrationLocked,
                FaceLivenessFailed,
                FaceServiceUnavailable,
            ],
        )
        .participant_only(),
        Operation::new("put_questionnaire", &[]).participant_only(),
        Operation::new("put_statement", &[]).participant_only(),
        Operation::new("get_aptitude_test", &[]),
        Operation::new(
            "post_aptitude_submission",
            &[AlreadySubmitted, AnswersIncomplete],
        )
        .participant_only(),
        Operation::new("get_eligibility", &[]).participant_only(),
    ]
};

/// What the registration flows borrow from the state.
fn deps(state: &AppState) -> Deps<'_> {
    Deps {
        clock: &state.clock,
        pii: &state.pii,
        blind: &state.blind,
        registry: &state.registry,
        face: &state.face,
    }
}

/// Verify the identity (NIK, KK, date of birth)
///
/// Checks NIK, KK number and date of birth against the population registry
/// (Dukcapil). The name, gender, birth place and KTP address come from the
/// registry's record and can never be changed by the participant.
///
/// `nik_registered` is checked after the registry match, so it reveals nothing to a
/// caller without the KK and date of birth; recover such a NIK through a help report. A
/// registry outage (503 `registry_unavailable`) stores nothing: retry later. Failed
/// attempts (`nik_invalid`, `identity_mismatch`, `nik_registered`) are capped at 20 per
/// account in any 24 hours (then 429 `rate_limited`, with Retry-After, even for a
/// matching attempt), and registry look-ups at 30 per account in any 24 hours.
#[utoipa::path(
    tag = "registration",
    security(("bearer" = [])),
    request_body = IdentityBody,
    responses(
        (status = 200, body = IdentityView),
    )
)]
#[put("/me/identity")]
pub async fn put_identity(
    auth: Authenticated,
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<IdentityBody>,
) -> ApiResult<HttpResponse> {
    let view =
        identity::verify_identity(&state.db, deps(&state), &caller, &auth.0, &body.0).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Set the profile
///
/// Personal information. `address` must equal the KTP address exactly.
///
/// Domicile, education, occupation and employment: the eligibility rules read them
/// (API.md › Fixed names lists the vocabularies).
///
/// Saving the profile is also the year's data confirmation: it clears
/// `data_review_due` of `GET /v1/me` until next year (DOMAIN.md §11).
#[utoipa::path(
    tag = "registration",
    security(("bearer" = [])),
    request_body = ProfileBody,
    responses(
        (status = 200, body = ProfileView),
    )
)]
#[put("/me/profile")]
pub async fn put_profile(
    auth: Authenticated,
    state: web::Data<AppState>,
    body: JsonBody<ProfileBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok()
        .json(service::set_profile(&mut conn, deps(&state), &auth.0, &body.0).await?))
}

/// Confirm the personal data (yearly data check)
///
/// DOMAIN.md §11: a participant registered in an earlier year is asked, once a
/// year, whether their profile, domicile, education and occupation still
/// match their current KTP (`data_review_due` in `GET /v1/me`). When nothing
/// changed, the app sends `{"confirmed": true}` here; when something did, it
/// sends `PUT /v1/me/profile` instead, which counts as the confirmation too.
/// Identity (NIK, name, date of birth) never changes this way.
///
/// Answers 200 with the Asia/Jakarta date recorded (service clock);
/// `data_review_due` stays false until the next year. Repeating the call is
/// harmless. `confirmed: false` is 422 `validation_failed`; without a stored
/// profile there is nothing to confirm: 409 `registration_incomplete`.
#[utoipa::path(
    tag = "registration",
    security(("bearer" = [])),
    request_body = DataReviewBody,
    responses(
        (status = 200, body = DataReviewView),
    )
)]
#[post("/me/data-review")]
pub async fn post_data_review(
    auth: Authenticated,
    state: web::Data<AppState>,
    body: JsonBody<DataReviewBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let today = state.clock.today_jakarta();
    Ok(HttpResponse::Ok()
        .json(service::confirm_data(&mut conn, today, &auth.0, body.0.confirmed).await?))
}

/// Upload the e-KTP photo
///
/// The e-KTP photo: the raw JPEG or PNG bytes as the body (at most 1 MiB),
/// recognised by content. Stored encrypted; a new upload replaces the old.
#[utoipa::path(
    tag = "registration",
    security(("bearer" = [])),
    request_body(description = "The raw JPEG or PNG bytes (at most 1 MiB)", content((ImageUpload = "image/jpeg"), (ImageUpload = "image/png"))),
    responses(
        (status = 204, description = "Stored"),
    )
)]
#[put("/me/ktp-photo")]
pub async fn put_ktp_photo(
    auth: Authenticated,
    state: web::Data<AppState>,
    image: ImageBody<ONE_MIB>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    service::set_ktp_photo(&mut conn, deps(&state), &auth.0, image.kind, &image.bytes).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Enroll the face
///
/// Face scan with liveness: the raw JPEG or PNG selfie (at most 1 MiB). The face
/// service's reference is kept for the face checks before training. Frozen once
/// the participant has joined a wave.
///
/// Each call reaches the face service: at most 20 enrollment calls per account in any
/// 24 hours (then 429 `rate_limited` with Retry-After).
#[utoipa::path(
    tag = "registration",
    security(("bearer" = [])),
    request_body(description = "The raw JPEG or PNG selfie (at most 1 MiB)", content((ImageUpload = "image/jpeg"), (ImageUpload = "image/png"))),
    responses(
        (status = 200, body = FaceEnrollmentView),
    )
)]
#[post("/me/face-enrollment")]
pub async fn post_face_enrollment(
    auth: Authenticated,
    state: web::Data<AppState>,
    image: ImageBody<ONE_MIB>,
) -> ApiResult<HttpResponse> {
    let view = service::enroll_face(&state.db, deps(&state), &auth.0, &image.bytes).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Answer the questionnaire
///
/// Motivation and preferred training or skills.
///
/// A new answer replaces the old one.
#[utoipa::path(
    tag = "registration",
    security(("bearer" = [])),
    request_body = QuestionnaireBody,
    responses(
        (status = 200, body = QuestionnaireView),
    )
)]
#[put("/me/questionnaire")]
pub async fn put_questionnaire(
    auth: Authenticated,
    state: web::Data<AppState>,
    body: JsonBody<QuestionnaireBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(service::set_questionnaire(&mut conn, now, &auth.0, body.0).await?))
}

/// Sign the statement
///
/// The signed statement (declaration) about one's situation; `agreed` must be true.
#[utoipa::path(
    tag = "registration",
    security(("bearer" = [])),
    request_body = StatementBody,
    responses(
        (status = 200, body = StatementView),
    )
)]
#[put("/me/statement")]
pub async fn put_statement(
    auth: Authenticated,
    state: web::Data<AppState>,
    body: JsonBody<StatementBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok()
        .json(service::sign_statement(&mut conn, now, &auth.0, body.0.agreed).await?))
}

/// The aptitude test (TKD)
///
/// The basic aptitude test (TKD): at least 20 questions with their options
/// (never the answers). Public, so apps can show it before login.
#[utoipa::path(tag = "registration", responses((status = 200, body = AptitudeTest)))]
#[get("/aptitude-test")]
pub async fn get_aptitude_test(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(service::aptitude_test(&mut conn).await?))
}

/// Submit the aptitude test
///
/// Submits the aptitude test once, with every question answered (`option` is the
/// option's id). The score is kept; there is no pass mark.
#[utoipa::path(
    tag = "registration",
    security(("bearer" = [])),
    request_body = AptitudeSubmission,
    responses(
        (status = 201, body = AptitudeResult),
    )
)]
#[post("/aptitude-test/submissions")]
pub async fn post_aptitude_submission(
    auth: Authenticated,
    state: web::Data<AppState>,
    body: JsonBody<AptitudeSubmission>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let result = service::submit_aptitude(&mut conn, now, &auth.0, &body.0).await?;
    Ok(HttpResponse::Created().json(result))
}

/// Eligibility today
///
/// Whether the participant is eligible today (Asia/Jakarta date on the service
/// clock), with every failing rule.
///
/// Reasons: identity_not_verified, age_out_of_range, in_formal_education,
/// excluded_occupation, past_beneficiary, kk_limit_reached.
#[utoipa::path(
    tag = "registration",
    security(("bearer" = [])),
    responses((status = 200, body = Eligibility, example = json!({"eligible": false, "reasons": ["in_formal_education"]})))
)]
#[get("/me/eligibility")]
pub async fn get_eligibility(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let today = state.clock.today_jakarta();
    let mut conn = state.db.get().await?;
    let view = service::eligibility(&mut conn, &state.pii, auth.0.account_id, today).await?;
    Ok(HttpResponse::Ok().json(view))
}
