//! Vacancy rows: the job board's upsert by external id, and reads of one.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, Date, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::{schema::vacancies, text_enum};

text_enum! {
    /// A vacancy's kind of employment (API.md Help and jobs).
    pub enum EmploymentType {
        FullTime => "full_time",
        PartTime => "part_time",
        Contract => "contract",
        Internship => "internship",
        Freelance => "freelance",
    }
}

/// A vacancy row (every column but the generated ones).
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = vacancies)]
pub struct Vacancy {
    pub id: Uuid,
    pub partner_id: Uuid,
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
    pub closes_on: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`Vacancy`], for raw SQL (prefixed with `v.` where joined).
pub const VACANCY_COLUMNS: &str = "id, partner_id, external_id, title, company, description, \
     requirements, province_code, regency_code, employment_type, skills, apply_url, closes_on, \
     created_at, updated_at";

/// A vacancy as the job board sends it, checked.
#[derive(Debug)]
pub struct NewVacancy<'a> {
    pub title: &'a str,
    pub company: &'a str,
    pub description: &'a str,
    pub requirements: &'a str,
    pub province_code: &'a str,
    pub regency_code: &'a str,
    pub employment_type: EmploymentType,
    pub skills: Vec<String>,
    pub apply_url: &'a str,
    pub closes_on: NaiveDate,
}

/// An upsert's outcome.
#[derive(Debug, QueryableByName)]
pub struct Upserted {
    #[diesel(embed)]
    pub vacancy: Vacancy,
    /// True when the row is new (201), false when an existing one was replaced (200).
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub created: bool,
}

/// Creates or replaces vacancy `external_id` of `partner_id` in one statement
/// (two PUTs at once cannot both create it). The id and `created_at` survive a
/// replacement.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    partner_id: Uuid,
    external_id: &str,
    v: &NewVacancy<'_>,
    now: DateTime<Utc>,
) -> QueryResult<Upserted> {
    diesel::sql_query(format!(
        "INSERT INTO vacancies (id, partner_id, external_id, title, company, description, requirements, \
             province_code, regency_code, employment_type, skills, apply_url, closes_on, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
         ON CONFLICT (partner_id, external_id) DO UPDATE SET \
             title = EXCLUDED.title, company = EXCLUDED.company, description = EXCLUDED.description, \
             requirements = EXCLUDED.requirements, province_code = EXCLUDED.province_code, \
             regency_code = EXCLUDED.regency_code, employment_type = EXCLUDED.employment_type, \
             skills = EXCLUDED.skills, apply_url = EXCLUDED.apply_url, closes_on = EXCLUDED.closes_on, \
             updated_at = EXCLUDED.updated_at \
         RETURNING {VACANCY_COLUMNS}, (xmax = 0) AS created"
    ))
    .bind::<SqlUuid, _>(Uuid::new_v4())
    .bind::<SqlUuid, _>(partner_id)
    .bind::<Text, _>(external_id)
    .bind::<Text, _>(v.title)
    .bind::<Text, _>(v.company)
    .bind::<Text, _>(v.description)
    .bind::<Text, _>(v.requirements)
    .bind::<Text, _>(v.province_code)
    .bind::<Text, _>(v.regency_code)
    .bind::<Text, _>(v.employment_type)
    .bind::<Array<Text>, _>(&v.skills)
    .bind::<Text, _>(v.apply_url)
    .bind::<Date, _>(v.closes_on)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await
}

/// Vacancy `id`, open or closed.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Vacancy>> {
    vacancies::table
        .find(id)
        .select(Vacancy::as_select())
        .first(conn)
        .await
        .optional()
}
