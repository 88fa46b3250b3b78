//! The catalogue's routes: the partner's course upsert, and the public search
//! and course page.

use actix_web::{get, put, web, HttpResponse};
use chrono::Datelike;
use uuid::Uuid;

use super::{
    model,
    reviews::{self, CourseDetail},
    search::{self, CourseQuery},
    views::{CourseBody, CourseView},
};
use crate::{
    contract::Operation,
    error::{ApiError, ApiResult, ErrorCode},
    pagination::{Page, PageParams},
    partners::{model::PartnerCapability, SignedPartner},
    purchases::rules::Delivery,
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = &[
    Operation::new("upsert_course", &[ErrorCode::Forbidden]),
    Operation::new("list_courses", &[]),
    Operation::new("get_course", &[]),
];

/// Search the catalogue
///
/// Courses of every platform, for anyone (no token needed). `q` searches by
/// keyword: each word must be the start of a word of the title, category,
/// institution or description (accents and case ignored: `cafe` finds `Café`),
/// or the whole `q` must closely match a run of words of the title (typos:
/// `pemograman` finds `Pemrograman`). The filters combine with AND.
///
/// Order (`sort`): `relevance` (the default with `q`: title matches first, then
/// category and institution, then description, plus closeness to the title),
/// `starts_at` (the default without `q`: soonest first), `price_asc`,
/// `price_desc`, `rating` (best average first, unrated last); ties by id. Keep
/// `q`, the filters and `sort` the same while paging with `cursor`.
///
/// `rating_average` and `rating_count` are kept in the course by each review.
#[utoipa::path(
    operation_id = "list_courses",
    tag = "catalogue",
    params(CourseQuery, PageParams),
    responses((status = 200, body = Page<CourseView>))
)]
#[get("/courses")]
pub async fn list_courses(
    state: web::Data<AppState>,
    query: web::Query<CourseQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(search::search(&mut conn, &query, page).await?))
}

/// One course
///
/// The course with its rating and its 10 most recent reviews, newest first;
/// each reviewer shows as first name and initial (`Budi S.`). 404 `not_found`
/// for an unknown id.
#[utoipa::path(
    operation_id = "get_course",
    tag = "catalogue",
    params(("id" = Uuid, Path, description = "Course id")),
    responses((status = 200, body = CourseDetail))
)]
#[get("/courses/{id}")]
pub async fn get_course(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let detail = reviews::course_detail(&mut conn, &state.pii, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// The platform's own course ids: letters, digits and `._~:-`, 1 to 128
/// characters (safe to put in a path unescaped, so the signed path is the one
/// the platform wrote).
pub(crate) const EXTERNAL_ID_PATTERN: &str = "^[A-Za-z0-9._~:-]{1,128}$";

/// Years a course may start in: wider than any real catalogue, narrow enough
/// that a typo (year 0202) is caught and every start fits the list's cursor.
const START_YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

pub(crate) fn valid_external_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b':' | b'-'))
}

/// Create or replace a course
///
/// The course `external_id` of the calling platform, created (201) or replaced
/// whole (200); either way the answer is the catalogue entry, whose `id` is the
/// `course_id` of purchases. A platform sees and changes only its own courses
/// (another platform's `external_id` is a different course). A purchase keeps the
/// terms it was sold with: a change applies to new buyers only.
///
/// `location` is required for `offline` and must be absent or null online, and
/// `starts_at` must be in the years 2000 to 2099 (422 naming the field). Only a
/// platform with the `training` capability publishes courses (403 `forbidden`).
#[utoipa::path(
    operation_id = "upsert_course",
    tag = "catalogue",
    security(("partner_id" = [], "partner_timestamp" = [], "partner_signature" = [])),
    params((
        "external_id" = String, Path,
        description = "The platform's own id of the course",
        pattern = "^[A-Za-z0-9._~:-]{1,128}$",
        example = "UMKM-101"
    )),
    request_body = CourseBody,
    responses(
        (status = 200, description = "Replaced.", body = CourseView),
        (status = 201, description = "Created.", body = CourseView),
    )
)]
#[put("/partner/courses/{external_id}")]
pub async fn upsert_course(
    partner: SignedPartner,
    state: web::Data<AppState>,
    external_id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    partner.require(PartnerCapability::Training)?;
    let body: CourseBody = partner.json()?;
    let external_id = external_id.into_inner();
    if !valid_external_id(&external_id) {
        return Err(ApiError::field(
            "external_id",
            format!("must match {EXTERNAL_ID_PATTERN}"),
        ));
    }
    if !(START_YEARS).contains(&body.starts_at.year()) {
        return Err(ApiError::field(
            "starts_at",
            "must be in the years 2000 to 2099",
        ));
    }
    match (body.delivery, &body.location) {
        (Delivery::Offline, None) => {
            return Err(ApiError::field(
                "location",
                "is required for offline training",
            ))
        }
        (Delivery::Webinar | Delivery::SelfPaced, Some(_)) => {
            return Err(ApiError::field(
                "location",
                "must be absent for online training (webinar, self_paced)",
            ))
        }
        _ => {}
    }
    let mut conn = state.db.get().await?;
    let upserted = model::upsert(
        &mut conn,
        partner.partner_id,
        &external_id,
        &body,
        state.clock.now(),
    )
    .await?;
    let view = CourseView::from(upserted.course);
    Ok(if upserted.created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[cfg(test)]
mod tests {
    use super::{valid_external_id, EXTERNAL_ID_PATTERN};

    #[test]
    fn external_id_check_agrees_with_its_pattern() {
        let re = regex::Regex::new(EXTERNAL_ID_PATTERN).unwrap();
        let long = "a".repeat(129);
        for id in [
            "UMKM-101",
            "a",
            "x.y_z~1:2",
            "",
            "a b",
            "a/b",
            "é",
            "a%2F",
            long.as_str(),
        ] {
            assert_eq!(valid_external_id(id), re.is_match(id), "{id:?}");
        }
    }
}
