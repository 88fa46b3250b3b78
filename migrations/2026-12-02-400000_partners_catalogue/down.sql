DROP TABLE course_reviews;
ALTER TABLE purchases DROP CONSTRAINT purchases_course_id_fkey;
DROP TABLE courses;
DROP FUNCTION prakerja_unaccent(text);
DROP TEXT SEARCH CONFIGURATION prakerja_search;
DROP EXTENSION IF EXISTS pg_trgm;
DROP EXTENSION IF EXISTS unaccent;
DROP TABLE accepted_signatures;
ALTER TABLE partners
    DROP CONSTRAINT partners_disabled_stamp,
    DROP CONSTRAINT partners_previous_secret,
    DROP COLUMN updated_at,
    DROP COLUMN disabled_at,
    DROP COLUMN status,
    DROP COLUMN secret_rotated_at,
    DROP COLUMN previous_secret_valid_until,
    DROP COLUMN previous_secret_ciphertext,
    DROP COLUMN secret_ciphertext;
