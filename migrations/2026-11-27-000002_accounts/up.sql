-- Accounts and sessions (DOMAIN.md §1): accounts, single-use tokens, OTP
-- challenges, sessions with rotating refresh tokens, and the audit trail.

CREATE TABLE accounts (
    id                uuid PRIMARY KEY,
    -- Normalised (trimmed, lower-case) at the edge; unique case-insensitively.
    email             text NOT NULL CHECK (email = lower(email)),
    password_hash     text NOT NULL,
    role              text NOT NULL DEFAULT 'participant' CHECK (role IN ('participant', 'admin')),
    email_verified_at timestamptz,
    phone             text,
    phone_verified_at timestamptz,
    blocked_at        timestamptz,
    blocked_reason    text,
    fraud_suspected   boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CHECK ((blocked_at IS NULL) = (blocked_reason IS NULL))
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email);
CREATE INDEX accounts_created ON accounts (created_at DESC, id DESC);

-- Single-use tokens sent by email (verification, password reset): only a keyed
-- hash is stored, so a database leak reveals no usable token.
CREATE TABLE account_tokens (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    purpose     text NOT NULL CHECK (purpose IN ('email_verification', 'password_reset')),
    token_hash  bytea NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL
);
CREATE INDEX account_tokens_account ON account_tokens (account_id, purpose);

-- One-time codes (login by email, phone verification by SMS). The code is kept
-- only as a keyed hash; a resend replaces it in the same challenge, keeping the
-- count of wrong guesses.
CREATE TABLE otp_challenges (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    purpose         text NOT NULL CHECK (purpose IN ('login', 'phone')),
    code_hash       bytea NOT NULL,
    -- Where the code went: the email (login) or the new phone number (phone).
    destination     text NOT NULL,
    expires_at      timestamptz NOT NULL,
    failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    resends         integer NOT NULL DEFAULT 0 CHECK (resends >= 0),
    -- consumed: verified once; superseded: a newer challenge replaced it.
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'consumed', 'superseded', 'locked')),
    created_at      timestamptz NOT NULL
);
CREATE INDEX otp_challenges_account_open ON otp_challenges (account_id, purpose) WHERE state = 'open';

-- A session is one login; its refresh tokens form one rotation family.
CREATE TABLE sessions (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    end_reason  text CHECK (end_reason IN ('logout', 'password_changed', 'password_reset', 'blocked', 'refresh_token_reused')),
    ip          text,
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX sessions_account_live ON sessions (account_id) WHERE ended_at IS NULL;

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id),
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    -- Set when the token is exchanged; presenting it again ends the whole family.
    rotated_at  timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Who did what to whom, and from where. Never holds a secret, code or token.
CREATE TABLE audit_events (
    id          uuid PRIMARY KEY,
    actor_id    uuid REFERENCES accounts (id),
    subject_id  uuid REFERENCES accounts (id),
    action      text NOT NULL,
    reason      text,
    ip          text,
    request_id  text,
    created_at  timestamptz NOT NULL
);
CREATE INDEX audit_events_created ON audit_events (created_at DESC, id DESC);
CREATE INDEX audit_events_actor ON audit_events (actor_id, created_at DESC);
CREATE INDEX audit_events_subject ON audit_events (subject_id, created_at DESC);
CREATE INDEX audit_events_action ON audit_events (action, created_at DESC);
