//! Selection benchmark: seeds N registered applicants into a wave on a fresh
//! database, then times `batches::selection::run` (ranking, eligibility,
//! family-card limit, cards, ledger credits, notifications: one transaction).
//!
//!   cargo run --release -p prakerja-bench --bin selection-bench -- 100000 1000000
//!
//! Each argument is an applicant count; the quota is 10% of it (a realistic
//! wave), and `--quota-all` makes every applicant a winner (the worst case for
//! the writes). DATABASE_URL names the server (default local trust auth).
//! `bash bench/run.sh` is the one-command runner; bench/README.md says what
//! the figures mean.
//!
//! After each run the outcome is checked (nothing left pending, one card,
//! one balanced credit and one notification per winner), so a faster run
//! that drops work fails here instead of looking good.

use std::{collections::HashMap, time::Instant};

use chrono::{Duration, NaiveDate, Utc};
use diesel::sql_types::{Array, Bytea, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use prakerja_api::{config::Settings, crypto::PiiCipher, registration::model::aad};
use rand::{Rng, RngCore};
use uuid::Uuid;

const CHUNK: usize = 20_000;

fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_for(db: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(&server_url())?;
    url.set_path(&format!("/{db}"));
    Ok(url.to_string())
}

/// Peak resident memory of this process so far, in MiB (Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Starts the peak-memory count afresh, so each size reports its own peak.
fn reset_peak_rss() {
    // "5" resets VmHWM (Linux >= 4.0); elsewhere the peak is cumulative.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Fails unless the run left the wave in the state selection promises.
async fn check_outcome(
    conn: &mut AsyncPgConnection,
    n: usize,
    selected: i64,
    not_selected: i64,
) -> anyhow::Result<()> {
    let count = |sql: &'static str| diesel::dsl::sql::<diesel::sql_types::BigInt>(sql);
    let checks: [(&str, &str, i64); 6] = [
        ("pending applications", "(SELECT count(*) FROM applications WHERE status = 'pending')", 0),
        ("selected applications", "(SELECT count(*) FROM applications WHERE status = 'selected')", selected),
        ("not selected applications", "(SELECT count(*) FROM applications WHERE status = 'not_selected')", not_selected),
        ("cards", "(SELECT count(*) FROM cards)", selected),
        ("beneficiary notifications", "(SELECT count(*) FROM notifications WHERE template = 'beneficiary_selected')", selected),
        (
            "balanced credit entries",
            "(SELECT count(*) FROM (SELECT e.id FROM journal_entries e JOIN ledger_postings p ON p.entry_id = e.id \
              WHERE e.kind = 'credit' GROUP BY e.id HAVING sum(p.amount_idr) = 0 AND count(*) = 2) AS t)",
            selected,
        ),
    ];
    for (what, sql, want) in checks {
        let got: i64 = diesel::dsl::select(count(sql)).get_result(conn).await?;
        anyhow::ensure!(got == want, "{what}: {got}, expected {want}");
    }
    anyhow::ensure!(
        selected + not_selected == n as i64,
        "{selected} + {not_selected} decided of {n}"
    );
    Ok(())
}

fn random_bytes(rng: &mut impl RngCore, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

async fn seed(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    batch: Uuid,
    n: usize,
) -> anyhow::Result<()> {
    let mut rng = rand::thread_rng();
    let now = Utc::now();
    let mut done = 0;
    while done < n {
        let m = CHUNK.min(n - done);
        let ids: Vec<Uuid> = (0..m).map(|_| Uuid::new_v4()).collect();
        let emails: Vec<String> = ids
            .iter()
            .map(|id| format!("{}@bench.example", id.simple()))
            .collect();
        let birth: Vec<Vec<u8>> = ids
            .iter()
            .map(|id| {
                // Mostly adults, some too young or too old, as in a real wave.
                let year = rng.gen_range(1958..=2010);
                let date =
                    NaiveDate::from_ymd_opt(year, rng.gen_range(1..=12), rng.gen_range(1..=28))
                        .unwrap_or_default();
                pii.encrypt_str(&date.to_string(), &aad("identities", "birth_date", *id))
            })
            .collect();
        let niks: Vec<Vec<u8>> = (0..m).map(|_| random_bytes(&mut rng, 32)).collect();
        // Families of about 2.5 people: KK indexes drawn from a pool.
        let kks: Vec<Vec<u8>> = (0..m)
            .map(|_| {
                let family: u64 = rng.gen_range(0..(n as u64 * 2 / 5).max(1));
                let mut k = family.to_be_bytes().to_vec();
                k.resize(32, 0);
                k
            })
            .collect();
        let blob = vec![0u8; 48];
        let occupations: Vec<&str> = (0..m)
            .map(|_| {
                if rng.gen_ratio(1, 50) {
                    "civil_servant"
                } else {
                    "unemployed"
                }
            })
            .collect();
        let applications: Vec<Uuid> = (0..m).map(|_| Uuid::new_v4()).collect();
        diesel::sql_query(
            "INSERT INTO accounts (id, email, password_hash, role, email_verified_at, phone_verified_at, created_at, updated_at) \
             SELECT id, e, 'x', 'participant', $3, $3, $3, $3 FROM unnest($1::uuid[], $2::text[]) AS t(id, e)",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&emails)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO identities (account_id, nik_index, kk_index, nik_ciphertext, kk_ciphertext, birth_date_ciphertext, \
               full_name_ciphertext, birth_place_ciphertext, address_ciphertext, gender, province_code, regency_code, verified_at) \
             SELECT id, nik, kk, $5, $5, b, $5, $5, $5, 'male', '31', '3174', $6 \
             FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::bytea[]) AS t(id, nik, kk, b)",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Bytea>, _>(&niks)
        .bind::<Array<Bytea>, _>(&kks)
        .bind::<Array<Bytea>, _>(&birth)
        .bind::<Bytea, _>(&blob)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO profiles (account_id, domicile_province_code, domicile_regency_code, education_level, \
               in_formal_education, occupation, employment_status, updated_at) \
             SELECT id, '31', '3174', 'sma', false, o, 'unemployed', $3 FROM unnest($1::uuid[], $2::text[]) AS t(id, o)",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&occupations)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO applications (id, batch_id, account_id, created_at) \
             SELECT a, $3, id, $4 FROM unnest($1::uuid[], $2::uuid[]) AS t(a, id)",
        )
        .bind::<Array<SqlUuid>, _>(&applications)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<SqlUuid, _>(batch)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
        done += m;
    }
    Ok(())
}

async fn run(n: usize, quota_all: bool) -> anyhow::Result<()> {
    let db = format!("bench_selection_{}", Uuid::new_v4().simple());
    let mut admin = AsyncPgConnection::establish(&url_for("postgres")?).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await?;
    let url = url_for(&db)?;
    prakerja_api::db::run_migrations(&url).await?;
    let vars: HashMap<String, String> = [("APP_ENV", "sandbox"), ("DATABASE_URL", url.as_str())]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    // The run needs only a connection (a direct one: no statement timeout) and
    // the PII cipher: no web app, no pool.
    let pii = Settings::from_map(&vars)?.pii_keys.cipher();
    let mut conn = AsyncPgConnection::establish(&url).await?;
    let quota = if quota_all { n } else { (n / 10).max(1) };
    let batch = Uuid::new_v4();
    let now = Utc::now();
    diesel::sql_query(
        "INSERT INTO batches (id, name, opens_at, closes_at, quota, training_idr, incentive_monthly_idr, incentive_months, \
           survey_incentive_idr, survey_count, created_at, updated_at) \
         VALUES ($1, 'bench', $2, $3, $4, 1000000, 600000, 4, 50000, 3, $2, $2)",
    )
    .bind::<SqlUuid, _>(batch)
    .bind::<Timestamptz, _>(now - Duration::days(2))
    .bind::<Timestamptz, _>(now - Duration::days(1))
    .bind::<diesel::sql_types::Integer, _>(quota as i32)
    .execute(&mut conn)
    .await?;
    let started = Instant::now();
    seed(&mut conn, &pii, batch, n).await?;
    // A wave's applications arrive over weeks, so by selection day autovacuum
    // has visited them: vacuum now, rather than let autovacuum (and the first
    // reads setting hint bits) run inside the measurement, and checkpoint so
    // the seeding's writes are not flushed during it. CHECKPOINT needs
    // superuser or pg_checkpoint; without it the run just starts later.
    conn.batch_execute("VACUUM ANALYZE").await?;
    if let Err(e) = conn.batch_execute("CHECKPOINT").await {
        eprintln!("no CHECKPOINT before the run ({e})");
    }
    let seeded = started.elapsed();
    // What the run itself holds (the seeding's buffers are gone by now).
    reset_peak_rss();
    let started = Instant::now();
    // The run is audited: it needs an admin (the audit row's actor).
    let admin_id = Uuid::new_v4();
    diesel::sql_query(
        "INSERT INTO accounts (id, email, password_hash, role, email_verified_at, created_at, updated_at) \
         VALUES ($1, 'bench-admin@bench.example', 'x', 'admin', now(), now(), now())",
    )
    .bind::<SqlUuid, _>(admin_id)
    .execute(&mut conn)
    .await?;
    let pmo = prakerja_api::auth::Principal {
        account_id: admin_id,
        session_id: Uuid::new_v4(),
        role: prakerja_api::auth::Role::Admin,
    };
    let caller = prakerja_api::http::Caller::internal();
    let result = prakerja_api::batches::selection::run(
        &mut conn,
        &pii,
        &caller,
        &pmo,
        batch,
        Utc::now(),
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("selection failed: {e}"))?;
    let took = started.elapsed();
    check_outcome(&mut conn, n, result.selected, result.not_selected).await?;
    let rss = peak_rss_mib().map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0} MiB"));
    println!(
        "selection: {n:>8} applicants, quota {quota:>8}: {:>7.2} s  ({} selected, {} not selected; \
         seeding took {:.1} s; peak RSS of the run {rss})",
        took.as_secs_f64(),
        result.selected,
        result.not_selected,
        seeded.as_secs_f64()
    );
    drop(conn);
    admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quota_all = args.iter().any(|a| a == "--quota-all");
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![100_000]
    } else {
        sizes
    };
    for n in sizes {
        run(n, quota_all).await?;
    }
    Ok(())
}
