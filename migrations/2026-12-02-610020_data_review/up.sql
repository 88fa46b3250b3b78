-- The yearly data check (DOMAIN.md §11): the Asia/Jakarta date on which the
-- participant last confirmed or updated their personal data (PUT /v1/me/profile,
-- POST /v1/me/data-review). `GET /v1/me` derives `data_review_due` from it and
-- `created_at`, in the account row it reads anyway (no extra query).
ALTER TABLE accounts ADD COLUMN data_confirmed_on date;
-- Profiles saved before this migration were confirmed on the day they were saved.
UPDATE accounts a SET data_confirmed_on = (p.updated_at AT TIME ZONE 'Asia/Jakarta')::date
    FROM profiles p WHERE p.account_id = a.id;
