-- What a partner platform may publish (API.md Help and jobs, POST /v1/admin/partners
-- `capabilities`): `training` platforms upsert courses, `jobs` platforms (job
-- boards) upsert vacancies; one platform may be both. Every partner made before
-- this migration is a training platform, as was the only kind there was.
ALTER TABLE partners
    ADD COLUMN capabilities text[] NOT NULL DEFAULT '{training}';
ALTER TABLE partners ADD CONSTRAINT partners_capabilities CHECK (
    cardinality(capabilities) BETWEEN 1 AND 2
    AND capabilities <@ ARRAY['training', 'jobs']::text[]
);
