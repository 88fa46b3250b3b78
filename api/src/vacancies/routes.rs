//! The job routes: the job board's vacancy upsert, the public search and
//! vacancy page, and the participant's recommendations.

use actix_web::{get, put, web, HttpResponse};
use chrono::Datelike;
use uuid::Uuid;

use super::{
    model::{self, NewVacancy},
    recommend,
    search::{self, province_code_ok, regency_code_ok, JobQuery},
    views::{Recommendations, VacancyBody, VacancyView},
};
use crate::{
    auth::Authenticated,
    catalogue::routes::{valid_external_id, EXTERNAL_ID_PATTERN},
    contract::Operation,
    error::{ApiError, ApiResult, ErrorCode},
    pagination::{Page, PageParams},
    partners::{model::PartnerCapability, SignedPartner},
    purchases::completion::https_url,
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = &[
    Operation::new("upsert_job", &[ErrorCode::Forbidden]),
    Operation::new("list_jobs", &[]),
    Operation::new("get_job", &[]),
    Operation::new("list_job_recommendations", &[]).participant_only(),
];

/// Years a vacancy may close in: narrow enough that a typo (year 0202) is
/// caught and every date fits the list's cursor.
const CLOSING_YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

/// Search open vacancies
///
/// Vacancies of every job board, for anyone (no token needed): only open ones,
/// whose `closes_on` is today or later (Asia/Jakarta date of the service
/// clock). `q` searches by keyword: each word must be the start of a word of
/// the title, company, skills, description or requirements (accents and case
/// ignored), or the whole `q` must closely match the title (typos). The place
/// filters and `employment_type` combine with AND.
///
/// Order: with `q`, by relevance (title matches first, then company and
/// skills, then description and requirements, plus closeness to the title);
/// without, the soonest closing first. Ties by id. Keep `q` and the filters the
/// same while paging with `cursor`.
#[utoipa::path(
    operation_id = "list_jobs",
    tag = "jobs",
    params(JobQuery, PageParams),
    responses((status = 200, body = Page<VacancyView>))
)]
#[get("/jobs")]
pub async fn list_jobs(
    state: web::Data<AppState>,
    query: web::Query<JobQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let today = state.clock.today_jakarta();
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(search::search(&mut conn, &query, page, today).await?))
}

/// One vacancy
///
/// The vacancy with its description, requirements and office location, for
/// anyone. A vacancy that has closed still answers (with `open: false`), so a
/// saved link or an old recommendation shows "closed" rather than vanishing;
/// the lists never show it. 404 `not_found` for an unknown id.
#[utoipa::path(
    operation_id = "get_job",
    tag = "jobs",
    params(("id" = Uuid, Path, description = "Vacancy id")),
    responses((status = 200, body = VacancyView))
)]
#[get("/jobs/{id}")]
pub async fn get_job(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let vacancy = model::find(&mut conn, id.into_inner())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound).detail("No vacancy has this id."))?;
    Ok(HttpResponse::Ok().json(VacancyView::of(vacancy, state.clock.today_jakarta())))
}

/// Job recommendations
///
/// Up to 20 open vacancies that fit the caller, best first, each with its
/// `score` and `reasons`. A vacancy is recommended when one of its skills
/// matches one of the caller's preferred skills (`PUT /v1/me/questionnaire`)
/// or the category of a training they completed (case, accents and repeated
/// spaces ignored). Score: 3 points per matching preferred skill, 2 per
/// matching training category, 4 when the vacancy is in the caller's domicile
/// province (`PUT /v1/me/profile`); ties go to the soonest closing. Nothing to
/// match (no questionnaire, no completed training, or no vacancy sharing a
/// skill) answers an empty list. One page only: `next_cursor` is always null.
#[utoipa::path(
    operation_id = "list_job_recommendations",
    tag = "jobs",
    security(("bearer" = [])),
    responses((status = 200, body = Recommendations))
)]
#[get("/me/job-recommendations")]
pub async fn list_job_recommendations(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let today = state.clock.today_jakarta();
    let mut conn = state.db.get().await?;
    let data = recommend::recommend(&mut conn, auth.0.account_id, today).await?;
    Ok(HttpResponse::Ok().json(Recommendations {
        data,
        next_cursor: None,
    }))
}

/// The body's rules JSON Schema cannot state: place codes, the vocabulary, the
/// URL and the closing year (422 naming the field).
fn check(body: &VacancyBody) -> ApiResult<NewVacancy<'_>> {
    if !province_code_ok(&body.province_code) {
        return Err(ApiError::field(
            "province_code",
            "must be a 2-digit province code",
        ));
    }
    if !regency_code_ok(&body.regency_code) || !body.regency_code.starts_with(&body.province_code) {
        return Err(ApiError::field(
            "regency_code",
            "must be a 4-digit regency code within the province",
        ));
    }
    let employment_type = body
        .employment_type
        .parse()
        .map_err(|m: String| ApiError::field("employment_type", m))?;
    // The scheme as written, too: the URL parser lower-cases `HTTPS:`, the
    // column's CHECK (and the schema's pattern) does not.
    if !body.apply_url.starts_with("https://") || !https_url(&body.apply_url) {
        return Err(ApiError::field(
            "apply_url",
            "must be an absolute https URL with a host",
        ));
    }
    if !CLOSING_YEARS.contains(&body.closes_on.year()) {
        return Err(ApiError::field(
            "closes_on",
            "must be in the years 2000 to 2099",
        ));
    }
    Ok(NewVacancy {
        title: &body.title,
        company: &body.company,
        description: &body.description,
        requirements: &body.requirements,
        province_code: &body.province_code,
        regency_code: &body.regency_code,
        employment_type,
        skills: body.skills.iter().map(|s| s.trim().to_owned()).collect(),
        apply_url: &body.apply_url,
        closes_on: body.closes_on,
    })
}

/// Create or replace a vacancy
///
/// The vacancy `external_id` of the calling job board, created (201) or
/// replaced whole (200); either way the answer is the vacancy as the job list
/// shows it, with its `id`. A job board sees and changes only its own vacancies
/// (another board's `external_id` is a different vacancy). To close a vacancy
/// early, send it with `closes_on` set to a past date.
///
/// Only a platform with the `jobs` capability publishes vacancies (403
/// `forbidden`). `regency_code` must lie within `province_code`,
/// `employment_type` must be one of the listed words, `apply_url` an absolute
/// https URL with a host and `closes_on` in the years 2000 to 2099 (422
/// `validation_failed` naming the field).
#[utoipa::path(
    operation_id = "upsert_job",
    tag = "jobs",
    security(("partner_id" = [], "partner_timestamp" = [], "partner_signature" = [])),
    params((
        "external_id" = String, Path,
        description = "The job board's own id of the vacancy",
        pattern = "^[A-Za-z0-9._~:-]{1,128}$",
        example = "PJ-2027-01"
    )),
    request_body = VacancyBody,
    responses(
        (status = 200, description = "Replaced.", body = VacancyView),
        (status = 201, description = "Created.", body = VacancyView),
    )
)]
#[put("/partner/jobs/{external_id}")]
pub async fn upsert_job(
    partner: SignedPartner,
    state: web::Data<AppState>,
    external_id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    partner.require(PartnerCapability::Jobs)?;
    let body: VacancyBody = partner.json()?;
    let external_id = external_id.into_inner();
    if !valid_external_id(&external_id) {
        return Err(ApiError::field(
            "external_id",
            format!("must match {EXTERNAL_ID_PATTERN}"),
        ));
    }
    let vacancy = check(&body)?;
    let mut conn = state.db.get().await?;
    let upserted = model::upsert(
        &mut conn,
        partner.partner_id,
        &external_id,
        &vacancy,
        state.clock.now(),
    )
    .await?;
    let view = VacancyView::of(upserted.vacancy, state.clock.today_jakarta());
    Ok(if upserted.created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}
