-- The report form (DOMAIN.md §10, API.md Help and jobs). What a citizen writes
-- (description, messages, contact email) and what they attach (KTP, KK,
-- selfies) is personal data: sealed with the PII cipher like identities, each
-- value bound to its report. Only the category, the status and the times are
-- in clear, for the office's queues.

-- One counter per Asia/Jakarta year: references are LAP-{year}-{6 digits},
-- sequential without gaps in the order reports commit.
CREATE TABLE report_sequences (
    year integer PRIMARY KEY,
    last_number integer NOT NULL CHECK (last_number > 0)
);

CREATE TABLE reports (
    id uuid PRIMARY KEY,
    year integer NOT NULL,
    number integer NOT NULL CHECK (number BETWEEN 1 AND 999999),
    reference text NOT NULL UNIQUE,
    -- The reporter's account when the form was sent with a token; an
    -- anonymous report has none (and is reached through its upload token).
    account_id uuid REFERENCES accounts (id) ON DELETE SET NULL,
    category text NOT NULL CHECK (category IN ('account_blocked', 'verification_failed',
        'nik_registered_by_someone_else', 'otp_not_received', 'verification_email_not_received',
        'purchase', 'redemption', 'certificate', 'incentive', 'other')),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress',
        'waiting_for_participant', 'resolved', 'rejected')),
    description_ciphertext bytea NOT NULL,
    contact_email_ciphertext bytea NOT NULL,
    -- SHA-256 (keyed) of the upload token; the token itself is shown once.
    upload_token_hash bytea NOT NULL,
    upload_token_expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    closed_at timestamptz,
    UNIQUE (year, number),
    CHECK ((closed_at IS NOT NULL) = (status IN ('resolved', 'rejected')))
);
-- The office's queue (status, newest first) and the participant's own list.
CREATE INDEX reports_queue ON reports (status, created_at DESC, id DESC);
CREATE INDEX reports_account ON reports (account_id, created_at DESC, id DESC)
    WHERE account_id IS NOT NULL;
-- The retention job finds closed reports whose attachments are due.
CREATE INDEX reports_closed ON reports (closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE report_messages (
    id uuid PRIMARY KEY,
    report_id uuid NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    author text NOT NULL CHECK (author IN ('participant', 'pmo')),
    author_id uuid REFERENCES accounts (id) ON DELETE SET NULL,
    body_ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX report_messages_thread ON report_messages (report_id, created_at, id);

CREATE TABLE report_attachments (
    id uuid PRIMARY KEY,
    report_id uuid NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('ktp_photo', 'kk_photo', 'selfie_with_ktp',
        'selfie_with_kk', 'screenshot', 'other')),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    size_bytes integer NOT NULL CHECK (size_bytes BETWEEN 1 AND 2097152),
    ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX report_attachments_report ON report_attachments (report_id, created_at, id);

-- The NIK an account last tried in PUT /v1/me/identity and was refused because
-- another account holds it, after the registry matched its KK and date of
-- birth: what nik-transfer moves. Kept as the NIK's blind index only.
CREATE TABLE nik_claims (
    account_id uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    nik_index bytea NOT NULL,
    claimed_at timestamptz NOT NULL
);

-- A NIK transfer ends the sessions of the account that held the NIK.
ALTER TABLE sessions DROP CONSTRAINT sessions_end_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_end_reason_check CHECK (end_reason IN
    ('logout', 'password_changed', 'password_reset', 'blocked', 'refresh_token_reused', 'nik_transferred'));
