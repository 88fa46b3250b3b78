-- GET /metrics counts the unpaid installments by state at every scrape: through
-- this partial index it never reads the paid rows (issue 18 item 5).
CREATE INDEX incentives_owed ON incentives (status) WHERE status <> 'paid';
