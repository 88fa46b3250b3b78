-- The ledger, ready for purchases, refunds and payouts.

-- Partner platforms (issue 16 adds their secret, status and capabilities): a
-- partner's payable account now has a real key to its partner, one each.
CREATE TABLE partners (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL
);
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_partner_id_fkey
    FOREIGN KEY (partner_id) REFERENCES partners (id);
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_partner_kind
    CHECK ((kind = 'partner_payable') = (partner_id IS NOT NULL));
CREATE UNIQUE INDEX ledger_accounts_partner ON ledger_accounts (partner_id) WHERE partner_id IS NOT NULL;

-- No hot row: only card accounts cache a balance (a purchase checks it). The
-- programme, treasury, partner and incentive accounts are the sum of their
-- postings, so concurrent purchases and payments never queue on one row.
ALTER TABLE ledger_accounts ALTER COLUMN balance_idr DROP DEFAULT;
ALTER TABLE ledger_accounts ALTER COLUMN balance_idr DROP NOT NULL;
UPDATE ledger_accounts SET balance_idr = NULL WHERE kind <> 'participant_card';
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_cached_balance
    CHECK ((kind = 'participant_card') = (balance_idr IS NOT NULL));
ALTER TABLE ledger_postings ALTER COLUMN balance_after_idr DROP NOT NULL;
UPDATE ledger_postings p SET balance_after_idr = NULL
    FROM ledger_accounts a WHERE a.id = p.account_id AND a.kind <> 'participant_card';

-- One cause posts once: a duplicate webhook or a retried job cannot pay twice.
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_kind_reference_key UNIQUE (kind, reference);
