//! Databases of the benchmarks: URLs, creation from a seeded template, removal.

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// The server the benchmarks use (`DATABASE_URL`, default local trust auth).
pub fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of database `db` on that server.
pub fn url_for(db: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(&server_url())?;
    url.set_path(&format!("/{db}"));
    Ok(url.to_string())
}

pub async fn connect(db: &str) -> anyhow::Result<AsyncPgConnection> {
    Ok(AsyncPgConnection::establish(&url_for(db)?).await?)
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Databases whose name starts with `prefix`.
pub async fn databases(prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut admin = connect("postgres").await?;
    let rows: Vec<Name> =
        diesel::sql_query("SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1)")
            .bind::<Text, _>(prefix)
            .load(&mut admin)
            .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

pub async fn create(db: &str, template: Option<&str>) -> anyhow::Result<()> {
    let mut admin = connect("postgres").await?;
    let sql = match template {
        // A file copy (PostgreSQL 15+): seconds for gigabytes, where the default
        // strategy would write the whole template through the WAL.
        Some(t) => format!("CREATE DATABASE {db} TEMPLATE {t} STRATEGY FILE_COPY"),
        None => format!("CREATE DATABASE {db}"),
    };
    admin.batch_execute(&sql).await?;
    Ok(())
}

pub async fn drop(db: &str) -> anyhow::Result<()> {
    let mut admin = connect("postgres").await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await?;
    Ok(())
}

/// A name for a seeded template that changes whenever the schema or the
/// seeding does, so a stale template is never reused.
/// `BENCH_SCHEMA_KEY` (bench/run.sh sets it to a hash of migrations/) names the
/// schema; without it, the newest migration's version does.
pub fn template_name(kind: &str, n: usize, seeder_version: u32) -> String {
    let schema = std::env::var("BENCH_SCHEMA_KEY")
        .ok()
        .or_else(prakerja_api::db::latest_embedded_migration)
        .unwrap_or_default();
    let schema: String = schema
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    format!("bench_tpl_{kind}_{n}_{schema}_v{seeder_version}")
}

/// `SELECT count(*)`-style probe.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<i64> {
    let row: Count = diesel::sql_query(sql).get_result(conn).await?;
    Ok(row.n)
}
