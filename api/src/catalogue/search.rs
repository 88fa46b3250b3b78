//! `GET /v1/courses`: keyword search with filters, ranked, cursor-paginated.
//!
//! Matching: PostgreSQL full-text search with the `prakerja_search`
//! configuration (`simple` + unaccent: Indonesian has no stemmer in PostgreSQL,
//! and `simple` keeps every word, short ones like "web" and "ai" included), each
//! keyword as a prefix ("digit" finds "Digital"), all keywords required; OR a
//! trigram word match of the whole query against the title for typos
//! ("pemograman" finds "Pemrograman"). Ranking: `ts_rank` over the weighted
//! document (title, then category and institution, then description) plus the
//! trigram similarity to the title.
//!
//! Each sort has an integer key, so the page boundary is an exact keyset
//! (`(key, id)` after the cursor's), written as the pagination module's cursor.

use diesel::{
    sql_types::{BigInt, Integer, Nullable, Text, Uuid as SqlUuid},
    QueryableByName,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    model::{Course, CourseLevel, COURSE_COLUMNS},
    views::CourseView,
};
use crate::{
    db::text_enum,
    error::ApiError,
    pagination::{Cursor, Page, PageRequest},
    purchases::rules::Delivery,
};

text_enum! {
    /// The order of `GET /v1/courses`.
    pub enum CourseSort {
        /// Best match first (the default with `q`; without `q`, as `starts_at`).
        Relevance => "relevance",
        /// Soonest start first (the default without `q`).
        StartsAt => "starts_at",
        /// Cheapest first.
        PriceAsc => "price_asc",
        /// Dearest first.
        PriceDesc => "price_desc",
        /// Best rated first (unrated last).
        Rating => "rating",
    }
}

/// Longest `q` accepted.
const MAX_QUERY_CHARS: usize = 200;
/// At most this many keywords count (the rest of a pasted paragraph is ignored).
const MAX_KEYWORDS: usize = 8;

/// `GET /v1/courses` filters (all optional, combined with AND).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CourseQuery {
    /// Keywords (up to 200 characters): every word must match a word of the
    /// title, category, institution or description by its start, accents
    /// ignored; or the whole query must closely match the title (typos).
    #[param(example = "pemasaran digital", max_length = 200)]
    #[serde(default, deserialize_with = "crate::http::query::text")]
    pub q: Option<String>,
    #[param(inline)]
    pub delivery: Option<Delivery>,
    /// Lowest price, rupiah (inclusive).
    #[param(minimum = 0, example = 100000)]
    pub min_price_idr: Option<i64>,
    /// Highest price, rupiah (inclusive).
    #[param(minimum = 0, example = 1000000)]
    pub max_price_idr: Option<i64>,
    /// Lowest average rating (1 to 5, inclusive); unrated courses are left out.
    #[param(minimum = 0, maximum = 5, example = 4)]
    pub min_rating: Option<f64>,
    #[param(inline)]
    pub level: Option<CourseLevel>,
    /// Longest duration in hours (inclusive).
    #[param(minimum = 1, example = 20)]
    pub max_duration_hours: Option<i32>,
    /// `relevance` (the default with `q`), `starts_at` (the default without),
    /// `price_asc`, `price_desc`, `rating`.
    #[param(inline)]
    pub sort: Option<CourseSort>,
}

/// The keywords of `q`: its words (letters and digits only, so nothing of the
/// tsquery syntax gets through), lower-cased, at most [`MAX_KEYWORDS`].
pub(crate) fn keywords(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_KEYWORDS)
        .map(str::to_lowercase)
        .collect()
}

/// The keywords of `q` as a tsquery text: each a prefix, all required. None
/// when `q` holds no word.
pub fn prefix_query(q: &str) -> Option<String> {
    let words = keywords(q);
    (!words.is_empty()).then(|| {
        words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    })
}

/// The checked request.
struct Search {
    tsquery: Option<String>,
    /// The keywords for the trigram match, one space between them.
    phrase: Option<String>,
    sort: CourseSort,
}

fn check(query: &CourseQuery) -> Result<Search, ApiError> {
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
        return Err(ApiError::field("q", "must be at most 200 characters"));
    }
    for (field, value) in [
        ("min_price_idr", query.min_price_idr),
        ("max_price_idr", query.max_price_idr),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(ApiError::field(field, "must not be negative"));
        }
    }
    if let (Some(lo), Some(hi)) = (query.min_price_idr, query.max_price_idr) {
        if lo > hi {
            return Err(ApiError::field(
                "min_price_idr",
                "must not exceed max_price_idr",
            ));
        }
    }
    if query.min_rating.is_some_and(|r| !(0.0..=5.0).contains(&r)) {
        return Err(ApiError::field("min_rating", "must be between 0 and 5"));
    }
    if query.max_duration_hours.is_some_and(|h| h < 1) {
        return Err(ApiError::field("max_duration_hours", "must be at least 1"));
    }
    let tsquery = q.and_then(prefix_query);
    let phrase = q.map(|q| keywords(q).join(" ")).filter(|p| !p.is_empty());
    let sort = match query.sort {
        Some(CourseSort::Relevance) | None if tsquery.is_some() => CourseSort::Relevance,
        Some(CourseSort::Relevance) | None => CourseSort::StartsAt,
        Some(sort) => sort,
    };
    Ok(Search {
        tsquery,
        phrase,
        sort,
    })
}

/// The sort key of each sort (an integer, larger or smaller first) and whether
/// the list runs descending.
fn key_expr(sort: CourseSort) -> (&'static str, bool) {
    match sort {
        // Rank to 6 decimals: exact integer keyset, ties broken by id.
        CourseSort::Relevance => (
            "((ts_rank(c.search, to_tsquery('prakerja_search', $1)) \
               + word_similarity($2, prakerja_unaccent(lower(c.title)))) * 1000000)::bigint",
            true,
        ),
        CourseSort::StartsAt => ("(extract(epoch FROM c.starts_at) * 1000000)::bigint", false),
        CourseSort::PriceAsc => ("c.price_idr", false),
        CourseSort::PriceDesc => ("c.price_idr", true),
        CourseSort::Rating => (
            "CASE WHEN c.rating_count > 0 THEN c.rating_sum * 1000000 / c.rating_count ELSE 0 END",
            true,
        ),
    }
}

/// The SQL of a search: parameters $1 tsquery, $2 phrase, $3 delivery, $4 min
/// price, $5 max price, $6 min rating ×1000 (integer), $7 level, $8 max hours,
/// $9 cursor key, $10 cursor id, $11 limit. Public for the benchmark, which
/// replays exactly this statement with pgbench.
pub fn search_sql(sort: CourseSort, keyword: bool) -> String {
    let (key, descending) = key_expr(sort);
    let matching = if keyword {
        "AND (c.search @@ to_tsquery('prakerja_search', $1) \
              OR $2 <% prakerja_unaccent(lower(c.title)))"
    } else {
        // $1 and $2 are bound but unused (typed binds, so PostgreSQL accepts that).
        ""
    };
    let (cmp, order) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    format!(
        "SELECT {COURSE_COLUMNS}, sort_key FROM ( \
           SELECT c.*, {key} AS sort_key FROM courses c \
           WHERE ($3::text IS NULL OR c.delivery = $3) \
             AND ($4::bigint IS NULL OR c.price_idr >= $4) \
             AND ($5::bigint IS NULL OR c.price_idr <= $5) \
             AND ($6::int IS NULL OR (c.rating_count > 0 AND c.rating_sum * 1000 >= $6::bigint * c.rating_count)) \
             AND ($7::text IS NULL OR c.level = $7) \
             AND ($8::int IS NULL OR c.duration_hours <= $8) \
             {matching} \
         ) s \
         WHERE $9::bigint IS NULL OR (sort_key, id) {cmp} ($9, $10::uuid) \
         ORDER BY sort_key {order}, id {order} \
         LIMIT $11"
    )
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(embed)]
    course: Course,
    #[diesel(sql_type = BigInt)]
    sort_key: i64,
}

/// One page of the catalogue.
pub async fn search(
    conn: &mut AsyncPgConnection,
    query: &CourseQuery,
    page: PageRequest,
) -> Result<Page<CourseView>, ApiError> {
    let search = check(query)?;
    let sql = search_sql(search.sort, search.tsquery.is_some());
    // min_rating as thousandths: an exact integer comparison with the sums.
    let min_rating = query.min_rating.map(|r| (r * 1000.0).round() as i32);
    let rows: Vec<Found> = diesel::sql_query(sql)
        .bind::<Nullable<Text>, _>(search.tsquery.as_deref())
        .bind::<Nullable<Text>, _>(search.phrase.as_deref())
        .bind::<Nullable<Text>, _>(query.delivery)
        .bind::<Nullable<BigInt>, _>(query.min_price_idr)
        .bind::<Nullable<BigInt>, _>(query.max_price_idr)
        .bind::<Nullable<Integer>, _>(min_rating)
        .bind::<Nullable<Text>, _>(query.level)
        .bind::<Nullable<Integer>, _>(query.max_duration_hours)
        .bind::<Nullable<BigInt>, _>(page.after.map(|c| c.key()))
        .bind::<Nullable<SqlUuid>, _>(page.after.map(|c| c.id))
        .bind::<BigInt, _>(page.fetch_limit())
        .load(conn)
        .await?;
    Ok(page.page(
        rows,
        |r| Cursor::from_key(r.sort_key, r.course.id),
        |r| CourseView::from(r.course),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_become_prefixes_and_syntax_is_dropped() {
        assert_eq!(
            prefix_query("Pemasaran Digital").as_deref(),
            Some("pemasaran:* & digital:*")
        );
        assert_eq!(
            prefix_query("kopi & (teh | !susu):*").as_deref(),
            Some("kopi:* & teh:* & susu:*")
        );
        assert_eq!(prefix_query("café").as_deref(), Some("café:*"));
        assert_eq!(prefix_query(" -&|! "), None);
        assert_eq!(
            prefix_query("a b c d e f g h i j")
                .unwrap()
                .matches(":*")
                .count(),
            MAX_KEYWORDS
        );
    }

    fn query(q: Option<&str>, sort: Option<CourseSort>) -> CourseQuery {
        CourseQuery {
            q: q.map(str::to_owned),
            sort,
            ..CourseQuery::default()
        }
    }

    #[test]
    fn relevance_is_the_default_only_with_keywords() {
        assert_eq!(
            check(&query(Some("kopi"), None)).unwrap().sort,
            CourseSort::Relevance
        );
        assert_eq!(
            check(&query(None, None)).unwrap().sort,
            CourseSort::StartsAt
        );
        assert_eq!(
            check(&query(Some("  "), Some(CourseSort::Relevance)))
                .unwrap()
                .sort,
            CourseSort::StartsAt
        );
        assert_eq!(
            check(&query(Some("kopi"), Some(CourseSort::PriceAsc)))
                .unwrap()
                .sort,
            CourseSort::PriceAsc
        );
    }

    #[test]
    fn filters_out_of_range_are_refused() {
        let bad = [
            CourseQuery {
                min_price_idr: Some(-1),
                ..Default::default()
            },
            CourseQuery {
                min_price_idr: Some(10),
                max_price_idr: Some(5),
                ..Default::default()
            },
            CourseQuery {
                min_rating: Some(5.5),
                ..Default::default()
            },
            CourseQuery {
                max_duration_hours: Some(0),
                ..Default::default()
            },
            CourseQuery {
                q: Some("x".repeat(201)),
                ..Default::default()
            },
        ];
        for q in bad {
            assert!(check(&q).is_err(), "{q:?}");
        }
    }
}
