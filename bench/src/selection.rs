//! The selection benchmark: one call of `batches::selection::run` on a closed
//! wave of N applicants, from the start of its transaction to the commit, as
//! `POST /v1/admin/batches/{id}/selection` runs it minus HTTP.
//!
//! Each size is seeded once into a template database (kept between runs while
//! the schema and the seeding stay the same); every run gets a file copy of it,
//! so runs start alike, and the second run checks that the same seed decided
//! every application the same way (winners, reasons and family-card slots).
//! After each run the outcome is checked, so a faster run that drops work fails
//! here instead of looking good.

use std::{collections::HashMap, time::Instant};

use chrono::Utc;
use diesel::sql_types::{Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use prakerja_api::{config::Settings, crypto::PiiCipher};
use uuid::Uuid;

use crate::{db, seed};

/// Bump when the seeded data changes, so old templates are not reused.
const SEEDER_VERSION: u32 = 1;

/// One timed run.
pub struct RunResult {
    pub seconds: f64,
    /// CPU time of the PostgreSQL backends of the run's database during it
    /// (less sensitive than wall time to other work on the machine).
    pub backend_cpu: f64,
    pub selected: i64,
    pub not_selected: i64,
    pub digest: String,
    pub peak_rss_mib: Option<f64>,
}

/// Peak resident memory of this process so far, in MiB (Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Starts the peak-memory count afresh, so each run reports its own peak.
fn reset_peak_rss() {
    // "5" resets VmHWM (Linux >= 4.0); elsewhere the peak is cumulative.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The sandbox PII cipher: seeding encrypts with it, selection decrypts.
pub fn sandbox_pii() -> anyhow::Result<PiiCipher> {
    let vars: HashMap<String, String> = [
        ("APP_ENV", "sandbox"),
        ("DATABASE_URL", "postgres://unused"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Ok(Settings::from_map(&vars)?.pii_keys.cipher())
}

/// The seeded template for `n` applicants (created when missing).
pub async fn template(n: usize) -> anyhow::Result<String> {
    let name = db::template_name("selection", n, SEEDER_VERSION);
    let prefix = format!("bench_tpl_selection_{n}_");
    for old in db::databases(&prefix).await? {
        if old != name {
            db::drop(&old).await?;
        }
    }
    if db::databases(&name).await?.contains(&name) {
        return Ok(name);
    }
    let building = format!("bench_seeding_{}", Uuid::new_v4().simple());
    db::create(&building, None).await?;
    let url = db::url_for(&building)?;
    prakerja_api::db::run_migrations(&url).await?;
    let pii = sandbox_pii()?;
    let mut conn = db::connect(&building).await?;
    let started = Instant::now();
    let batch = seed::closed_wave(&mut conn, (n / 10).max(1), Utc::now()).await?;
    seed::participants(&mut conn, &pii, batch, n, seed::Population::Realistic, "x").await?;
    // A wave's applications arrive over weeks, so by selection day autovacuum
    // has visited them: vacuum now rather than inside the measurement.
    conn.batch_execute("VACUUM ANALYZE").await?;
    eprintln!(
        "seeded {n} applicants in {:.0} s (template {name}, kept for later runs)",
        started.elapsed().as_secs_f64()
    );
    drop(conn);
    let mut admin = db::connect("postgres").await?;
    admin
        .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
        .await?;
    Ok(name)
}

#[derive(diesel::QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// CPU seconds used so far by the server processes serving database `db`
/// (read from /proc, so only when the server runs on this machine).
async fn backend_cpu_seconds(conn: &mut AsyncPgConnection, db: &str) -> f64 {
    let pids: Vec<Pid> = diesel::sql_query("SELECT pid FROM pg_stat_activity WHERE datname = $1")
        .bind::<Text, _>(db)
        .load(conn)
        .await
        .unwrap_or_default();
    // utime + stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (100 Hz on Linux).
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{}/stat", p.pid)).ok())
        .filter_map(|stat| {
            let after = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = after.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .sum()
}

/// Fails unless the run left the wave in the state selection promises.
async fn check_outcome(
    conn: &mut AsyncPgConnection,
    n: usize,
    selected: i64,
    not_selected: i64,
) -> anyhow::Result<()> {
    let checks: [(&str, &str, i64); 7] = [
        ("pending applications", "SELECT count(*) AS n FROM applications WHERE status = 'pending'", 0),
        ("rows left in pending_applications", "SELECT count(*) AS n FROM pending_applications", 0),
        ("selected applications", "SELECT count(*) AS n FROM applications WHERE status = 'selected'", selected),
        ("not selected applications", "SELECT count(*) AS n FROM applications WHERE status = 'not_selected'", not_selected),
        ("cards", "SELECT count(*) AS n FROM cards", selected),
        (
            "beneficiary notifications",
            "SELECT count(*) AS n FROM notifications WHERE template = 'beneficiary_selected'",
            selected,
        ),
        (
            "credited cards",
            "SELECT count(*) AS n FROM cards c JOIN ledger_accounts l ON l.card_id = c.id \
             JOIN ledger_postings p ON p.account_id = l.id JOIN journal_entries e ON e.id = p.entry_id \
             WHERE e.kind = 'credit' AND p.amount_idr = 1000000 AND l.balance_idr = 1000000",
            selected,
        ),
    ];
    for (what, sql, want) in checks {
        let got = db::count(conn, sql).await?;
        anyhow::ensure!(got == want, "{what}: {got}, expected {want}");
    }
    let unbalanced = db::count(
        conn,
        "SELECT count(*) AS n FROM (SELECT entry_id FROM ledger_postings GROUP BY entry_id HAVING sum(amount_idr) <> 0) t",
    )
    .await?;
    anyhow::ensure!(unbalanced == 0, "{unbalanced} unbalanced journal entries");
    let over = db::count(
        conn,
        "SELECT count(*) AS n FROM (SELECT kk_index FROM cards GROUP BY kk_index HAVING count(*) > 2) t",
    )
    .await?;
    anyhow::ensure!(
        over == 0,
        "{over} family cards with more than 2 beneficiaries"
    );
    anyhow::ensure!(
        selected + not_selected == n as i64,
        "{selected} + {not_selected} decided of {n}"
    );
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Digest {
    #[diesel(sql_type = Text)]
    digest: String,
}

/// SHA-256 over every application's decision and every card's family slot, in
/// id order: equal digests mean the runs decided byte for byte alike.
async fn outcome_digest(conn: &mut AsyncPgConnection) -> anyhow::Result<String> {
    let row: Digest = diesel::sql_query(
        "SELECT encode(sha256(string_agg(x, '\\x00'::bytea ORDER BY k, t)), 'hex') AS digest FROM ( \
           SELECT uuid_send(id) AS k, 0 AS t, \
                  uuid_send(id) || convert_to(status || ':' || coalesce(decision_reason, ''), 'UTF8') AS x \
             FROM applications \
           UNION ALL \
           SELECT uuid_send(application_id), 1, uuid_send(application_id) || kk_index || int2send(kk_slot) FROM cards) t",
    )
    .get_result(conn)
    .await?;
    Ok(row.digest)
}

/// One run on a fresh copy of the template; `quota` overrides the wave's.
pub async fn run_once(template: &str, n: usize, quota: usize) -> anyhow::Result<RunResult> {
    let db_name = format!("bench_selection_{}", Uuid::new_v4().simple());
    db::create(&db_name, Some(template)).await?;
    let result = async {
        let pii = sandbox_pii()?;
        let mut conn = db::connect(&db_name).await?;
        diesel::sql_query("UPDATE batches SET quota = $1")
            .bind::<Integer, _>(i32::try_from(quota)?)
            .execute(&mut conn)
            .await?;
        // The run is audited: it needs an admin (the audit row's actor).
        let admin_id = Uuid::new_v4();
        diesel::sql_query(
            "INSERT INTO accounts (id, email, password_hash, role, email_verified_at, created_at, updated_at) \
             VALUES ($1, 'bench-admin@bench.example', 'x', 'admin', now(), now(), now())",
        )
        .bind::<SqlUuid, _>(admin_id)
        .execute(&mut conn)
        .await?;
        // Start with nothing to flush: the copy's pages are written out, so a
        // checkpoint does not land inside the measurement by chance. CHECKPOINT
        // needs superuser or pg_checkpoint; without it the run just starts later.
        if let Err(e) = conn.batch_execute("CHECKPOINT").await {
            eprintln!("no CHECKPOINT before the run ({e})");
        }
        let batch: Uuid = {
            #[derive(diesel::QueryableByName)]
            struct Id {
                #[diesel(sql_type = SqlUuid)]
                id: Uuid,
            }
            diesel::sql_query("SELECT id FROM batches")
                .get_result::<Id>(&mut conn)
                .await?
                .id
        };
        let pmo = prakerja_api::auth::Principal {
            account_id: admin_id,
            session_id: Uuid::new_v4(),
            role: prakerja_api::auth::Role::Admin,
        };
        let caller = prakerja_api::http::Caller::internal();
        // The run's own connection, as the route's: checked out for it alone.
        let mut run_conn = db::connect(&db_name).await?;
        reset_peak_rss();
        let backends_before = backend_cpu_seconds(&mut conn, &db_name).await;
        let started = Instant::now();
        let result = prakerja_api::batches::selection::run(
            &mut run_conn,
            &pii,
            &caller,
            &pmo,
            batch,
            Utc::now(),
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("selection failed: {e}"))?;
        let seconds = started.elapsed().as_secs_f64();
        // Read while the run's backend still lives (its CPU goes with it);
        // parallel workers of the load query have exited and are not counted.
        let backend_cpu = backend_cpu_seconds(&mut conn, &db_name).await - backends_before;
        drop(run_conn);
        let peak_rss_mib = peak_rss_mib();
        check_outcome(&mut conn, n, result.selected, result.not_selected).await?;
        let digest = outcome_digest(&mut conn).await?;
        anyhow::Ok(RunResult {
            seconds,
            backend_cpu,
            selected: result.selected,
            not_selected: result.not_selected,
            digest,
            peak_rss_mib,
        })
    }
    .await;
    db::drop(&db_name).await?;
    result
}

/// `prakerja-bench selection`: each size with a 10% quota, or every applicant
/// a possible winner; two runs each, the second checking the first's outcome.
pub async fn main(sizes: &[usize], quota_all: bool, runs: usize) -> anyhow::Result<()> {
    for &n in sizes {
        let template = template(n).await?;
        let quota = if quota_all { n } else { (n / 10).max(1) };
        let mut results: Vec<RunResult> = Vec::new();
        for _ in 0..runs.max(1) {
            results.push(run_once(&template, n, quota).await?);
        }
        let first = &results[0];
        let same = results.iter().all(|r| r.digest == first.digest);
        let times: Vec<String> = results
            .iter()
            .map(|r| format!("{:.2}", r.seconds))
            .collect();
        let cpu: Vec<String> = results
            .iter()
            .map(|r| format!("{:.2}", r.backend_cpu))
            .collect();
        let rss = results
            .iter()
            .filter_map(|r| r.peak_rss_mib)
            .fold(0.0f64, f64::max);
        println!(
            "selection n={n} quota={quota} selected={} not_selected={} seconds={} db_cpu_seconds={} identical_reruns={} peak_rss_mib={rss:.0} load={}",
            first.selected,
            first.not_selected,
            times.join(","),
            cpu.join(","),
            if results.len() < 2 { "n/a" } else if same { "yes" } else { "NO" },
            std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|l| l.split_whitespace().next().map(str::to_owned))
                .unwrap_or_default(),
        );
        anyhow::ensure!(same, "reruns with the same seed decided differently");
    }
    Ok(())
}
