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
    request_counts (bucket, window_start) {
        bucket -> Text,
        window_start -> Timestamptz,
        hits -> Int4,
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
        owner -> Nullable<Uuid>,
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
        seq -> Int8,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        phone_verified_at -> Nullable<Timestamptz>,
        blocked_at -> Nullable<Timestamptz>,
        blocked_reason -> Nullable<Text>,
        fraud_suspected -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        phone_ciphertext -> Nullable<Bytea>,
        phone_index -> Nullable<Bytea>,
        data_confirmed_on -> Nullable<Date>,
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
        scope_key -> Text,
        budget_key -> Text,
        context -> Nullable<Jsonb>,
        destination_ciphertext -> Nullable<Bytea>,
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

diesel::table! {
    identities (account_id) {
        account_id -> Uuid,
        nik_index -> Bytea,
        kk_index -> Bytea,
        nik_ciphertext -> Bytea,
        kk_ciphertext -> Bytea,
        birth_date_ciphertext -> Bytea,
        full_name_ciphertext -> Bytea,
        birth_place_ciphertext -> Bytea,
        address_ciphertext -> Bytea,
        gender -> Text,
        province_code -> Text,
        regency_code -> Text,
        verified_at -> Timestamptz,
    }
}

diesel::table! {
    profiles (account_id) {
        account_id -> Uuid,
        domicile_province_code -> Text,
        domicile_regency_code -> Text,
        education_level -> Text,
        in_formal_education -> Bool,
        occupation -> Text,
        employment_status -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    ktp_photos (account_id) {
        account_id -> Uuid,
        content_type -> Text,
        size_bytes -> Int4,
        ciphertext -> Bytea,
        uploaded_at -> Timestamptz,
    }
}

diesel::table! {
    face_enrollments (account_id) {
        account_id -> Uuid,
        face_id -> Text,
        enrolled_at -> Timestamptz,
    }
}

diesel::table! {
    questionnaires (account_id) {
        account_id -> Uuid,
        motivation -> Text,
        preferred_skills -> Array<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    statements (account_id) {
        account_id -> Uuid,
        agreed_at -> Timestamptz,
    }
}

diesel::table! {
    aptitude_questions (id) {
        id -> Text,
        position -> Int4,
        text -> Text,
        options -> Jsonb,
        correct_option -> Text,
    }
}

diesel::table! {
    aptitude_submissions (account_id) {
        account_id -> Uuid,
        score -> Int4,
        answers -> Jsonb,
        submitted_at -> Timestamptz,
    }
}

diesel::table! {
    batches (id) {
        id -> Uuid,
        name -> Text,
        opens_at -> Timestamptz,
        closes_at -> Timestamptz,
        quota -> Int4,
        province_codes -> Array<Text>,
        training_idr -> Int8,
        incentive_monthly_idr -> Int8,
        incentive_months -> Int4,
        survey_incentive_idr -> Int8,
        survey_count -> Int4,
        seed -> Nullable<Bytea>,
        selection_state -> Text,
        selected_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    applications (id) {
        id -> Uuid,
        batch_id -> Uuid,
        account_id -> Uuid,
        status -> Text,
        decision_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    pending_applications (application_id) {
        application_id -> Uuid,
        account_id -> Uuid,
        batch_id -> Uuid,
    }
}

diesel::table! {
    cards (id) {
        id -> Uuid,
        account_id -> Uuid,
        batch_id -> Uuid,
        application_id -> Uuid,
        card_number -> Text,
        status -> Text,
        kk_index -> Bytea,
        kk_slot -> Int2,
        purchase_deadline -> Date,
        issued_at -> Timestamptz,
        deactivated_at -> Nullable<Timestamptz>,
        deactivation_reason -> Nullable<Text>,
    }
}

diesel::table! {
    ledger_accounts (id) {
        id -> Uuid,
        kind -> Text,
        card_id -> Nullable<Uuid>,
        partner_id -> Nullable<Uuid>,
        balance_idr -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    journal_entries (id) {
        id -> Uuid,
        kind -> Text,
        reference -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_postings (id) {
        id -> Int8,
        entry_id -> Uuid,
        account_id -> Uuid,
        amount_idr -> Int8,
        balance_after_idr -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    partners (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        secret_ciphertext -> Nullable<Bytea>,
        previous_secret_ciphertext -> Nullable<Bytea>,
        previous_secret_valid_until -> Nullable<Timestamptz>,
        secret_rotated_at -> Nullable<Timestamptz>,
        status -> Text,
        disabled_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        capabilities -> Array<Text>,
    }
}

diesel::table! {
    accepted_signatures (signer, signature) {
        signer -> Text,
        signature -> Bytea,
        signed_at -> Timestamptz,
        accepted_at -> Timestamptz,
    }
}

/// SQL types Diesel does not define.
pub mod sql_types {
    /// PostgreSQL's `tsvector` (only ever read by raw search SQL).
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "tsvector"))]
    pub struct Tsvector;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    courses (id) {
        id -> Uuid,
        partner_id -> Uuid,
        external_id -> Text,
        title -> Text,
        description -> Text,
        category -> Text,
        delivery -> Text,
        price_idr -> Int8,
        starts_at -> Timestamptz,
        duration_hours -> Int4,
        level -> Text,
        institution -> Text,
        location -> Nullable<Text>,
        rating_count -> Int4,
        rating_sum -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        /// Generated from title, category, institution and description.
        search -> Nullable<Tsvector>,
    }
}

diesel::table! {
    course_reviews (purchase_id) {
        purchase_id -> Uuid,
        course_id -> Uuid,
        account_id -> Uuid,
        rating -> Int2,
        comment -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    purchases (id) {
        id -> Uuid,
        card_id -> Uuid,
        account_id -> Uuid,
        partner_id -> Uuid,
        course_id -> Uuid,
        platform_user_id -> Text,
        course_title -> Text,
        delivery -> Text,
        price_idr -> Int8,
        starts_at -> Timestamptz,
        duration_hours -> Int4,
        course_terms -> Jsonb,
        status -> Text,
        redeem_code -> Text,
        voucher_code -> Nullable<Text>,
        purchased_at -> Timestamptz,
        cancel_deadline -> Nullable<Date>,
        cancelled_at -> Nullable<Timestamptz>,
        cancellation_reason -> Nullable<Text>,
        redeemed_at -> Nullable<Timestamptz>,
        expired_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        certificate_url -> Nullable<Text>,
        post_test_score -> Nullable<Int2>,
        reviewed_at -> Nullable<Timestamptz>,
        face_passed_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    platform_bindings (partner_id, platform_user_id) {
        partner_id -> Uuid,
        platform_user_id -> Text,
        card_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    face_checks (id) {
        id -> Uuid,
        purchase_id -> Uuid,
        account_id -> Uuid,
        check_date -> Date,
        source -> Text,
        outcome -> Text,
        score -> Nullable<Float8>,
        created_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    payout_accounts (id) {
        id -> Uuid,
        account_id -> Uuid,
        provider -> Text,
        account_number_ciphertext -> Bytea,
        holder_name_ciphertext -> Bytea,
        masked_account -> Text,
        linked_at -> Timestamptz,
        unlinked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    surveys (id) {
        id -> Text,
        position -> Int4,
        title -> Text,
        opens_after_months -> Int4,
        questions -> Jsonb,
    }
}

diesel::table! {
    incentive_schedules (account_id) {
        account_id -> Uuid,
        card_id -> Uuid,
        purchase_id -> Uuid,
        finished_on -> Date,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    incentives (id) {
        id -> Uuid,
        account_id -> Uuid,
        card_id -> Uuid,
        kind -> Text,
        installment -> Int4,
        amount_idr -> Int8,
        due_on -> Date,
        status -> Text,
        survey_id -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        paid_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    payout_attempts (id) {
        id -> Uuid,
        incentive_id -> Uuid,
        payout_account_id -> Uuid,
        amount_idr -> Int8,
        status -> Text,
        provider_id -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        sends -> Int4,
        next_send_at -> Nullable<Timestamptz>,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        settled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    payout_callbacks (event_id) {
        event_id -> Text,
        reference -> Text,
        status -> Text,
        failure_reason -> Nullable<Text>,
        effect -> Text,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    survey_responses (account_id, survey_id) {
        account_id -> Uuid,
        survey_id -> Text,
        answers -> Jsonb,
        submitted_at -> Timestamptz,
    }
}

diesel::table! {
    report_sequences (year) {
        year -> Int4,
        last_number -> Int4,
    }
}

diesel::table! {
    reports (id) {
        id -> Uuid,
        year -> Int4,
        number -> Int4,
        reference -> Text,
        account_id -> Nullable<Uuid>,
        category -> Text,
        status -> Text,
        description_ciphertext -> Bytea,
        contact_email_ciphertext -> Bytea,
        upload_token_hash -> Bytea,
        upload_token_expires_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    report_messages (id) {
        id -> Uuid,
        report_id -> Uuid,
        author -> Text,
        author_id -> Nullable<Uuid>,
        body_ciphertext -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    report_attachments (id) {
        id -> Uuid,
        report_id -> Uuid,
        kind -> Text,
        content_type -> Text,
        size_bytes -> Int4,
        ciphertext -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    nik_claims (account_id) {
        account_id -> Uuid,
        nik_index -> Bytea,
        claimed_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    vacancies (id) {
        id -> Uuid,
        partner_id -> Uuid,
        external_id -> Text,
        title -> Text,
        company -> Text,
        description -> Text,
        requirements -> Text,
        province_code -> Text,
        regency_code -> Text,
        employment_type -> Text,
        skills -> Array<Text>,
        apply_url -> Text,
        closes_on -> Date,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        /// Generated: `prakerja_skill_key` of each skill, distinct.
        skill_keys -> Nullable<Array<Text>>,
        /// Generated from title, company, skills, description and requirements.
        search -> Nullable<Tsvector>,
    }
}

diesel::joinable!(account_tokens -> accounts (account_id));
diesel::joinable!(otp_challenges -> accounts (account_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(identities -> accounts (account_id));
diesel::joinable!(profiles -> accounts (account_id));
diesel::joinable!(applications -> batches (batch_id));
diesel::joinable!(applications -> accounts (account_id));
diesel::joinable!(pending_applications -> applications (application_id));
diesel::joinable!(cards -> accounts (account_id));
diesel::joinable!(cards -> batches (batch_id));
diesel::joinable!(ledger_accounts -> cards (card_id));
diesel::joinable!(ledger_accounts -> partners (partner_id));
diesel::joinable!(ledger_postings -> journal_entries (entry_id));
diesel::joinable!(ledger_postings -> ledger_accounts (account_id));
diesel::joinable!(purchases -> cards (card_id));
diesel::joinable!(purchases -> accounts (account_id));
diesel::joinable!(purchases -> partners (partner_id));
diesel::joinable!(platform_bindings -> cards (card_id));
diesel::joinable!(platform_bindings -> partners (partner_id));
diesel::joinable!(face_checks -> purchases (purchase_id));
diesel::joinable!(payout_accounts -> accounts (account_id));
diesel::joinable!(incentive_schedules -> accounts (account_id));
diesel::joinable!(incentives -> accounts (account_id));
diesel::joinable!(incentives -> cards (card_id));
diesel::joinable!(incentives -> surveys (survey_id));
diesel::joinable!(payout_attempts -> incentives (incentive_id));
diesel::joinable!(payout_attempts -> payout_accounts (payout_account_id));
diesel::joinable!(survey_responses -> surveys (survey_id));
diesel::joinable!(courses -> partners (partner_id));
diesel::joinable!(purchases -> courses (course_id));
diesel::joinable!(course_reviews -> purchases (purchase_id));
diesel::joinable!(course_reviews -> courses (course_id));
diesel::joinable!(course_reviews -> accounts (account_id));
diesel::joinable!(reports -> accounts (account_id));
diesel::joinable!(report_messages -> reports (report_id));
diesel::joinable!(report_attachments -> reports (report_id));
diesel::joinable!(nik_claims -> accounts (account_id));
diesel::joinable!(vacancies -> partners (partner_id));

diesel::allow_tables_to_appear_in_same_query!(
    service_clock,
    rate_limit_events,
    request_counts,
    idempotency_keys,
    notifications,
    accounts,
    account_tokens,
    otp_challenges,
    sessions,
    refresh_tokens,
    audit_events,
    identities,
    profiles,
    ktp_photos,
    face_enrollments,
    questionnaires,
    statements,
    aptitude_questions,
    aptitude_submissions,
    batches,
    applications,
    pending_applications,
    cards,
    ledger_accounts,
    journal_entries,
    ledger_postings,
    partners,
    purchases,
    platform_bindings,
    face_checks,
    payout_accounts,
    surveys,
    incentive_schedules,
    incentives,
    payout_attempts,
    payout_callbacks,
    survey_responses,
    accepted_signatures,
    courses,
    course_reviews,
    report_sequences,
    reports,
    report_messages,
    report_attachments,
    nik_claims,
    vacancies,
);
