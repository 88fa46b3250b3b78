-- The per-IP counters are bumped by every request of every route, each in a
-- commit of its own. Unlogged, that commit writes no WAL and so waits for no
-- disk flush: the upsert's row lock (shared by every request from one address
-- in one minute) is held for the statement, not for a flush, and the request
-- skips one fsync wait. What this gives up is fine for a one-minute ceiling
-- against floods: after a PostgreSQL crash the table starts empty (every
-- address gets a fresh minute), and standbys do not carry it (after a
-- failover the same). Every instance still shares it on the primary.
ALTER TABLE request_counts SET UNLOGGED;
