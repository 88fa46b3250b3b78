// Diesel table definitions. Kept in step with `migrations/` by hand and checked
// by the `schema_matches_migrations` test, which asks Postgres for every column.

diesel::table! {
    service_clock (singleton) {
        singleton -> Bool,
        offset_ms -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rate_limit_events (id) {
        id -> Int8,
        bucket -> Text,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (caller, route, key) {
        caller -> Text,
        route -> Text,
        key -> Text,
        request_hash -> Bytea,
        state -> Text,
        response_status -> Nullable<Int2>,
        response_content_type -> Nullable<Text>,
        response_body -> Nullable<Bytea>,
        locked_until -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        channel -> Text,
        recipient -> Text,
        template -> Text,
        subject -> Nullable<Text>,
        body -> Text,
        data -> Jsonb,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        phone -> Nullable<Text>,
        phone_verified_at -> Nullable<Timestamptz>,
        blocked_at -> Nullable<Timestamptz>,
        blocked_reason -> Nullable<Text>,
        fraud_suspected -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> Uuid,
        account_id -> Uuid,
        purpose -> Text,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    otp_challenges (id) {
        id -> Uuid,
        account_id -> Uuid,
        purpose -> Text,
        code_hash -> Bytea,
        destination -> Text,
        expires_at -> Timestamptz,
        failed_attempts -> Int4,
        resends -> Int4,
        state -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        account_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        end_reason -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        session_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        actor_id -> Nullable<Uuid>,
        subject_id -> Nullable<Uuid>,
        action -> Text,
        reason -> Nullable<Text>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(account_tokens -> accounts (account_id));
diesel::joinable!(otp_challenges -> accounts (account_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    service_clock,
    rate_limit_events,
    idempotency_keys,
    notifications,
    accounts,
    account_tokens,
    otp_challenges,
    sessions,
    refresh_tokens,
    audit_events,
);
