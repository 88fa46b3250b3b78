DROP TRIGGER ledger_postings_balanced ON ledger_postings;
DROP FUNCTION ledger_entry_balances();
DROP TABLE ledger_postings;
DROP TABLE journal_entries;
DROP TABLE ledger_accounts;
DROP TABLE cards;
DROP TABLE applications;
DROP TABLE batches;
