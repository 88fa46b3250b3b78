//! The recommendations load: N open and closed vacancies of one job board,
//! skills drawn from a skewed vocabulary (a few skills are very common, as
//! "komunikasi" or "microsoft office" are on real boards), and the benchmark
//! participant's preferred skills set to common ones, so the candidate set is
//! large: the hard case of `GET /v1/me/job-recommendations`.

use chrono::Utc;
use diesel::sql_types::{Date, Integer, Uuid as SqlUuid};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use prakerja_api::{
    clock::jakarta_date,
    vacancies::{recommend::RECOMMENDATIONS_SQL, rules},
};
use uuid::Uuid;

use crate::db;

/// Skills in the vocabulary; skill k is drawn with a density falling as 1/sqrt(k).
const VOCABULARY: i32 = 200;
/// The benchmark participant's preferred skills: two of the most common and one rarer.
const PREFERRED: [&str; 3] = ["skill-000", "skill-001", "skill-040"];

/// `prakerja-bench seed-vacancies`: adds `n` vacancies to database `name` (90%
/// open today), gives `account` its preferred skills and a domicile in DKI
/// Jakarta (31), and writes `out/recommendations.sql`: the statement the route
/// runs for that account today, its parameters written in, for pgbench.
pub async fn main(name: &str, n: i32, account: Uuid, out: &str) -> anyhow::Result<()> {
    let mut conn = db::connect(name).await?;
    let today = jakarta_date(Utc::now());
    let partner = Uuid::new_v4();
    diesel::sql_query(
        "INSERT INTO partners (id, name, created_at, capabilities) \
         VALUES ($1, 'Bench job board', now(), '{jobs}')",
    )
    .bind::<SqlUuid, _>(partner)
    .execute(&mut conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO vacancies (id, partner_id, external_id, title, company, description, requirements, \
             province_code, regency_code, employment_type, skills, apply_url, closes_on, created_at, updated_at) \
         SELECT gen_random_uuid(), $1, 'bench-' || i, 'Lowongan ' || i, 'PT Contoh ' || (i % 500), \
             'Deskripsi pekerjaan nomor ' || i || '.', 'Persyaratan umum.', p.code, p.code || '71', \
             (ARRAY['full_time', 'part_time', 'contract', 'internship', 'freelance'])[1 + i % 5], \
             ARRAY(SELECT DISTINCT 'skill-' || lpad(floor($3 * power(random(), 2))::int::text, 3, '0') \
                   FROM generate_series(1, 3 + i % 4)), \
             'https://karir.example.id/lowongan/' || i, $2 + (i % 60) - 6, now(), now() \
         FROM generate_series(1, $4) AS i, \
         LATERAL (SELECT (ARRAY['11','12','13','14','15','16','17','18','19','21','31','32','33','34', \
             '35','36','51','52','53','61','62','63','64','65','71','72','73','74','75','76','81','82', \
             '91','94'])[1 + (i * 7) % 34] AS code) AS p",
    )
    .bind::<SqlUuid, _>(partner)
    .bind::<Date, _>(today)
    .bind::<Integer, _>(VOCABULARY)
    .bind::<Integer, _>(n)
    .execute(&mut conn)
    .await?;
    let skills = PREFERRED
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    conn.batch_execute(&format!(
        "INSERT INTO questionnaires (account_id, motivation, preferred_skills, updated_at) \
         VALUES ('{account}', 'Bench', ARRAY[{skills}], now()) \
         ON CONFLICT (account_id) DO UPDATE SET preferred_skills = EXCLUDED.preferred_skills; \
         UPDATE profiles SET domicile_province_code = '31', domicile_regency_code = '3171' \
         WHERE account_id = '{account}'"
    ))
    .await?;
    // Each alone: VACUUM cannot run in the implicit transaction of a batch.
    conn.batch_execute("VACUUM ANALYZE vacancies").await?;
    conn.batch_execute("VACUUM ANALYZE questionnaires").await?;
    let open = db::count(
        &mut conn,
        &format!("SELECT count(*) AS n FROM vacancies WHERE closes_on >= '{today}'"),
    )
    .await?;
    // Highest placeholder first, so `$1` never rewrites the start of `$10`.
    let sql = RECOMMENDATIONS_SQL
        .replace("$6", &rules::LIMIT.to_string())
        .replace("$5", &rules::PROVINCE_POINTS.to_string())
        .replace("$4", &rules::CATEGORY_POINTS.to_string())
        .replace("$3", &rules::SKILL_POINTS.to_string())
        .replace("$2", &format!("'{today}'::date"))
        .replace("$1", &format!("'{account}'::uuid"));
    std::fs::create_dir_all(out)?;
    std::fs::write(format!("{out}/recommendations.sql"), format!("{sql};\n"))?;
    eprintln!("bench: {n} vacancies, {open} open on {today}");
    Ok(())
}
