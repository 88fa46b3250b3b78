-- Spending the card (DOMAIN.md §5-§7, API.md Catalogue, purchases, cancellations,
-- redemption): purchases with their copy of the course's terms, the binding of
-- a platform's user ids to cards, and the face checks of a training.

CREATE TABLE purchases (
    id                  uuid PRIMARY KEY,
    card_id             uuid NOT NULL REFERENCES cards (id),
    account_id          uuid NOT NULL REFERENCES accounts (id),
    partner_id          uuid NOT NULL REFERENCES partners (id),
    -- The catalogue id (a key to the course is added with the catalogue).
    course_id           uuid NOT NULL,
    platform_user_id    text NOT NULL CHECK (char_length(platform_user_id) BETWEEN 1 AND 128),
    -- The course's terms as sold: every rule about the purchase reads these,
    -- so later edits of the course apply to new buyers only.
    course_title        text NOT NULL,
    delivery            text NOT NULL CHECK (delivery IN ('webinar', 'self_paced', 'offline')),
    price_idr           bigint NOT NULL CHECK (price_idr > 0),
    starts_at           timestamptz NOT NULL,
    duration_hours      integer NOT NULL CHECK (duration_hours > 0),
    -- The rest of the terms as shown to the buyer (category, level, institution, location …).
    course_terms        jsonb NOT NULL,
    status              text NOT NULL
        CHECK (status IN ('purchased', 'redeemed', 'completed', 'cancelled', 'expired')),
    redeem_code         text NOT NULL,
    voucher_code        text CHECK (char_length(voucher_code) BETWEEN 1 AND 64),
    purchased_at        timestamptz NOT NULL,
    -- The last Asia/Jakarta date to cancel: min(purchase date + 3, start date - 3);
    -- null when the training starts too soon to cancel at all.
    cancel_deadline     date,
    cancelled_at        timestamptz,
    cancellation_reason text CHECK (cancellation_reason IN
        ('schedule_conflict', 'wrong_course', 'found_better_course', 'personal_reasons', 'other')),
    redeemed_at         timestamptz,
    expired_at          timestamptz,
    completed_at        timestamptz,
    certificate_url     text CHECK (certificate_url LIKE 'https://%'),
    post_test_score     smallint CHECK (post_test_score BETWEEN 0 AND 100),
    reviewed_at         timestamptz,
    -- A passed face check opens redemption until then.
    face_passed_until   timestamptz,
    updated_at          timestamptz NOT NULL,
    -- Each state carries exactly the stamps of the moves that led to it.
    CONSTRAINT purchases_state_stamps CHECK (
        (status = 'cancelled') = (cancelled_at IS NOT NULL AND cancellation_reason IS NOT NULL)
        AND (status = 'expired') = (expired_at IS NOT NULL)
        AND (status IN ('redeemed', 'completed')) = (redeemed_at IS NOT NULL)
        AND (status = 'completed') = (completed_at IS NOT NULL AND certificate_url IS NOT NULL)
        AND (reviewed_at IS NULL OR status = 'completed')
    )
);
-- Redeem codes are unique (a collision, once in 2^60, is retried with a new code).
CREATE UNIQUE INDEX purchases_redeem_code ON purchases (redeem_code);
-- One open training per card (DOMAIN.md §5: the next only after the previous is
-- completed and reviewed): two purchases sent at once cannot both open one.
CREATE UNIQUE INDEX purchases_one_open_per_card ON purchases (card_id)
    WHERE status IN ('purchased', 'redeemed') OR (status = 'completed' AND reviewed_at IS NULL);
CREATE INDEX purchases_card ON purchases (card_id, purchased_at DESC);
CREATE INDEX purchases_account ON purchases (account_id, purchased_at DESC, id DESC);
-- A partner's change feed: `GET /v1/partner/purchases?updated_since=`.
CREATE INDEX purchases_partner_updated ON purchases (partner_id, updated_at, id);
-- The job `expire_purchases`: scheduled training still waiting for redemption.
CREATE INDEX purchases_awaiting_redemption ON purchases (starts_at)
    WHERE status = 'purchased' AND delivery IN ('webinar', 'offline');

-- One platform user id <-> one card per platform, in both directions (DOMAIN.md §5),
-- held by the two unique keys, never by a check-then-insert.
CREATE TABLE platform_bindings (
    partner_id       uuid NOT NULL REFERENCES partners (id),
    platform_user_id text NOT NULL CHECK (char_length(platform_user_id) BETWEEN 1 AND 128),
    card_id          uuid NOT NULL REFERENCES cards (id),
    created_at       timestamptz NOT NULL,
    CONSTRAINT platform_bindings_pkey PRIMARY KEY (partner_id, platform_user_id),
    CONSTRAINT platform_bindings_card_key UNIQUE (partner_id, card_id)
);

-- Face checks of a training (DOMAIN.md §7). An attempt is reserved (`pending`)
-- before the face service is called, so attempts sent at once cannot pass the
-- daily limit; a call the service could not answer is deleted (not counted).
CREATE TABLE face_checks (
    id          uuid PRIMARY KEY,
    purchase_id uuid NOT NULL REFERENCES purchases (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    -- The Asia/Jakarta date the daily limits count on.
    check_date  date NOT NULL,
    source      text NOT NULL CHECK (source IN ('participant', 'partner')),
    outcome     text NOT NULL CHECK (outcome IN ('pending', 'passed', 'failed')),
    score       double precision,
    created_at  timestamptz NOT NULL,
    decided_at  timestamptz,
    CONSTRAINT face_checks_decided CHECK ((outcome = 'pending') = (decided_at IS NULL))
);
CREATE INDEX face_checks_purchase_day ON face_checks (purchase_id, check_date);
CREATE INDEX face_checks_failed_account_day ON face_checks (account_id, check_date)
    WHERE outcome = 'failed';
