ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_reference_key;

-- Every account caches its balance again, and every posting its running balance.
UPDATE ledger_postings p SET balance_after_idr = r.running
    FROM (SELECT id, sum(amount_idr) OVER (PARTITION BY account_id ORDER BY id) AS running
          FROM ledger_postings) r
    WHERE r.id = p.id AND p.balance_after_idr IS NULL;
ALTER TABLE ledger_postings ALTER COLUMN balance_after_idr SET NOT NULL;
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_cached_balance;
UPDATE ledger_accounts a SET balance_idr =
    (SELECT coalesce(sum(p.amount_idr), 0) FROM ledger_postings p WHERE p.account_id = a.id)
    WHERE a.balance_idr IS NULL;
ALTER TABLE ledger_accounts ALTER COLUMN balance_idr SET NOT NULL;
ALTER TABLE ledger_accounts ALTER COLUMN balance_idr SET DEFAULT 0;

DROP INDEX ledger_accounts_partner;
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_partner_kind;
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_partner_id_fkey;
DROP TABLE partners;
