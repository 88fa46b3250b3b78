//! Seeding participants with set-based SQL (20,000 per statement): accounts,
//! verified identities with encrypted dates of birth, profiles, and one
//! pending application each in a wave that has closed.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::sql_types::{Array, Bytea, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use prakerja_api::{crypto::PiiCipher, registration::model::aad};
use rand::{Rng, RngCore};
use uuid::Uuid;

const CHUNK: usize = 20_000;

/// Who applies.
#[derive(Clone, Copy)]
pub enum Population {
    /// As in a real wave: born 1958–2010 (some too young or too old), 2% civil
    /// servants (excluded), families of about 2.5 people sharing a family card.
    Realistic,
    /// Everyone eligible and one family card each: every applicant can win
    /// (the server benchmarks want every participant to hold a card).
    AllEligible,
}

/// A closed wave with a fixed seed (so reruns rank alike), `quota` places.
pub async fn closed_wave(
    conn: &mut AsyncPgConnection,
    quota: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Uuid> {
    let batch = Uuid::new_v4();
    diesel::sql_query(
        "INSERT INTO batches (id, name, opens_at, closes_at, quota, training_idr, incentive_monthly_idr, incentive_months, \
           survey_incentive_idr, survey_count, seed, created_at, updated_at) \
         VALUES ($1, 'bench', $2, $3, $4, 1000000, 600000, 4, 50000, 3, sha256(uuid_send($1)), $2, $2)",
    )
    .bind::<SqlUuid, _>(batch)
    .bind::<Timestamptz, _>(now - Duration::days(2))
    .bind::<Timestamptz, _>(now - Duration::days(1))
    .bind::<Integer, _>(i32::try_from(quota)?)
    .execute(conn)
    .await?;
    Ok(batch)
}

fn random_bytes(rng: &mut impl RngCore, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

/// Seeds `n` participants who applied to `batch`. Returns their account ids.
/// `password_hash` is stored for every account (a real argon2 PHC string when
/// logins are measured).
pub async fn participants(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    batch: Uuid,
    n: usize,
    population: Population,
    password_hash: &str,
) -> anyhow::Result<Vec<Uuid>> {
    let mut rng = rand::thread_rng();
    let now = Utc::now();
    let mut all = Vec::with_capacity(n);
    let mut done = 0;
    while done < n {
        let m = CHUNK.min(n - done);
        let ids: Vec<Uuid> = (0..m).map(|_| Uuid::new_v4()).collect();
        let emails: Vec<String> = ids.iter().map(|id| email_of(*id)).collect();
        let birth: Vec<Vec<u8>> = ids
            .iter()
            .map(|id| {
                let year = match population {
                    Population::Realistic => rng.gen_range(1958..=2010),
                    Population::AllEligible => rng.gen_range(1970..=2000),
                };
                let date =
                    NaiveDate::from_ymd_opt(year, rng.gen_range(1..=12), rng.gen_range(1..=28))
                        .unwrap_or_default();
                pii.encrypt_str(&date.to_string(), &aad("identities", "birth_date", *id))
            })
            .collect();
        let niks: Vec<Vec<u8>> = (0..m).map(|_| random_bytes(&mut rng, 32)).collect();
        let kks: Vec<Vec<u8>> = (0..m)
            .map(|_| match population {
                // Families of about 2.5 people: KK indexes drawn from a pool.
                Population::Realistic => {
                    let family: u64 = rng.gen_range(0..(n as u64 * 2 / 5).max(1));
                    let mut k = family.to_be_bytes().to_vec();
                    k.resize(32, 0);
                    k
                }
                Population::AllEligible => random_bytes(&mut rng, 32),
            })
            .collect();
        let blob = vec![0u8; 48];
        let occupations: Vec<&str> = (0..m)
            .map(|_| match population {
                Population::Realistic if rng.gen_ratio(1, 50) => "civil_servant",
                _ => "unemployed",
            })
            .collect();
        let applications: Vec<Uuid> = (0..m).map(|_| Uuid::new_v4()).collect();
        diesel::sql_query(
            "INSERT INTO accounts (id, email, password_hash, role, email_verified_at, phone_verified_at, created_at, updated_at) \
             SELECT id, e, $3, 'participant', $4, $4, $4, $4 FROM unnest($1::uuid[], $2::text[]) AS t(id, e)",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&emails)
        .bind::<Text, _>(password_hash)
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
            "WITH a AS (INSERT INTO applications (id, batch_id, account_id, created_at) \
                        SELECT a, $3, id, $4 FROM unnest($1::uuid[], $2::uuid[]) AS t(a, id) \
                        RETURNING id, account_id, batch_id) \
             INSERT INTO pending_applications (application_id, account_id, batch_id) SELECT id, account_id, batch_id FROM a",
        )
        .bind::<Array<SqlUuid>, _>(&applications)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<SqlUuid, _>(batch)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
        all.extend(ids);
        done += m;
    }
    Ok(all)
}

/// The email address of a seeded participant.
pub fn email_of(account: Uuid) -> String {
    format!("{}@bench.example", account.simple())
}
