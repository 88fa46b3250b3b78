//! Database access: the async connection pool, embedded migrations and the schema.
//!
//! Diesel runs through `diesel-async` on a `deadpool` pool (as crates.io and Lemmy
//! do), so queries never block the executor threads and one query function taking
//! `&mut AsyncPgConnection` runs alone or inside a caller's transaction.

mod prepared;
pub mod schema;
mod text_enum;

pub use prepared::{prepared, Prepared};

/// What a read runs on: a connection (`&mut AsyncPgConnection`, pooled or
/// not), or `&mut &AsyncPgConnection`, a shared borrow of one. Reads given
/// shared borrows of one connection and polled together (`try_join!`) go out
/// at once and come back in one round trip: diesel-async pipelines them
/// (`GET /v1/me` reads its five parts so).
pub trait Reader: diesel_async::AsyncConnectionCore<Backend = Pg> {}

impl<C: diesel_async::AsyncConnectionCore<Backend = Pg>> Reader for C {}
pub(crate) use text_enum::text_enum;

use std::time::Duration;

use anyhow::Context;
use diesel::{
    migration::MigrationSource,
    pg::Pg,
    sql_types::{BigInt, Text},
    QueryableByName,
};
use diesel_async::{
    pooled_connection::{
        deadpool::{Object, Pool},
        AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
    },
    AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;

/// The constraint (or unique index) a unique violation hit, by name; `None` for
/// any other error. Callers map only the constraint they expect to a domain
/// answer (`accounts_email_key` → `email_taken`) and let every other violation
/// surface as the bug it is.
pub fn unique_violation(e: &diesel::result::Error) -> Option<&str> {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            Some(info.constraint_name().unwrap_or_default())
        }
        _ => None,
    }
}

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// Arbitrary constant so that instances starting together migrate one at a time.
const MIGRATION_LOCK_ID: i64 = 0x7072_616b_6572_6a61; // "prakerja"

/// The shared pool of async Postgres connections.
pub type DbPool = Pool<AsyncPgConnection>;
/// A connection checked out of the pool.
pub type DbConn = Object<AsyncPgConnection>;

/// A pool that is not kept open by the one holding it (see [`DbPool::weak`]).
pub type WeakDbPool = deadpool::managed::WeakPool<AsyncDieselConnectionManager<AsyncPgConnection>>;

/// How an instance's `DATABASE_POOL_SIZE` connections are shared out: a
/// quarter (at least 2, never all) to the background jobs, and the rest
/// evenly to the HTTP workers, each at least one. Each worker has a pool of
/// its own because a connection's socket is driven by a task on the runtime
/// that opened it: a request served by one worker on another worker's
/// connection would wake that thread for every reply (a context switch per
/// round trip, a fifth of the server's CPU on `GET /v1/me` when measured).
pub fn pool_shares(total: usize, workers: usize) -> (usize, Vec<usize>) {
    let jobs = (total / 4).max(2).min(total.saturating_sub(1)).max(1);
    let rest = total.saturating_sub(jobs);
    let workers = workers.max(1);
    let shares = (0..workers)
        .map(|i| (rest / workers + usize::from(i < rest % workers)).max(1))
        .collect();
    (jobs, shares)
}

/// Builds the pool. Each new connection gets a `statement_timeout` so that a runaway
/// query cannot hold a connection forever, and UTC as its time zone.
pub fn build_pool(
    database_url: &str,
    size: usize,
    wait_timeout: Duration,
    statement_timeout: Duration,
) -> anyhow::Result<DbPool> {
    let statement_timeout_ms = statement_timeout.as_millis();
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    // A checked-out connection is not pinged (`SELECT 1`, one round trip per
    // checkout by default): it is handed out unless diesel-async saw it break.
    // A connection the server dropped while idle fails its next query, which
    // answers that request 503 and retires the connection.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            conn.batch_execute(&format!(
                "SET statement_timeout = {statement_timeout_ms}; SET TIME ZONE 'UTC';"
            ))
            .await
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(wait_timeout))
        .create_timeout(Some(wait_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// Applies pending migrations under an advisory lock, so instances starting at the
/// same time never run them twice. Returns the versions applied.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    let url = database_url.to_owned();
    // Diesel's migration harness is synchronous; run it on a blocking thread through
    // diesel-async's wrapper instead of linking libpq for a second driver.
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        use diesel::Connection;
        use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
            .context("connecting to run migrations")?;
        let lock =
            diesel::sql_query("SELECT pg_advisory_lock($1)").bind::<BigInt, _>(MIGRATION_LOCK_ID);
        diesel::RunQueryDsl::execute(lock, &mut conn).context("taking the migration lock")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(|v| v.to_string()).collect())
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"));
        let unlock =
            diesel::sql_query("SELECT pg_advisory_unlock($1)").bind::<BigInt, _>(MIGRATION_LOCK_ID);
        let _ = diesel::RunQueryDsl::execute(unlock, &mut conn);
        applied
    })
    .await
    .context("migration task panicked")?
}

/// Reverts every migration, newest first (used by the schema test of down paths).
pub async fn revert_all_migrations(database_url: &str) -> anyhow::Result<()> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use diesel::Connection;
        use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)?;
        conn.revert_all_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))?;
        Ok(())
    })
    .await?
}

/// The newest migration version compiled into this binary.
pub fn latest_embedded_migration() -> Option<String> {
    MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .ok()?
        .iter()
        .map(|m| m.name().version().to_string())
        .max()
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    version: Option<String>,
}

/// Whether the database has every migration of this binary applied.
pub async fn migrations_current(conn: &mut AsyncPgConnection) -> anyhow::Result<bool> {
    let Some(latest) = latest_embedded_migration() else {
        return Ok(true);
    };
    let applied: Version =
        diesel::sql_query("SELECT max(version) AS version FROM __diesel_schema_migrations")
            .get_result(conn)
            .await
            .context("reading applied migrations")?;
    Ok(applied.version.as_deref() == Some(latest.as_str()))
}

#[cfg(test)]
mod tests {
    use super::pool_shares;

    #[test]
    fn the_pool_is_shared_between_jobs_and_workers() {
        // (total, workers) → (jobs, each worker's share)
        type Case = ((usize, usize), (usize, &'static [usize]));
        let cases: [Case; 7] = [
            ((8, 2), (2, &[3, 3])),
            ((6, 1), (2, &[4])),
            ((16, 2), (4, &[6, 6])),
            ((20, 2), (5, &[8, 7])),
            ((9, 4), (2, &[2, 2, 2, 1])),
            ((2, 1), (1, &[1])),
            // Fewer connections than workers: each worker still gets one.
            ((1, 2), (1, &[1, 1])),
        ];
        for ((total, workers), (jobs, shares)) in cases {
            assert_eq!(
                pool_shares(total, workers),
                (jobs, shares.to_vec()),
                "{total} connections, {workers} workers"
            );
        }
    }
}
