-- Job vacancies (DOMAIN.md §11; API.md Help and jobs): job boards upsert them by
-- their own id, anyone searches the open ones, participants get recommendations
-- from their skills and completed training.

-- A skill as the recommendations compare it: whitespace collapsed, lower case,
-- accents removed ("Desain  Grafis" = "desain grafis", "Café" = "cafe"). One
-- definition, used for the vacancies' stored keys and for the participant's
-- skills and training categories in the same query, so both sides always agree.
CREATE FUNCTION prakerja_skill_key(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(prakerja_unaccent(btrim(regexp_replace($1, '\s+', ' ', 'g'))));
-- The distinct keys of a list of skills (a set: order does not matter).
CREATE FUNCTION prakerja_skill_keys(text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(SELECT DISTINCT prakerja_skill_key(s) FROM unnest($1) AS s);
-- array_to_string is only STABLE (it is generic over element types); for text[]
-- it is immutable, and the search document needs an immutable expression.
CREATE FUNCTION prakerja_words(text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN array_to_string($1, ' ');

CREATE TABLE vacancies (
    id              uuid PRIMARY KEY,
    partner_id      uuid NOT NULL REFERENCES partners (id),
    -- The job board's own id (PUT /v1/partner/jobs/{external_id}).
    external_id     text NOT NULL CHECK (char_length(external_id) BETWEEN 1 AND 128),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 3 AND 200),
    company         text NOT NULL CHECK (char_length(company) BETWEEN 1 AND 200),
    description     text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 5000),
    requirements    text NOT NULL CHECK (char_length(requirements) BETWEEN 1 AND 5000),
    -- The office's place, as the KTP's codes: 2-digit province, 4-digit regency within it.
    province_code   text NOT NULL CHECK (province_code ~ '^[0-9]{2}$'),
    regency_code    text NOT NULL CHECK (regency_code ~ '^[0-9]{4}$' AND left(regency_code, 2) = province_code),
    employment_type text NOT NULL CHECK (employment_type IN ('full_time', 'part_time', 'contract', 'internship', 'freelance')),
    skills          text[] NOT NULL CHECK (cardinality(skills) BETWEEN 1 AND 20),
    apply_url       text NOT NULL CHECK (char_length(apply_url) <= 2000 AND apply_url LIKE 'https://%'),
    -- Open through this Asia/Jakarta date (inclusive).
    closes_on       date NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    skill_keys      text[] GENERATED ALWAYS AS (prakerja_skill_keys(skills)) STORED,
    -- Weighted: the title counts most, then company and skills, then the texts.
    search          tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('prakerja_search'::regconfig, title), 'A')
        || setweight(to_tsvector('prakerja_search'::regconfig, company || ' ' || prakerja_words(skills)), 'B')
        || setweight(to_tsvector('prakerja_search'::regconfig, description || ' ' || requirements), 'C')
    ) STORED,
    CONSTRAINT vacancies_partner_external_key UNIQUE (partner_id, external_id)
);
CREATE INDEX vacancies_search ON vacancies USING gin (search);
CREATE INDEX vacancies_title_trgm ON vacancies USING gin (prakerja_unaccent(lower(title)) gin_trgm_ops);
-- Recommendation candidates: vacancies sharing a skill key with the participant.
CREATE INDEX vacancies_skill_keys ON vacancies USING gin (skill_keys);
-- The list without a keyword: open vacancies, the soonest closing first.
CREATE INDEX vacancies_closes_on ON vacancies (closes_on, id);
CREATE INDEX vacancies_place ON vacancies (province_code, regency_code, closes_on);
