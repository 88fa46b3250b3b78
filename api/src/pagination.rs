//! Cursor pagination: `?limit=` (default 20, max 100) and `?cursor=`, answered as
//! `{data, next_cursor}`. Cursors are opaque to clients; inside they hold the
//! (created_at, id) of the last row sent, so pages stay stable while rows are added.
//! Their text has a fixed form that the document states as a pattern, so a
//! client (or a fuzzer) that sends a well-formed cursor never gets 422: the
//! microseconds of `created_at`, `_`, the id as 32 lowercase hex digits.

use chrono::{DateTime, Utc};
use diesel::{
    sql_types::{Timestamptz, Uuid as SqlUuid},
    BoolExpressionMethods, Expression, ExpressionMethods,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;

/// `limit` and `cursor` query parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page; omit (or leave empty) for the first page.
    #[param(
        pattern = "^([0-9]{1,16}_[0-9a-f]{32})?$",
        example = "1784426400000000_5f0c6f5e8a4b4a579f430c7d2d0b9e11"
    )]
    pub cursor: Option<String>,
}

/// `limit` and `cursor` of a list in insertion order (the sandbox inbox): the
/// cursor is a sequence number.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeqPageParams {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page; omit (or leave empty) for the first page.
    #[param(pattern = "^([0-9]{1,18})?$", example = "42")]
    pub cursor: Option<String>,
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The position after which the next page starts (newest first ordering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// Encodes the cursor for clients.
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        )
    }

    /// Decodes a client's cursor: exactly the form `encode` writes (the pattern
    /// of the `cursor` parameter), nothing looser.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (micros, id) = s.split_once('_')?;
        let digits = |t: &str, max: usize| {
            !t.is_empty() && t.len() <= max && t.bytes().all(|b| b.is_ascii_digit())
        };
        let hex = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !digits(micros, 16) || !hex {
            return None;
        }
        Some(Cursor {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: Uuid::try_parse(id).ok()?,
        })
    }
}

impl Cursor {
    /// A position in a list ordered by a non-negative integer key (a price, a
    /// rank in millionths) and the id: the same text form, the key where the
    /// microseconds are, so one `cursor` parameter and pattern serve every list.
    pub fn from_key(key: i64, id: Uuid) -> Cursor {
        Cursor {
            created_at: DateTime::from_timestamp_micros(key.max(0)).unwrap_or_default(),
            id,
        }
    }

    /// The integer key of a cursor made by [`Cursor::from_key`].
    pub fn key(&self) -> i64 {
        self.created_at.timestamp_micros()
    }
}

/// The rows after `cursor` in a list ordered by `(time, id)` newest first:
/// `time < c.time OR (time = c.time AND id < c.id)`. The one cursor filter of
/// every such list, so a page boundary between two rows of the same instant
/// neither repeats nor skips a row.
pub fn before<T, I>(time: T, id: I, cursor: Cursor) -> Before<T, I>
where
    T: ExpressionMethods + Copy + Expression<SqlType = Timestamptz>,
    I: ExpressionMethods + Expression<SqlType = SqlUuid>,
{
    time.lt(cursor.created_at)
        .or(time.eq(cursor.created_at).and(id.lt(cursor.id)))
}

/// The rows after `cursor` in a list ordered by `(time, id)` oldest first
/// (a change feed): `time > c.time OR (time = c.time AND id > c.id)`.
pub fn after<T, I>(time: T, id: I, cursor: Cursor) -> After<T, I>
where
    T: ExpressionMethods + Copy + Expression<SqlType = Timestamptz>,
    I: ExpressionMethods + Expression<SqlType = SqlUuid>,
{
    time.gt(cursor.created_at)
        .or(time.eq(cursor.created_at).and(id.gt(cursor.id)))
}

/// The expression [`after`] builds.
pub type After<T, I> = diesel::dsl::Or<
    diesel::dsl::Gt<T, DateTime<Utc>>,
    diesel::dsl::And<diesel::dsl::Eq<T, DateTime<Utc>>, diesel::dsl::Gt<I, Uuid>>,
>;

/// The expression [`before`] builds.
pub type Before<T, I> = diesel::dsl::Or<
    diesel::dsl::Lt<T, DateTime<Utc>>,
    diesel::dsl::And<diesel::dsl::Eq<T, DateTime<Utc>>, diesel::dsl::Lt<I, Uuid>>,
>;

/// Validated paging request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Cursor>,
}

impl PageParams {
    /// Checks `limit` and `cursor` (422 naming the parameter otherwise).
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::field("limit", "must be between 1 and 100"));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) if c.is_empty() => None,
            Some(c) => Some(Cursor::decode(c).ok_or_else(|| {
                ApiError::new(ErrorCode::ValidationFailed).with_errors(vec![
                    crate::error::FieldError {
                        field: "cursor".into(),
                        message: "is not a cursor this API issued".into(),
                    },
                ])
            })?),
        };
        Ok(PageRequest { limit, after })
    }
}

/// A position in a list ordered by a sequence number (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqCursor(pub i64);

impl SeqCursor {
    /// Encodes the cursor for clients.
    pub fn encode(self) -> String {
        self.0.to_string()
    }

    /// Decodes a client's cursor (1 to 18 digits, the parameter's pattern).
    pub fn decode(s: &str) -> Option<SeqCursor> {
        if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(SeqCursor(s.parse().ok()?))
    }
}

impl SeqPageParams {
    /// Checks `limit` and a sequence `cursor` (for lists ordered by insertion).
    pub fn parse_seq(&self) -> Result<(i64, Option<SeqCursor>), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::field("limit", "must be between 1 and 100"));
        }
        match self.cursor.as_deref() {
            None | Some("") => Ok((limit, None)),
            Some(c) => SeqCursor::decode(c)
                .map(|c| (limit, Some(c)))
                .ok_or_else(|| ApiError::field("cursor", "is not a cursor this API issued")),
        }
    }
}

impl PageRequest {
    /// How many rows to fetch: one more than the page, to know if another follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the extra row and builds the page; `key` gives each row's position.
    pub fn page<R, T>(
        &self,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> Cursor,
        view: impl Fn(R) -> T,
    ) -> Page<T> {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|r| key(r).encode())
        } else {
            None
        };
        Page {
            data: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not-a-cursor"), None);
        // Only the exact form: no uppercase, hyphenated or over-long parts.
        let upper = c.encode().to_uppercase();
        assert_eq!(Cursor::decode(&upper), None);
        assert_eq!(Cursor::decode(&format!("1_{}", c.id.hyphenated())), None);
        assert_eq!(
            Cursor::decode(&format!("12345678901234567_{}", c.id.simple())),
            None
        );
        assert_eq!(
            SeqCursor::decode(&SeqCursor(42).encode()),
            Some(SeqCursor(42))
        );
        assert_eq!(SeqCursor::decode("+1"), None);
    }

    #[test]
    fn limit_defaults_to_20_and_is_capped_at_100() {
        assert_eq!(PageParams::default().parse().unwrap().limit, 20);
        assert!(PageParams {
            limit: Some(100),
            cursor: None
        }
        .parse()
        .is_ok());
        assert!(PageParams {
            limit: Some(101),
            cursor: None
        }
        .parse()
        .is_err());
        assert!(PageParams {
            limit: Some(0),
            cursor: None
        }
        .parse()
        .is_err());
    }

    #[test]
    fn page_sets_next_cursor_only_when_more_rows_exist() {
        let req = PageRequest {
            limit: 2,
            after: None,
        };
        let t = DateTime::from_timestamp_micros(1).unwrap();
        let rows: Vec<Cursor> = (0..3)
            .map(|_| Cursor {
                created_at: t,
                id: Uuid::new_v4(),
            })
            .collect();
        let page = req.page(rows.clone(), |r| *r, |r| r.id);
        assert_eq!(page.data.len(), 2);
        assert_eq!(page.next_cursor, Some(rows[1].encode()));
        let page = req.page(rows[..2].to_vec(), |r| *r, |r| r.id);
        assert_eq!(page.next_cursor, None);
    }
}
