-- Foundation: the sandbox service clock, the shared rate limiter, the
-- Idempotency-Key store and the notification outbox.

-- One row at most: the offset (ms) of the sandbox clock from real time. Stored in
-- the database so that every instance reads the same time.
CREATE TABLE service_clock (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    offset_ms  bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Sliding-window rate limiting shared by all instances: one row per counted event.
CREATE TABLE rate_limit_events (
    id          bigserial PRIMARY KEY,
    bucket      text NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX rate_limit_events_bucket_time ON rate_limit_events (bucket, occurred_at);

-- Idempotency-Key: the first answer of a (caller, route, key), replayed byte for byte.
CREATE TABLE idempotency_keys (
    caller                text NOT NULL,
    route                 text NOT NULL,
    key                   text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash          bytea NOT NULL,
    state                 text NOT NULL CHECK (state IN ('in_progress', 'completed')),
    response_status       smallint,
    response_content_type text,
    response_body         bytea,
    -- An in-progress key whose lease passed belongs to a crashed request and may be retried.
    locked_until          timestamptz NOT NULL,
    created_at            timestamptz NOT NULL,
    PRIMARY KEY (caller, route, key),
    CHECK (state = 'in_progress' OR (response_status IS NOT NULL AND response_body IS NOT NULL))
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Transactional outbox: written in the transaction of the change that causes the
-- message, delivered later by the deliver_notifications job.
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient       text NOT NULL,
    template        text NOT NULL,
    subject         text,
    body            text NOT NULL,
    data            jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    locked_until    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX notifications_recipient ON notifications (recipient, created_at DESC, id DESC);
CREATE INDEX notifications_created ON notifications (created_at DESC, id DESC);
