-- Every journal entry balances: checked once per INSERT statement into
-- ledger_postings, over all the postings of each entry the statement wrote to,
-- in one set-based query. It replaces a deferred trigger that ran a query per
-- posting at commit (two per card credit: 200,000 queries when selection issues
-- 100,000 cards, measured with bench/). An entry's postings are written by one
-- statement (card::ledger does so), so the check sees each entry whole; an
-- entry left unbalanced now fails at that statement instead of at commit.
DROP TRIGGER ledger_postings_balanced ON ledger_postings;
DROP FUNCTION ledger_entry_balances();
CREATE FUNCTION ledger_entries_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced uuid;
BEGIN
    SELECT e.entry_id INTO unbalanced
      FROM (SELECT DISTINCT entry_id FROM new_postings) e,
           LATERAL (SELECT sum(p.amount_idr) AS total FROM ledger_postings p WHERE p.entry_id = e.entry_id) s
     WHERE s.total <> 0
     LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance', unbalanced USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_postings_balanced
    AFTER INSERT ON ledger_postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_balance();
