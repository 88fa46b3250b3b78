//! `GET /v1/jobs`: open vacancies by keyword and place, cursor-paginated.
//!
//! Matching as the catalogue's (`catalogue::search`): full-text with the
//! `prakerja_search` configuration (`simple` + unaccent), each keyword a
//! prefix, all required; or a trigram word match of the whole query against
//! the title (typos). Ranking: `ts_rank` over the weighted document (title,
//! then company and skills, then description and requirements) plus the
//! trigram similarity to the title. Without keywords: the soonest closing
//! first. Each order has an integer key, so a page boundary is an exact keyset.

use chrono::NaiveDate;
use diesel::{
    sql_types::{BigInt, Date, Nullable, Text, Uuid as SqlUuid},
    QueryableByName,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    model::{EmploymentType, Vacancy, VACANCY_COLUMNS},
    views::VacancyView,
};
use crate::{
    catalogue::search::{keywords, prefix_query},
    error::ApiError,
    pagination::{Cursor, Page, PageRequest},
};

/// Longest `q` accepted.
const MAX_QUERY_CHARS: usize = 200;

/// `GET /v1/jobs` filters (all optional, combined with AND).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Keywords (up to 200 characters): every word must match a word of the
    /// title, company, skills, description or requirements by its start,
    /// accents ignored; or the whole query must closely match the title (typos).
    #[param(example = "penjahit", max_length = 200)]
    #[serde(default, deserialize_with = "crate::http::query::text")]
    pub q: Option<String>,
    /// The office's province (2 digits, as on the KTP).
    #[param(example = "31", pattern = "^[0-9]{2}$")]
    #[serde(default, deserialize_with = "crate::http::query::text")]
    pub province_code: Option<String>,
    /// The office's regency or city (4 digits).
    #[param(example = "3174", pattern = "^[0-9]{4}$")]
    #[serde(default, deserialize_with = "crate::http::query::text")]
    pub regency_code: Option<String>,
    #[param(inline)]
    pub employment_type: Option<EmploymentType>,
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `code` is a 2-digit province code.
pub fn province_code_ok(code: &str) -> bool {
    digits(code, 2)
}

/// Whether `code` is a 4-digit regency code.
pub fn regency_code_ok(code: &str) -> bool {
    digits(code, 4)
}

/// The checked request.
#[derive(Debug)]
struct Search {
    tsquery: Option<String>,
    phrase: Option<String>,
}

fn check(query: &JobQuery) -> Result<Search, ApiError> {
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
        return Err(ApiError::field("q", "must be at most 200 characters"));
    }
    if query
        .province_code
        .as_deref()
        .is_some_and(|c| !province_code_ok(c))
    {
        return Err(ApiError::field(
            "province_code",
            "must be a 2-digit province code",
        ));
    }
    if query
        .regency_code
        .as_deref()
        .is_some_and(|c| !regency_code_ok(c))
    {
        return Err(ApiError::field(
            "regency_code",
            "must be a 4-digit regency code",
        ));
    }
    Ok(Search {
        tsquery: q.and_then(prefix_query),
        phrase: q.map(|q| keywords(q).join(" ")).filter(|p| !p.is_empty()),
    })
}

/// The SQL of a search: $1 tsquery, $2 phrase, $3 today (Asia/Jakarta), $4
/// province, $5 regency, $6 employment type, $7 cursor key, $8 cursor id, $9
/// limit.
fn search_sql(keyword: bool) -> String {
    let (key, matching, cmp, order) = if keyword {
        (
            // Rank to 6 decimals: an exact integer keyset, ties broken by id.
            "((ts_rank(v.search, to_tsquery('prakerja_search', $1)) \
               + word_similarity($2, prakerja_unaccent(lower(v.title)))) * 1000000)::bigint",
            "AND (v.search @@ to_tsquery('prakerja_search', $1) \
                  OR $2 <% prakerja_unaccent(lower(v.title)))",
            "<",
            "DESC",
        )
    } else {
        // Days since 1970: the soonest closing first.
        ("(v.closes_on - DATE '1970-01-01')::bigint", "", ">", "ASC")
    };
    format!(
        "SELECT {VACANCY_COLUMNS}, sort_key FROM ( \
           SELECT v.*, {key} AS sort_key FROM vacancies v \
           WHERE v.closes_on >= $3 \
             AND ($4::text IS NULL OR v.province_code = $4) \
             AND ($5::text IS NULL OR v.regency_code = $5) \
             AND ($6::text IS NULL OR v.employment_type = $6) \
             {matching} \
         ) s \
         WHERE $7::bigint IS NULL OR (sort_key, id) {cmp} ($7, $8::uuid) \
         ORDER BY sort_key {order}, id {order} \
         LIMIT $9"
    )
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(embed)]
    vacancy: Vacancy,
    #[diesel(sql_type = BigInt)]
    sort_key: i64,
}

/// One page of open vacancies on `today` (an Asia/Jakarta date).
pub async fn search(
    conn: &mut AsyncPgConnection,
    query: &JobQuery,
    page: PageRequest,
    today: NaiveDate,
) -> Result<Page<VacancyView>, ApiError> {
    let search = check(query)?;
    let rows: Vec<Found> = diesel::sql_query(search_sql(search.tsquery.is_some()))
        .bind::<Nullable<Text>, _>(search.tsquery.as_deref())
        .bind::<Nullable<Text>, _>(search.phrase.as_deref())
        .bind::<Date, _>(today)
        .bind::<Nullable<Text>, _>(query.province_code.as_deref())
        .bind::<Nullable<Text>, _>(query.regency_code.as_deref())
        .bind::<Nullable<Text>, _>(query.employment_type)
        .bind::<Nullable<BigInt>, _>(page.after.map(|c| c.key()))
        .bind::<Nullable<SqlUuid>, _>(page.after.map(|c| c.id))
        .bind::<BigInt, _>(page.fetch_limit())
        .load(conn)
        .await?;
    Ok(page.page(
        rows,
        |r| Cursor::from_key(r.sort_key, r.vacancy.id),
        |r| VacancyView::of(r.vacancy, today),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_codes_and_long_queries_are_refused() {
        let bad = [
            JobQuery {
                province_code: Some("3".into()),
                ..Default::default()
            },
            JobQuery {
                province_code: Some("3a".into()),
                ..Default::default()
            },
            JobQuery {
                regency_code: Some("31740".into()),
                ..Default::default()
            },
            JobQuery {
                q: Some("x".repeat(201)),
                ..Default::default()
            },
        ];
        for q in bad {
            assert!(check(&q).is_err(), "{q:?}");
        }
        let ok = check(&JobQuery {
            q: Some("  Penjahit garmen ".into()),
            province_code: Some("31".into()),
            regency_code: Some("3174".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.tsquery.as_deref(), Some("penjahit:* & garmen:*"));
        assert_eq!(ok.phrase.as_deref(), Some("penjahit garmen"));
        assert!(check(&JobQuery::default()).unwrap().tsquery.is_none());
    }
}
