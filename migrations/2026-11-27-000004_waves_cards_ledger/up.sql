-- Waves (gelombang), applications, selection, cards and the double-entry ledger
-- (DOMAIN.md §2–§5). Programme rules that must hold under concurrency are
-- constraints here, not only checks in code.

CREATE TABLE batches (
    id                    uuid PRIMARY KEY,
    name                  text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    opens_at              timestamptz NOT NULL,
    closes_at             timestamptz NOT NULL,
    quota                 integer NOT NULL CHECK (quota > 0),
    -- Empty: the wave serves every province of domicile.
    province_codes        text[] NOT NULL DEFAULT '{}',
    training_idr          bigint NOT NULL CHECK (training_idr > 0),
    incentive_monthly_idr bigint NOT NULL CHECK (incentive_monthly_idr >= 0),
    incentive_months      integer NOT NULL CHECK (incentive_months >= 0),
    survey_incentive_idr  bigint NOT NULL CHECK (survey_incentive_idr >= 0),
    survey_count          integer NOT NULL CHECK (survey_count >= 0),
    -- The lottery seed, drawn once the wave has closed and published in the admin view.
    seed                  bytea,
    selection_state       text NOT NULL DEFAULT 'none' CHECK (selection_state IN ('none', 'running', 'done')),
    selected_at           timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    CHECK (closes_at > opens_at),
    CHECK (selection_state = 'none' OR seed IS NOT NULL)
);
CREATE INDEX batches_opens ON batches (opens_at DESC, id DESC);

CREATE TABLE applications (
    id          uuid PRIMARY KEY,
    batch_id    uuid NOT NULL REFERENCES batches (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'selected', 'not_selected')),
    -- Why an applicant was not selected (quota, kk_limit_reached, not_eligible, …): every selection explainable.
    decision_reason text,
    created_at  timestamptz NOT NULL,
    decided_at  timestamptz,
    UNIQUE (batch_id, account_id)
);
-- One pending application at a time, across waves: racing joins create exactly one.
CREATE UNIQUE INDEX applications_one_pending ON applications (account_id) WHERE status = 'pending';
CREATE INDEX applications_batch_status ON applications (batch_id, status);
CREATE INDEX applications_account ON applications (account_id, created_at DESC);

CREATE TABLE cards (
    id                uuid PRIMARY KEY,
    -- One card per person, ever.
    account_id        uuid NOT NULL UNIQUE REFERENCES accounts (id),
    batch_id          uuid NOT NULL REFERENCES batches (id),
    application_id    uuid NOT NULL UNIQUE REFERENCES applications (id),
    card_number       text NOT NULL UNIQUE CHECK (card_number ~ '^[0-9]{16}$'),
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    -- At most 2 beneficiaries per family card (KK), ever: each card takes one of
    -- the KK's two slots, and the unique pair makes a third impossible.
    kk_index          bytea NOT NULL,
    kk_slot           smallint NOT NULL CHECK (kk_slot IN (1, 2)),
    -- Asia/Jakarta date: the last day to buy the first training.
    purchase_deadline date NOT NULL,
    issued_at         timestamptz NOT NULL,
    deactivated_at    timestamptz,
    deactivation_reason text,
    UNIQUE (kk_index, kk_slot),
    CHECK ((status = 'deactivated') = (deactivated_at IS NOT NULL))
);
CREATE INDEX cards_active_deadline ON cards (purchase_deadline) WHERE status = 'active';
CREATE INDEX cards_batch ON cards (batch_id);

-- Double-entry ledger. Every movement is a journal entry whose postings sum to
-- zero; an account's balance is the sum of its postings (cached in
-- ledger_accounts.balance_idr, updated in the same statement batch).
CREATE TABLE ledger_accounts (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN (
                    'programme_funding',   -- the State budget allocated to the programme (source of every credit)
                    'treasury_return',     -- balances returned to the State Treasury (RKUN)
                    'participant_card',    -- a card's training balance
                    'partner_payable',     -- owed to a partner platform for trainings sold
                    'incentive_payable',   -- incentives earned, not yet paid
                    'incentive_paid')),    -- incentives disbursed to participants
    card_id     uuid UNIQUE REFERENCES cards (id),
    partner_id  uuid,
    balance_idr bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    CHECK ((kind = 'participant_card') = (card_id IS NOT NULL)),
    -- A card can never go below zero, whatever the code does.
    CHECK (kind <> 'participant_card' OR balance_idr >= 0)
);
-- The programme-level accounts exist once each.
CREATE UNIQUE INDEX ledger_accounts_singletons ON ledger_accounts (kind)
    WHERE kind IN ('programme_funding', 'treasury_return', 'incentive_payable', 'incentive_paid');

CREATE TABLE journal_entries (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('credit', 'purchase', 'refund', 'expiry', 'incentive_earned', 'incentive_paid')),
    -- What caused it: a card id, purchase id, incentive id …
    reference   text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX journal_entries_reference ON journal_entries (reference);

CREATE TABLE ledger_postings (
    id                bigserial PRIMARY KEY,
    entry_id          uuid NOT NULL REFERENCES journal_entries (id),
    account_id        uuid NOT NULL REFERENCES ledger_accounts (id),
    amount_idr        bigint NOT NULL CHECK (amount_idr <> 0),
    balance_after_idr bigint NOT NULL,
    created_at        timestamptz NOT NULL
);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id, id DESC);
CREATE INDEX ledger_postings_entry ON ledger_postings (entry_id);

-- Every journal entry balances, checked at commit for each entry touched.
CREATE FUNCTION ledger_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT sum(amount_idr) FROM ledger_postings WHERE entry_id = NEW.entry_id) <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance', NEW.entry_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_postings_balanced
    AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();

INSERT INTO ledger_accounts (id, kind, created_at) VALUES
    ('00000000-0000-0000-0000-000000000001', 'programme_funding', now()),
    ('00000000-0000-0000-0000-000000000002', 'treasury_return', now()),
    ('00000000-0000-0000-0000-000000000003', 'incentive_payable', now()),
    ('00000000-0000-0000-0000-000000000004', 'incentive_paid', now());
