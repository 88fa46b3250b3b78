-- Partner platforms and their catalogue (issue 16; API.md "Catalogue, purchases,
-- cancellations, redemption", DOMAIN.md §5 and §9).

-- A partner's HMAC secret is needed in clear to verify its signatures, so it is
-- stored encrypted (crypto::PiiCipher, associated data naming the row), never
-- hashed. A rotation keeps the previous secret valid until a grace deadline, so a
-- platform can roll the new one out without a window of refused requests.
-- Partners made before this migration (none outside tests) have no secret and
-- cannot sign until an admin rotates one.
ALTER TABLE partners
    ADD COLUMN secret_ciphertext bytea,
    ADD COLUMN previous_secret_ciphertext bytea,
    ADD COLUMN previous_secret_valid_until timestamptz,
    ADD COLUMN secret_rotated_at timestamptz,
    ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN updated_at timestamptz;
UPDATE partners SET updated_at = created_at;
ALTER TABLE partners ALTER COLUMN updated_at SET NOT NULL;
-- The service always writes both; the defaults serve rows that fixtures and
-- benchmarks insert directly (id, name, created_at), as before this migration.
ALTER TABLE partners ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE partners ADD CONSTRAINT partners_previous_secret
    CHECK ((previous_secret_ciphertext IS NULL) = (previous_secret_valid_until IS NULL));
ALTER TABLE partners ADD CONSTRAINT partners_disabled_stamp
    CHECK ((status = 'disabled') = (disabled_at IS NOT NULL));

-- Signatures already accepted (API.md: each signature is accepted once), kept in
-- PostgreSQL so every instance agrees: the primary key makes the second use of a
-- signature fail however many instances see it at once. `signer` names the key
-- holder (`partner:<uuid>`; the payout provider's webhooks can use their own
-- prefix). A signature is only acceptable within 5 minutes of its timestamp, so
-- rows whose `signed_at` is older than that are dead weight and are purged.
CREATE TABLE accepted_signatures (
    signer      text NOT NULL CHECK (char_length(signer) BETWEEN 1 AND 100),
    signature   bytea NOT NULL CHECK (octet_length(signature) = 32),
    signed_at   timestamptz NOT NULL,
    accepted_at timestamptz NOT NULL,
    CONSTRAINT accepted_signatures_pkey PRIMARY KEY (signer, signature)
);
CREATE INDEX accepted_signatures_signed_at ON accepted_signatures (signed_at);

-- Catalogue search (API.md GET /v1/courses): Indonesian titles are mostly
-- unaccented words with no stemming dictionary in PostgreSQL, so the `simple`
-- configuration (lower-case words, no stop words, no stemming) with unaccent
-- first (an imported "Café" or "Pâtisserie" matches "cafe", "patisserie"), and
-- trigrams on the title for typos ("pemograman" finds "Pemrograman").
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TEXT SEARCH CONFIGURATION prakerja_search (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION prakerja_search
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
    WITH unaccent, simple;
-- unaccent() itself is only STABLE (it reads its dictionary by name); a wrapper
-- that names the dictionary is immutable in practice and can be indexed.
CREATE FUNCTION prakerja_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN public.unaccent('public.unaccent'::regdictionary, $1);

CREATE TABLE courses (
    id             uuid PRIMARY KEY,
    partner_id     uuid NOT NULL REFERENCES partners (id),
    -- The platform's own id for the course (PUT /v1/partner/courses/{external_id}).
    external_id    text NOT NULL CHECK (char_length(external_id) BETWEEN 1 AND 128),
    title          text NOT NULL CHECK (char_length(title) BETWEEN 3 AND 200),
    description    text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 5000),
    category       text NOT NULL CHECK (char_length(category) BETWEEN 1 AND 100),
    delivery       text NOT NULL CHECK (delivery IN ('webinar', 'self_paced', 'offline')),
    price_idr      bigint NOT NULL CHECK (price_idr > 0),
    starts_at      timestamptz NOT NULL,
    duration_hours integer NOT NULL CHECK (duration_hours > 0),
    level          text NOT NULL CHECK (level IN ('beginner', 'intermediate', 'advanced')),
    institution    text NOT NULL CHECK (char_length(institution) BETWEEN 1 AND 200),
    -- The venue of offline training; online training has none.
    location       text CHECK (char_length(location) BETWEEN 1 AND 300),
    -- The rating, kept current by the review's transaction (never computed from
    -- the reviews per request): average = rating_sum / rating_count.
    rating_count   integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_sum     bigint NOT NULL DEFAULT 0 CHECK (rating_sum BETWEEN rating_count AND 5 * rating_count::bigint),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    -- Weighted: the title counts most, then category and institution, then the description.
    search         tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('prakerja_search'::regconfig, title), 'A')
        || setweight(to_tsvector('prakerja_search'::regconfig, category || ' ' || institution), 'B')
        || setweight(to_tsvector('prakerja_search'::regconfig, description), 'C')
    ) STORED,
    CONSTRAINT courses_partner_external_key UNIQUE (partner_id, external_id),
    CONSTRAINT courses_offline_location CHECK ((delivery = 'offline') = (location IS NOT NULL))
);
CREATE INDEX courses_search ON courses USING gin (search);
CREATE INDEX courses_title_trgm ON courses USING gin (prakerja_unaccent(lower(title)) gin_trgm_ops);
-- The default order of the catalogue without a keyword: the next trainings first.
CREATE INDEX courses_starts_at ON courses (starts_at, id);

ALTER TABLE purchases ADD CONSTRAINT purchases_course_id_fkey
    FOREIGN KEY (course_id) REFERENCES courses (id);

-- Reviews (DOMAIN.md §7, §9): one per purchase, written by the participant after
-- completion; the same transaction adds the rating to the course's cached sums.
CREATE TABLE course_reviews (
    purchase_id uuid PRIMARY KEY REFERENCES purchases (id),
    course_id   uuid NOT NULL REFERENCES courses (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     text NOT NULL CHECK (char_length(comment) BETWEEN 1 AND 2000),
    created_at  timestamptz NOT NULL
);
CREATE INDEX course_reviews_course_recent ON course_reviews (course_id, created_at DESC);
