//! The catalogue and purchase loads' data: partner platforms with real
//! (encrypted) secrets, 10,000 courses with Indonesian titles, and purchase
//! plans (a card, a course of one platform and an open purchase code per row)
//! shared by the load generator and by pgbench.
//!
//! Everything is inserted with set-based SQL into the server database that
//! `seed-server` made (its participants hold active cards with their credit).
//! The partners are made with the application's own `partners::model::create`
//! and the codes hashed with its own `SecretHasher`, so the server verifies
//! both exactly as in production.

use std::{collections::HashMap, io::Write, time::Instant};

use chrono::Utc;
use diesel::sql_types::{Array, BigInt, Bytea, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use prakerja_api::{
    catalogue::search::{search_sql, CourseSort},
    config::Settings,
    otp::{model::destination_aad, rules::hash_input, Purpose},
    secrets::SecretHasher,
};
use rand::Rng;
use uuid::Uuid;

use crate::{db, selection::sandbox_pii};

/// Names of the seeded platforms (their rows are found again by this prefix).
const PARTNER_PREFIX: &str = "Bench Platform";

/// `prakerja-bench seed-market`: `partners` platforms and `courses` courses
/// spread over them, then `out/partners.tsv` (id, secret per line).
pub async fn seed(
    database: &str,
    partners: usize,
    courses: usize,
    out: &str,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let pii = sandbox_pii()?;
    let mut conn = db::connect(database).await?;
    let now = Utc::now();
    let mut ids = Vec::with_capacity(partners);
    let mut tsv = std::io::BufWriter::new(std::fs::File::create(format!("{out}/partners.tsv"))?);
    for i in 0..partners {
        let name = format!("{PARTNER_PREFIX} {:02}", i + 1);
        let (partner, secret) = prakerja_api::partners::model::create(
            &mut conn,
            &pii,
            &name,
            &[prakerja_api::partners::model::PartnerCapability::Training],
            now,
        )
        .await?;
        writeln!(tsv, "{}\t{secret}", partner.id)?;
        // Its payable account, as its first purchase would open it.
        prakerja_api::card::ledger::open_partner_account(&mut conn, partner.id, now).await?;
        ids.push(partner.id);
    }
    tsv.flush()?;
    // Titles: a skill, a level phrase and an intake number; the category and
    // an institution go with the skill's index, offline courses get a city.
    diesel::sql_query(COURSES_SQL)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Integer, _>(courses as i32)
        .execute(&mut conn)
        .await?;
    for sql in [
        "VACUUM ANALYZE courses",
        "VACUUM ANALYZE partners",
        "CHECKPOINT",
    ] {
        conn.batch_execute(sql).await?;
    }
    eprintln!(
        "seeded {partners} partners and {courses} courses in {database} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

const COURSES_SQL: &str = "\
WITH skill(i, title, category) AS (
  SELECT * FROM unnest(
    ARRAY[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30],
    ARRAY['Pemasaran Digital','Media Sosial untuk UMKM','Fotografi Produk','Akuntansi Dasar',
          'Microsoft Excel','Pemrograman Web','Desain Grafis','Bahasa Inggris Percakapan',
          'Barista Kopi','Tata Boga Nusantara','Menjahit Busana','Teknisi AC dan Kulkas',
          'Perawatan Lansia','Copywriting','Analisis Data','Bahasa Jepang',
          'Kewirausahaan','Pengelolaan Keuangan Usaha','Public Speaking','Layanan Pelanggan',
          'Manajemen Proyek','Budidaya Ikan Lele','Hidroponik','Tata Rias Pengantin',
          'Kreator Konten Video','Penyuntingan Video','Administrasi Perkantoran',
          'Servis Sepeda Motor','Pemrograman Python','Desain UI/UX'],
    ARRAY['Pemasaran','Pemasaran','Kreatif','Keuangan','Teknologi Informasi','Teknologi Informasi',
          'Kreatif','Bahasa','Kuliner','Kuliner','Mode','Teknik','Kesehatan','Pemasaran',
          'Teknologi Informasi','Bahasa','Bisnis','Keuangan','Pengembangan Diri','Bisnis',
          'Bisnis','Pertanian','Pertanian','Kecantikan','Kreatif','Kreatif','Perkantoran',
          'Teknik','Teknologi Informasi','Teknologi Informasi'])),
phrase(i, text) AS (
  SELECT * FROM unnest(ARRAY[1,2,3,4,5,6,7,8],
    ARRAY['untuk Pemula','Tingkat Lanjut','dari Nol','Praktis dan Bersertifikat',
          'untuk Pelaku Usaha','Kelas Intensif','Persiapan Kerja','untuk Ibu Rumah Tangga'])),
place(i, institution, city) AS (
  SELECT * FROM unnest(ARRAY[1,2,3,4,5,6,7,8,9,10],
    ARRAY['Lembaga Pelatihan Nusantara','Akademi Digital Indonesia','LPK Maju Bersama',
          'Sekolah Kopi Jakarta','Pusat Kursus Bandung','Institut Kreatif Yogyakarta',
          'Balai Latihan Kerja Surabaya','Kampus Vokasi Medan','Rumah Belajar Makassar',
          'Sanggar Keterampilan Bali'],
    ARRAY['Jakarta Selatan','Jakarta Timur','Bekasi','Jakarta Pusat','Bandung','Yogyakarta',
          'Surabaya','Medan','Makassar','Denpasar']))
INSERT INTO courses (id, partner_id, external_id, title, description, category, delivery,
                     price_idr, starts_at, duration_hours, level, institution, location,
                     created_at, updated_at)
SELECT gen_random_uuid(), ($1::uuid[])[1 + g % cardinality($1::uuid[])], 'course-' || g,
       s.title || ' ' || p.text || ' Angkatan ' || (1 + g / 300),
       'Pelatihan ' || lower(s.title) || ' ' || p.text || '. Peserta belajar langsung dari praktisi '
         || pl.institution || ', dengan tugas praktik, studi kasus dan sertifikat kelulusan.',
       s.category,
       d.delivery,
       (ARRAY[150000, 250000, 350000, 500000, 750000, 1000000])[1 + (g / 30) % 6],
       date_trunc('hour', now()) + make_interval(days => 5 + g % 60, hours => 9),
       (ARRAY[4, 8, 12, 16, 24, 40])[1 + (g / 7) % 6],
       (ARRAY['beginner', 'intermediate', 'advanced'])[1 + (g / 3) % 3],
       pl.institution,
       CASE WHEN d.delivery = 'offline' THEN pl.city END,
       now(), now()
FROM generate_series(0, $2 - 1) g
JOIN skill s ON s.i = 1 + g % 30
JOIN phrase p ON p.i = 1 + (g / 30) % 8
JOIN place pl ON pl.i = 1 + (g / 11) % 10
CROSS JOIN LATERAL (SELECT (ARRAY['webinar', 'self_paced', 'self_paced', 'offline'])[1 + (g / 5) % 4] AS delivery) d";

/// The server's hash of one-time codes (the sandbox's TOKEN_HASH_KEY, as the
/// server started by bench/run.sh uses).
fn sandbox_hasher() -> anyhow::Result<SecretHasher> {
    let vars: HashMap<String, String> = [
        ("APP_ENV", "sandbox"),
        ("DATABASE_URL", "postgres://unused"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Ok(SecretHasher::new(Settings::from_map(&vars)?.token_hash_key))
}

#[derive(diesel::QueryableByName)]
struct PlanCard {
    #[diesel(sql_type = BigInt)]
    k: i64,
    #[diesel(sql_type = SqlUuid)]
    card_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = SqlUuid)]
    partner_id: Uuid,
    #[diesel(sql_type = BigInt)]
    partner_index: i64,
    #[diesel(sql_type = SqlUuid)]
    course_id: Uuid,
}

/// `prakerja-bench purchase-plan`: rows `from..from + count` of
/// `bench_purchase_plan`, each the `k`-th active card (by number) buying a
/// course of platform `k % partners`, with an open purchase code (valid two
/// hours) whose code is kept in the row. Plans of different runs take
/// different `k` ranges, so no card buys twice.
pub async fn plan(database: &str, from: i64, count: i64, partners: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    let hasher = sandbox_hasher()?;
    let pii = sandbox_pii()?;
    let mut conn = db::connect(database).await?;
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS bench_purchase_plan (
             k bigint PRIMARY KEY, card_number text NOT NULL, partner_id uuid NOT NULL,
             course_id uuid NOT NULL, challenge_id uuid NOT NULL, code text NOT NULL,
             platform_user_id text NOT NULL, source_ip text NOT NULL)",
    )
    .await?;
    let rows: Vec<PlanCard> = diesel::sql_query(
        "WITH c AS (SELECT row_number() OVER (ORDER BY card_number) - 1 AS k, id, account_id
                    FROM cards WHERE status = 'active'),
              p AS (SELECT row_number() OVER (ORDER BY name) - 1 AS i, id FROM partners
                    WHERE starts_with(name, $4) ORDER BY name LIMIT $3),
              cs AS (SELECT partner_id, id, row_number() OVER (PARTITION BY partner_id ORDER BY id) - 1 AS j,
                            count(*) OVER (PARTITION BY partner_id) AS n FROM courses)
         SELECT c.k, c.id AS card_id, c.account_id, a.email, p.id AS partner_id, p.i AS partner_index, cs.id AS course_id
         FROM c JOIN accounts a ON a.id = c.account_id
         JOIN p ON p.i = c.k % $3
         JOIN cs ON cs.partner_id = p.id AND cs.j = (c.k / $3) % cs.n
         WHERE c.k >= $1 AND c.k < $1 + $2 ORDER BY c.k",
    )
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(count)
    .bind::<BigInt, _>(partners)
    .bind::<Text, _>(PARTNER_PREFIX)
    .load(&mut conn)
    .await?;
    anyhow::ensure!(
        rows.len() as i64 == count,
        "only {} active cards from #{from} (wanted {count}); raise BENCH_PARTICIPANTS",
        rows.len()
    );
    let label = Purpose::Purchase.hash_label();
    let mut rng = rand::thread_rng();
    for chunk in rows.chunks(5000) {
        let mut ks = Vec::new();
        let mut challenges = Vec::new();
        let mut codes = Vec::new();
        let mut hashes = Vec::new();
        for r in chunk {
            let challenge = Uuid::new_v4();
            let code = format!("{:06}", rng.gen_range(0..1_000_000u32));
            hashes.push(hasher.hash(&label, &hash_input(challenge, &code)));
            ks.push(r.k);
            challenges.push(challenge);
            codes.push(code);
        }
        let card_ids: Vec<Uuid> = chunk.iter().map(|r| r.card_id).collect();
        let accounts: Vec<Uuid> = chunk.iter().map(|r| r.account_id).collect();
        // The destination as otp::issue keeps it: masked, and sealed.
        let masked: Vec<String> = chunk
            .iter()
            .map(|r| prakerja_api::notifications::Channel::Email.mask(&r.email))
            .collect();
        let sealed: Vec<Vec<u8>> = chunk
            .iter()
            .zip(&challenges)
            .map(|(r, id)| pii.encrypt_str(&r.email, &destination_aad(*id)))
            .collect();
        let partner_ids: Vec<Uuid> = chunk.iter().map(|r| r.partner_id).collect();
        let course_ids: Vec<Uuid> = chunk.iter().map(|r| r.course_id).collect();
        // Each platform calls from its own address (all of 127/8 is loopback),
        // so the per-IP request counter is per platform, as in production.
        let ips: Vec<String> = chunk
            .iter()
            .map(|r| format!("127.0.0.{}", 2 + r.partner_index))
            .collect();
        // The challenge exactly as `otp::issue` writes a purchase code's.
        diesel::sql_query(
            "WITH r AS (SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bytea[],
                             $5::uuid[], $6::uuid[], $7::text[], $8::uuid[], $9::uuid[], $10::text[], $11::bytea[])
                        AS t(k, challenge_id, code, code_hash, card_id, account_id, masked, partner_id, course_id, ip, sealed)),
                  ins AS (
                    INSERT INTO otp_challenges (id, account_id, purpose, scope_key, budget_key, code_hash,
                                                destination, destination_ciphertext, context, expires_at, created_at)
                    SELECT r.challenge_id, r.account_id, 'purchase',
                           'purchase:' || r.card_id || ':' || r.course_id || ':' || r.partner_id,
                           'card:' || r.card_id, r.code_hash, r.masked, r.sealed,
                           jsonb_build_object('card_id', r.card_id, 'course_id', r.course_id,
                                              'partner_id', r.partner_id, 'price_idr', c.price_idr),
                           now() + interval '2 hours', now()
                    FROM r JOIN courses c ON c.id = r.course_id)
             INSERT INTO bench_purchase_plan
             SELECT r.k, cd.card_number, r.partner_id, r.course_id, r.challenge_id, r.code, 'user-' || r.k, r.ip
             FROM r JOIN cards cd ON cd.id = r.card_id",
        )
        .bind::<Array<BigInt>, _>(&ks)
        .bind::<Array<SqlUuid>, _>(&challenges)
        .bind::<Array<Text>, _>(&codes)
        .bind::<Array<Bytea>, _>(&hashes)
        .bind::<Array<SqlUuid>, _>(&card_ids)
        .bind::<Array<SqlUuid>, _>(&accounts)
        .bind::<Array<Text>, _>(&masked)
        .bind::<Array<SqlUuid>, _>(&partner_ids)
        .bind::<Array<SqlUuid>, _>(&course_ids)
        .bind::<Array<Text>, _>(&ips)
        .bind::<Array<Bytea>, _>(&sealed)
        .execute(&mut conn)
        .await?;
    }
    for sql in ["ANALYZE otp_challenges", "ANALYZE bench_purchase_plan"] {
        conn.batch_execute(sql).await?;
    }
    eprintln!(
        "planned purchases #{from}..#{} over {partners} partner(s) in {:.1} s",
        from + count,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One planned purchase, as the load generator sends it.
#[derive(diesel::QueryableByName, Clone)]
pub struct Planned {
    #[diesel(sql_type = BigInt)]
    pub k: i64,
    #[diesel(sql_type = Text)]
    pub card_number: String,
    #[diesel(sql_type = SqlUuid)]
    pub partner_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub course_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub challenge_id: Uuid,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub platform_user_id: String,
    #[diesel(sql_type = Text)]
    pub source_ip: String,
}

pub async fn planned(
    conn: &mut AsyncPgConnection,
    from: i64,
    count: i64,
) -> anyhow::Result<Vec<Planned>> {
    Ok(diesel::sql_query(
        "SELECT k, card_number, partner_id, course_id, challenge_id, code, platform_user_id, source_ip \
         FROM bench_purchase_plan WHERE k >= $1 AND k < $1 + $2 ORDER BY k",
    )
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(count)
    .load(conn)
    .await?)
}

/// `prakerja-bench search-sql`: the statement `GET /v1/courses?q=…` sends (the
/// default sort with a keyword, no filter, the first page of 20), from the
/// server's own `search_sql`, with pgbench variables for the keyword
/// parameters: `:tsq` (the tsquery text) and `:phrase` (the words), both as
/// `catalogue::search` derives them from `q`. The unset filters and cursor are
/// NULL literals (the planner folds them as it does the NULL binds), the
/// limit the page size + 1.
pub fn search_script() -> String {
    let sql = search_sql(CourseSort::Relevance, true);
    let mut out = sql.replace("$11", "21").replace("$10", "NULL");
    for n in (3..=9).rev() {
        out = out.replace(&format!("${n}"), "NULL");
    }
    out.replace("$1", ":tsq").replace("$2", ":phrase") + ";"
}

/// The pgbench `-D` definitions of a keyword `q`: `tsq` and `phrase` as the
/// handler binds them.
pub fn search_vars(q: &str) -> anyhow::Result<(String, String)> {
    let tsq = prakerja_api::catalogue::search::prefix_query(q)
        .ok_or_else(|| anyhow::anyhow!("no keyword in {q:?}"))?;
    let phrase = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ");
    Ok((tsq, phrase))
}
