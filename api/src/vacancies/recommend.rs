//! `GET /v1/me/job-recommendations`: the open vacancies that best fit a
//! participant, in one SQL statement.
//!
//! The statement reads the participant's preferred skills (questionnaire), the
//! categories of their completed trainings (as each purchase recorded its
//! course's terms) and their domicile province (profile); selects the open
//! vacancies sharing a skill key with the first two (`&&` on the GIN-indexed
//! `skill_keys`); counts each candidate's matches, orders by the score of
//! `rules::score` (its weights bound as parameters) and keeps the best
//! [`rules::LIMIT`]; and lists, for those only, which skills and categories
//! matched as written. [`recommend`] then scores each with the rule and builds
//! its reasons.

use chrono::NaiveDate;
use diesel::{
    sql_types::{Array, BigInt, Bool, Date, Integer, Text, Uuid as SqlUuid},
    QueryableByName,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    model::Vacancy,
    rules::{self, Matches},
    views::{Recommendation, VacancyView},
};
use crate::error::ApiError;

/// The statement: $1 account id, $2 today (Asia/Jakarta), $3 skill points, $4
/// category points, $5 province points, $6 limit. Public for the benchmark,
/// which replays exactly this statement with pgbench.
pub const RECOMMENDATIONS_SQL: &str = "\
WITH mine AS MATERIALIZED ( \
  SELECT me.skill_keys, me.categories, prakerja_skill_keys(me.categories) AS category_keys, me.province_code \
  FROM (SELECT \
    coalesce((SELECT prakerja_skill_keys(q.preferred_skills) FROM questionnaires q WHERE q.account_id = $1), '{}') AS skill_keys, \
    coalesce((SELECT array_agg(DISTINCT p.course_terms->>'category') FROM purchases p \
              WHERE p.account_id = $1 AND p.status = 'completed' AND p.course_terms->>'category' IS NOT NULL), '{}') AS categories, \
    (SELECT pr.domicile_province_code FROM profiles pr WHERE pr.account_id = $1) AS province_code) me \
), wanted AS ( \
  SELECT DISTINCT k.key, k.kind FROM mine m, \
    LATERAL (SELECT unnest(m.skill_keys), 'skill' UNION ALL SELECT unnest(m.category_keys), 'category') AS k (key, kind) \
), candidates AS ( \
  SELECT v.id, v.closes_on, \
    (count(*) FILTER (WHERE w.kind = 'skill'))::int AS skill_count, \
    (count(*) FILTER (WHERE w.kind = 'category'))::int AS category_count, \
    (v.province_code = (SELECT province_code FROM mine)) IS TRUE AS same_province \
  FROM wanted w JOIN vacancies v ON v.skill_keys @> ARRAY[w.key] \
  WHERE v.closes_on >= $2 \
  GROUP BY v.id \
), top AS ( \
  SELECT c.*, $3 * c.skill_count + $4 * c.category_count + CASE WHEN c.same_province THEN $5 ELSE 0 END AS score \
  FROM candidates c \
  ORDER BY score DESC, c.closes_on, c.id \
  LIMIT $6 \
) \
SELECT v.id, v.partner_id, v.external_id, v.title, v.company, v.description, v.requirements, \
  v.province_code, v.regency_code, v.employment_type, v.skills, v.apply_url, v.closes_on, \
  v.created_at, v.updated_at, \
  t.skill_count, t.category_count, t.same_province, t.score, \
  ARRAY(SELECT s FROM unnest(v.skills) AS s WHERE prakerja_skill_key(s) = ANY (m.skill_keys)) AS matched_skills, \
  ARRAY(SELECT c FROM unnest(m.categories) AS c WHERE prakerja_skill_key(c) = ANY (v.skill_keys) ORDER BY c) AS matched_categories \
FROM top t JOIN vacancies v ON v.id = t.id CROSS JOIN mine m \
ORDER BY t.score DESC, v.closes_on, v.id";

#[derive(QueryableByName)]
struct Row {
    #[diesel(embed)]
    vacancy: Vacancy,
    #[diesel(sql_type = Integer)]
    skill_count: i32,
    #[diesel(sql_type = Integer)]
    category_count: i32,
    #[diesel(sql_type = Bool)]
    same_province: bool,
    #[diesel(sql_type = Integer)]
    score: i32,
    #[diesel(sql_type = Array<Text>)]
    matched_skills: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    matched_categories: Vec<String>,
}

/// The best open vacancies for `account_id` on `today`, best first.
pub async fn recommend(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    today: NaiveDate,
) -> Result<Vec<Recommendation>, ApiError> {
    let rows: Vec<Row> = diesel::sql_query(RECOMMENDATIONS_SQL)
        .bind::<SqlUuid, _>(account_id)
        .bind::<Date, _>(today)
        .bind::<Integer, _>(rules::SKILL_POINTS)
        .bind::<Integer, _>(rules::CATEGORY_POINTS)
        .bind::<Integer, _>(rules::PROVINCE_POINTS)
        .bind::<BigInt, _>(rules::LIMIT)
        .load(conn)
        .await?;
    let mut out: Vec<Recommendation> = rows
        .into_iter()
        .map(|r| {
            let matches = Matches {
                skills: r.matched_skills,
                skill_count: r.skill_count,
                categories: r.matched_categories,
                category_count: r.category_count,
                same_province: r.same_province,
            };
            let score = rules::score(&matches);
            debug_assert_eq!(score, r.score, "the query scores as rules::score does");
            Recommendation {
                reasons: rules::reasons(&matches, &r.vacancy.province_code),
                score,
                job: VacancyView::of(r.vacancy, today),
            }
        })
        .collect();
    rules::rank(&mut out, |r| (r.score, (r.job.closes_on, r.job.id)));
    Ok(out)
}
