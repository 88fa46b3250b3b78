//! The database the server loads run against: N participants, every one a
//! beneficiary with a card (issued by the application's own selection run),
//! all with one known password, so logins verify a real argon2id hash.

use std::{io::Write, time::Instant};

use chrono::Utc;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use uuid::Uuid;

use crate::{db, seed, selection::sandbox_pii};

/// The password of every seeded participant.
pub const PASSWORD: &str = "bench password 1";

/// `prakerja-bench seed-server`: creates (afresh) database `name` with `n`
/// participants holding cards, and writes `out/login-bodies.jsonl` (one login
/// body per participant, for oha -Z) and `out/emails.txt`.
pub async fn main(name: &str, n: usize, out: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    db::drop(name).await?;
    db::create(name, None).await?;
    prakerja_api::db::run_migrations(&db::url_for(name)?).await?;
    let pii = sandbox_pii()?;
    let hash = prakerja_api::secrets::passwords::hash_blocking(PASSWORD)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut conn = db::connect(name).await?;
    let batch = seed::closed_wave(&mut conn, n, Utc::now()).await?;
    let accounts = seed::participants(
        &mut conn,
        &pii,
        batch,
        n,
        seed::Population::AllEligible,
        &hash,
    )
    .await?;
    // The cards, credits and notifications come from the application's selection.
    let admin = Uuid::new_v4();
    diesel::sql_query(
        "INSERT INTO accounts (id, email, password_hash, role, email_verified_at, created_at, updated_at) \
         VALUES ($1, 'bench-admin@bench.example', 'x', 'admin', now(), now(), now())",
    )
    .bind::<diesel::sql_types::Uuid, _>(admin)
    .execute(&mut conn)
    .await?;
    let pmo = prakerja_api::auth::Principal {
        account_id: admin,
        session_id: Uuid::new_v4(),
        role: prakerja_api::auth::Role::Admin,
    };
    let result = prakerja_api::batches::selection::run(
        &mut conn,
        &pii,
        &prakerja_api::http::Caller::internal(),
        &pmo,
        batch,
        Utc::now(),
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("selection failed: {e}"))?;
    anyhow::ensure!(
        result.selected == n as i64,
        "{} of {n} participants got a card",
        result.selected
    );
    // A steady state: the beneficiary emails went out long ago, so the
    // server's outbox worker has nothing to send during the loads.
    // One statement per call: several in one batch run as one implicit
    // transaction, and VACUUM refuses to run inside a transaction block.
    seal_identities(&mut conn, &pii, &accounts[..accounts.len().min(SEALED)]).await?;
    for sql in [
        "UPDATE notifications SET status = 'sent', sent_at = now()",
        "VACUUM ANALYZE",
        "CHECKPOINT",
    ] {
        conn.batch_execute(sql).await?;
    }
    std::fs::create_dir_all(out)?;
    let mut bodies =
        std::io::BufWriter::new(std::fs::File::create(format!("{out}/login-bodies.jsonl"))?);
    let mut emails = std::io::BufWriter::new(std::fs::File::create(format!("{out}/emails.txt"))?);
    for account in &accounts {
        let email = seed::email_of(*account);
        writeln!(
            bodies,
            "{}",
            serde_json::json!({ "email": email, "password": PASSWORD })
        )?;
        writeln!(emails, "{email}")?;
    }
    bodies.flush()?;
    emails.flush()?;
    eprintln!(
        "seeded {name}: {n} participants with cards in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Accounts at the head of `emails.txt` whose identity is sealed in full.
const SEALED: usize = 100;

/// Seals a whole identity (NIK, KK, name, birth place, address) for the
/// first accounts, which the server loads log in as: `GET /v1/me` opens them.
/// The bulk seed seals only the birth date, all that selection reads, and
/// leaves placeholders in the other columns to keep a million rows quick.
async fn seal_identities(
    conn: &mut diesel_async::AsyncPgConnection,
    pii: &prakerja_api::crypto::PiiCipher,
    accounts: &[Uuid],
) -> anyhow::Result<()> {
    use diesel::sql_types::{Bytea, Uuid as SqlUuid};
    use prakerja_api::registration::model::aad;
    for (i, account) in accounts.iter().enumerate() {
        let seal = |column: &str, value: &str| {
            pii.encrypt_str(value, &aad("identities", column, *account))
        };
        // Jakarta Timur (3174), district 05, born 15 May 1990 (a woman: day + 40).
        let nik = format!("3174055505{:06}", 900_000 + i);
        diesel::sql_query(
            "UPDATE identities SET nik_ciphertext = $2, kk_ciphertext = $3, full_name_ciphertext = $4, \
               birth_place_ciphertext = $5, address_ciphertext = $6 WHERE account_id = $1",
        )
        .bind::<SqlUuid, _>(*account)
        .bind::<Bytea, _>(seal("nik", &nik))
        .bind::<Bytea, _>(seal("kk_number", &format!("31740501010{:04}1", i)))
        .bind::<Bytea, _>(seal("full_name", "PESERTA UJI BEBAN"))
        .bind::<Bytea, _>(seal("birth_place", "JAKARTA"))
        .bind::<Bytea, _>(seal("address", "JL. PERCOBAAN NO. 1"))
        .execute(conn)
        .await?;
    }
    Ok(())
}
