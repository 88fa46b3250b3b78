//! Keeping fixed-text statements prepared.
//!
//! Diesel prepares a statement once per connection and reuses it, except for
//! the kinds it cannot prove bounded: every `UPDATE`, an insert with an
//! upsert clause or a variable number of rows, and raw SQL
//! (`diesel::sql_query`). Those are prepared, run and closed on every call:
//! with `diesel-async` that is one extra round trip to PostgreSQL plus a parse
//! and a plan, each time. On a purchase that was 9 of its 28 statements, and
//! it cost about as much database time as the statements themselves.
//!
//! [`prepared`] wraps such a statement whose SQL text does not change from
//! call to call (a fixed column list, a fixed number of rows, a `&'static`
//! SQL string) so it is cached by its SQL text like any other. Only wrap
//! statements whose text is bounded: each distinct text takes one cache slot
//! per connection for the connection's life.

use diesel::{
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    QueryResult,
};

/// A statement Diesel may keep prepared; see the module docs.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

/// Marks `query` as safe to keep prepared: its SQL text must not vary between
/// calls (the values are bind parameters, the shape is fixed).
pub fn prepared<Q>(query: Q) -> Prepared<Q> {
    Prepared(query)
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache keys these by their SQL text (and bind types).
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}
