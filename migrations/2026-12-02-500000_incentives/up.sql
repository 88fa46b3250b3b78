-- Incentives (DOMAIN.md §4, §8; API.md Incentives and surveys): the payout
-- account, the schedule earned by finishing the first training, the installments
-- and survey incentives, the payout attempts that pay them, the provider's
-- callbacks, and the evaluation surveys with their answers.

-- A participant's bank account or e-wallet. Replacing one unlinks the old row
-- (kept: attempts name the account they paid). Number and holder are personal
-- data, sealed by the application; `masked_account` is what is shown.
CREATE TABLE payout_accounts (
    id                        uuid PRIMARY KEY,
    account_id                uuid NOT NULL REFERENCES accounts (id),
    provider                  text NOT NULL CHECK (provider IN
        ('gopay', 'ovo', 'linkaja', 'dana',
         'bca', 'bri', 'bni', 'mandiri', 'btn', 'bsi', 'cimb', 'permata', 'danamon')),
    account_number_ciphertext bytea NOT NULL,
    holder_name_ciphertext    bytea NOT NULL,
    masked_account            text NOT NULL,
    linked_at                 timestamptz NOT NULL,
    unlinked_at               timestamptz,
    CHECK (unlinked_at IS NULL OR unlinked_at >= linked_at)
);
-- At most one linked account per participant.
CREATE UNIQUE INDEX payout_accounts_one_linked ON payout_accounts (account_id)
    WHERE unlinked_at IS NULL;

-- The evaluation surveys (shipped here; a wave's `survey_count` offers the first
-- that many). Each opens `opens_after_months` after the first training is finished.
CREATE TABLE surveys (
    id                 text PRIMARY KEY,
    position           integer NOT NULL UNIQUE CHECK (position >= 1),
    title              text NOT NULL,
    opens_after_months integer NOT NULL CHECK (opens_after_months >= 0),
    -- [{id, text, options[]}]: an empty `options` takes free text.
    questions          jsonb NOT NULL
);

-- The moment a beneficiary earned the post-training incentive (completion,
-- certificate and review of the first training, DOMAIN.md §8): once per
-- participant ever, by its primary key.
CREATE TABLE incentive_schedules (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id),
    card_id     uuid NOT NULL REFERENCES cards (id),
    purchase_id uuid NOT NULL UNIQUE REFERENCES purchases (id),
    -- The Asia/Jakarta date of the trigger: installment 1 is due that day,
    -- installment k on the same day k - 1 months later; surveys open from it.
    finished_on date NOT NULL,
    created_at  timestamptz NOT NULL
);

-- One installment of the post-training incentive, or one survey incentive.
CREATE TABLE incentives (
    id             uuid PRIMARY KEY,
    account_id     uuid NOT NULL REFERENCES accounts (id),
    card_id        uuid NOT NULL REFERENCES cards (id),
    kind           text NOT NULL CHECK (kind IN ('training', 'survey')),
    -- Training: 1..incentive_months; survey: the survey's position.
    installment    integer NOT NULL CHECK (installment >= 1),
    amount_idr     bigint NOT NULL CHECK (amount_idr > 0),
    due_on         date NOT NULL,
    status         text NOT NULL CHECK (status IN
        ('scheduled', 'awaiting_payout_account', 'processing', 'paid', 'failed')),
    survey_id      text REFERENCES surveys (id),
    failure_reason text,
    paid_at        timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    -- Each installment and each survey incentive exists once per participant.
    CONSTRAINT incentives_once UNIQUE (account_id, kind, installment),
    CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
    CHECK ((kind = 'survey') = (survey_id IS NOT NULL))
);
CREATE INDEX incentives_due ON incentives (due_on) WHERE status = 'scheduled';
CREATE INDEX incentives_account ON incentives (account_id, due_on, id);

-- One try to pay one installment to one payout account. Its id is the
-- provider's `Idempotency-Key` and `reference`, and the ledger reference of the
-- payment: retries of the same attempt reuse it.
CREATE TABLE payout_attempts (
    id                uuid PRIMARY KEY,
    incentive_id      uuid NOT NULL REFERENCES incentives (id),
    payout_account_id uuid NOT NULL REFERENCES payout_accounts (id),
    amount_idr        bigint NOT NULL CHECK (amount_idr > 0),
    status            text NOT NULL CHECK (status IN ('processing', 'completed', 'failed')),
    provider_id       text,
    failure_reason    text,
    -- Sends so far, the next one (null: nothing to send, the provider has it)
    -- and the lease of the worker sending it.
    sends             integer NOT NULL DEFAULT 0,
    next_send_at      timestamptz,
    locked_until      timestamptz,
    last_error        text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    settled_at        timestamptz,
    CHECK ((status = 'processing') = (settled_at IS NULL))
);
-- An installment has at most one attempt that has not failed: it can never be
-- paid twice, whatever workers, retries or callbacks do.
CREATE UNIQUE INDEX payout_attempts_one_live ON payout_attempts (incentive_id)
    WHERE status <> 'failed';
CREATE INDEX payout_attempts_to_send ON payout_attempts (next_send_at)
    WHERE status = 'processing' AND next_send_at IS NOT NULL;
CREATE INDEX payout_attempts_processing ON payout_attempts (created_at)
    WHERE status = 'processing';
CREATE INDEX payout_attempts_account ON payout_attempts (payout_account_id)
    WHERE status = 'processing';

-- Every verified callback, once per `event_id`: a repeat is acknowledged with no effect.
CREATE TABLE payout_callbacks (
    event_id       text PRIMARY KEY,
    reference      text NOT NULL,
    status         text NOT NULL,
    failure_reason text,
    -- What it did: settled, no_change, unknown_attempt.
    effect         text NOT NULL,
    received_at    timestamptz NOT NULL
);

CREATE TABLE survey_responses (
    account_id   uuid NOT NULL REFERENCES accounts (id),
    survey_id    text NOT NULL REFERENCES surveys (id),
    answers      jsonb NOT NULL,
    submitted_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, survey_id)
);

INSERT INTO surveys (id, position, title, opens_after_months, questions) VALUES
('survey-1', 1, 'Survei Evaluasi 1: Pelatihan Pertama', 0, '[
  {"id": "q1", "text": "Seberapa puas kamu dengan pelatihan yang kamu ikuti?", "options": ["sangat_puas", "puas", "cukup", "tidak_puas"]},
  {"id": "q2", "text": "Apakah materi pelatihan sesuai dengan kebutuhan kerja kamu?", "options": ["sangat_sesuai", "sesuai", "kurang_sesuai", "tidak_sesuai"]},
  {"id": "q3", "text": "Bagaimana cara kamu mengikuti pelatihan?", "options": ["webinar", "self_paced", "offline"]},
  {"id": "q4", "text": "Apa saran kamu untuk pelatihan ini?", "options": []}
]'),
('survey-2', 2, 'Survei Evaluasi 2: Penggunaan Insentif', 1, '[
  {"id": "q1", "text": "Untuk apa insentif Prakerja kamu gunakan?", "options": ["kebutuhan_harian", "modal_usaha", "mencari_kerja", "pelatihan_lain", "lainnya"]},
  {"id": "q2", "text": "Apakah kamu sedang mencari pekerjaan?", "options": ["ya", "tidak"]},
  {"id": "q3", "text": "Ceritakan manfaat program bagi kamu.", "options": []}
]'),
('survey-3', 3, 'Survei Evaluasi 3: Status Pekerjaan', 3, '[
  {"id": "q1", "text": "Apa status pekerjaan kamu saat ini?", "options": ["bekerja", "wirausaha", "belum_bekerja"]},
  {"id": "q2", "text": "Apakah keterampilan dari pelatihan membantu pekerjaan atau usaha kamu?", "options": ["sangat_membantu", "membantu", "kurang_membantu", "tidak_membantu"]},
  {"id": "q3", "text": "Pelatihan apa yang ingin kamu ikuti berikutnya?", "options": []}
]');
-- Waves may ask for up to 10 surveys: the later ones are follow-ups every 3 months.
INSERT INTO surveys (id, position, title, opens_after_months, questions)
SELECT 'survey-' || n, n, 'Survei Evaluasi ' || n || ': Tindak Lanjut', 3 * (n - 2), '[
  {"id": "q1", "text": "Apa status pekerjaan kamu saat ini?", "options": ["bekerja", "wirausaha", "belum_bekerja"]},
  {"id": "q2", "text": "Apakah penghasilan kamu berubah sejak mengikuti program?", "options": ["naik", "tetap", "turun"]},
  {"id": "q3", "text": "Ada hal lain yang ingin kamu sampaikan?", "options": []}
]'::jsonb
FROM generate_series(4, 10) AS n;
