-- Registration and identity (DOMAIN.md §2). Personal data that identifies a
-- citizen (NIK, KK number, date of birth, full name, birth place, address,
-- phone, the KTP photo) is stored only encrypted (AES-256-GCM, see
-- api/src/crypto.rs); equality look-ups and uniqueness use keyed blind indexes
-- (HMAC-SHA256), so the database alone reveals none of it.

-- The phone number moves from plain text to ciphertext + blind index.
ALTER TABLE accounts DROP COLUMN phone;
ALTER TABLE accounts ADD COLUMN phone_ciphertext bytea;
ALTER TABLE accounts ADD COLUMN phone_index bytea;
CREATE INDEX accounts_phone_index ON accounts (phone_index) WHERE phone_index IS NOT NULL;

-- The identity as the population registry (Dukcapil) confirmed it.
CREATE TABLE identities (
    account_id          uuid PRIMARY KEY REFERENCES accounts (id),
    -- One NIK, one account: the unique blind index settles racing registrations.
    nik_index           bytea NOT NULL UNIQUE,
    kk_index            bytea NOT NULL,
    nik_ciphertext      bytea NOT NULL,
    kk_ciphertext       bytea NOT NULL,
    birth_date_ciphertext bytea NOT NULL,
    full_name_ciphertext  bytea NOT NULL,
    birth_place_ciphertext bytea NOT NULL,
    address_ciphertext  bytea NOT NULL,
    -- Not identifying on their own, and needed in plain form by set-based rules.
    gender              text NOT NULL CHECK (gender IN ('male', 'female')),
    province_code       text NOT NULL CHECK (province_code ~ '^[0-9]{2}$'),
    regency_code        text NOT NULL CHECK (regency_code ~ '^[0-9]{4}$'),
    verified_at         timestamptz NOT NULL
);
CREATE INDEX identities_kk_index ON identities (kk_index);

CREATE TABLE profiles (
    account_id             uuid PRIMARY KEY REFERENCES accounts (id),
    domicile_province_code text NOT NULL CHECK (domicile_province_code ~ '^[0-9]{2}$'),
    domicile_regency_code  text NOT NULL CHECK (domicile_regency_code ~ '^[0-9]{4}$'),
    education_level        text NOT NULL CHECK (education_level IN
        ('none', 'sd', 'smp', 'sma', 'smk', 'd1', 'd2', 'd3', 'd4', 's1', 's2', 's3')),
    in_formal_education    boolean NOT NULL,
    occupation             text NOT NULL CHECK (occupation IN
        ('unemployed', 'private_employee', 'entrepreneur', 'farmer', 'fisher', 'laborer',
         'freelancer', 'homemaker', 'other', 'state_official', 'dprd_member', 'civil_servant',
         'military', 'police', 'village_official', 'soe_board_member')),
    employment_status      text NOT NULL CHECK (employment_status IN
        ('unemployed', 'employed', 'self_employed', 'laid_off')),
    updated_at             timestamptz NOT NULL
);

CREATE TABLE ktp_photos (
    account_id   uuid PRIMARY KEY REFERENCES accounts (id),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    size_bytes   integer NOT NULL CHECK (size_bytes BETWEEN 1 AND 1048576),
    ciphertext   bytea NOT NULL,
    uploaded_at  timestamptz NOT NULL
);

-- The face service's reference id of the enrolled face (used by later face checks).
CREATE TABLE face_enrollments (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id),
    face_id     text NOT NULL,
    enrolled_at timestamptz NOT NULL
);

CREATE TABLE questionnaires (
    account_id       uuid PRIMARY KEY REFERENCES accounts (id),
    motivation       text NOT NULL,
    preferred_skills text[] NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE TABLE statements (
    account_id uuid PRIMARY KEY REFERENCES accounts (id),
    agreed_at  timestamptz NOT NULL
);

-- The basic aptitude test (TKD): questions ship with this migration.
CREATE TABLE aptitude_questions (
    id             text PRIMARY KEY,
    position       integer NOT NULL UNIQUE,
    text           text NOT NULL,
    options        jsonb NOT NULL,
    correct_option text NOT NULL
);

CREATE TABLE aptitude_submissions (
    account_id   uuid PRIMARY KEY REFERENCES accounts (id),
    score        integer NOT NULL CHECK (score >= 0),
    answers      jsonb NOT NULL,
    submitted_at timestamptz NOT NULL
);

-- The TKD question bank (24 questions: verbal, numeric, logical reasoning).
INSERT INTO aptitude_questions (id, position, text, options, correct_option) VALUES
    ('tkd-01', 1, 'Sinonim kata "cermat" adalah ...', '[{"id": "a", "text": "teliti"}, {"id": "b", "text": "ceroboh"}, {"id": "c", "text": "cepat"}, {"id": "d", "text": "lambat"}]', 'a'),
    ('tkd-02', 2, 'Antonim kata "hemat" adalah ...', '[{"id": "a", "text": "irit"}, {"id": "b", "text": "boros"}, {"id": "c", "text": "kikir"}, {"id": "d", "text": "cermat"}]', 'b'),
    ('tkd-03', 3, 'Sinonim kata "kendala" adalah ...', '[{"id": "a", "text": "hambatan"}, {"id": "b", "text": "kendaraan"}, {"id": "c", "text": "tujuan"}, {"id": "d", "text": "peluang"}]', 'a'),
    ('tkd-04', 4, 'Antonim kata "optimis" adalah ...', '[{"id": "a", "text": "yakin"}, {"id": "b", "text": "pesimis"}, {"id": "c", "text": "realistis"}, {"id": "d", "text": "percaya"}]', 'b'),
    ('tkd-05', 5, 'DOKTER : RUMAH SAKIT = GURU : ...', '[{"id": "a", "text": "murid"}, {"id": "b", "text": "sekolah"}, {"id": "c", "text": "buku"}, {"id": "d", "text": "papan tulis"}]', 'b'),
    ('tkd-06', 6, 'PENA : MENULIS = GUNTING : ...', '[{"id": "a", "text": "memotong"}, {"id": "b", "text": "menjahit"}, {"id": "c", "text": "melipat"}, {"id": "d", "text": "menggambar"}]', 'a'),
    ('tkd-07', 7, 'Sinonim kata "lugas" adalah ...', '[{"id": "a", "text": "berbelit"}, {"id": "b", "text": "terus terang"}, {"id": "c", "text": "lamban"}, {"id": "d", "text": "ragu"}]', 'b'),
    ('tkd-08', 8, 'Antonim kata "statis" adalah ...', '[{"id": "a", "text": "diam"}, {"id": "b", "text": "tetap"}, {"id": "c", "text": "dinamis"}, {"id": "d", "text": "pasif"}]', 'c'),
    ('tkd-09', 9, 'Berapakah 15% dari 2.000?', '[{"id": "a", "text": "150"}, {"id": "b", "text": "300"}, {"id": "c", "text": "200"}, {"id": "d", "text": "250"}]', 'b'),
    ('tkd-10', 10, 'Deret: 2, 4, 8, 16, ... Bilangan berikutnya adalah', '[{"id": "a", "text": "24"}, {"id": "b", "text": "30"}, {"id": "c", "text": "32"}, {"id": "d", "text": "36"}]', 'c'),
    ('tkd-11', 11, 'Deret: 3, 6, 9, 12, ... Bilangan berikutnya adalah', '[{"id": "a", "text": "13"}, {"id": "b", "text": "14"}, {"id": "c", "text": "15"}, {"id": "d", "text": "16"}]', 'c'),
    ('tkd-12', 12, 'Jika harga 3 buku Rp36.000, harga 5 buku adalah ...', '[{"id": "a", "text": "Rp50.000"}, {"id": "b", "text": "Rp60.000"}, {"id": "c", "text": "Rp65.000"}, {"id": "d", "text": "Rp72.000"}]', 'b'),
    ('tkd-13', 13, '125 + 275 = ...', '[{"id": "a", "text": "300"}, {"id": "b", "text": "350"}, {"id": "c", "text": "400"}, {"id": "d", "text": "450"}]', 'c'),
    ('tkd-14', 14, 'Sebuah pekerjaan selesai oleh 4 orang dalam 6 hari. Oleh 8 orang selesai dalam ...', '[{"id": "a", "text": "2 hari"}, {"id": "b", "text": "3 hari"}, {"id": "c", "text": "4 hari"}, {"id": "d", "text": "12 hari"}]', 'b'),
    ('tkd-15', 15, 'Deret: 1, 1, 2, 3, 5, 8, ... Bilangan berikutnya adalah', '[{"id": "a", "text": "11"}, {"id": "b", "text": "12"}, {"id": "c", "text": "13"}, {"id": "d", "text": "14"}]', 'c'),
    ('tkd-16', 16, 'Semua pelatih adalah peserta. Sebagian peserta adalah pekerja. Kesimpulan yang pasti benar:', '[{"id": "a", "text": "Semua pekerja adalah pelatih"}, {"id": "b", "text": "Semua pelatih adalah peserta"}, {"id": "c", "text": "Sebagian pelatih adalah pekerja"}, {"id": "d", "text": "Tidak ada pekerja yang peserta"}]', 'b'),
    ('tkd-17', 17, 'Jika hujan, jalan basah. Jalan tidak basah. Maka ...', '[{"id": "a", "text": "Hujan turun"}, {"id": "b", "text": "Tidak hujan"}, {"id": "c", "text": "Jalan licin"}, {"id": "d", "text": "Tidak dapat disimpulkan"}]', 'b'),
    ('tkd-18', 18, 'Andi lebih tinggi dari Budi. Budi lebih tinggi dari Citra. Siapa yang paling pendek?', '[{"id": "a", "text": "Andi"}, {"id": "b", "text": "Budi"}, {"id": "c", "text": "Citra"}, {"id": "d", "text": "Tidak dapat ditentukan"}]', 'c'),
    ('tkd-19', 19, 'Manakah yang tidak termasuk kelompoknya?', '[{"id": "a", "text": "Apel"}, {"id": "b", "text": "Mangga"}, {"id": "c", "text": "Wortel"}, {"id": "d", "text": "Jeruk"}]', 'c'),
    ('tkd-20', 20, 'Manakah yang tidak termasuk kelompoknya?', '[{"id": "a", "text": "Palu"}, {"id": "b", "text": "Obeng"}, {"id": "c", "text": "Tang"}, {"id": "d", "text": "Sendok"}]', 'd'),
    ('tkd-21', 21, 'Setengah dari seperempat adalah ...', '[{"id": "a", "text": "1/2"}, {"id": "b", "text": "1/6"}, {"id": "c", "text": "1/8"}, {"id": "d", "text": "1/4"}]', 'c'),
    ('tkd-22', 22, 'Sebuah toko memberi diskon 20% untuk barang seharga Rp50.000. Harga setelah diskon adalah ...', '[{"id": "a", "text": "Rp30.000"}, {"id": "b", "text": "Rp40.000"}, {"id": "c", "text": "Rp45.000"}, {"id": "d", "text": "Rp10.000"}]', 'b'),
    ('tkd-23', 23, 'Sinonim kata "rampung" adalah ...', '[{"id": "a", "text": "selesai"}, {"id": "b", "text": "mulai"}, {"id": "c", "text": "rusak"}, {"id": "d", "text": "rumit"}]', 'a'),
    ('tkd-24', 24, 'Jika hari ini Senin, 10 hari lagi adalah hari ...', '[{"id": "a", "text": "Rabu"}, {"id": "b", "text": "Kamis"}, {"id": "c", "text": "Jumat"}, {"id": "d", "text": "Selasa"}]', 'b');
