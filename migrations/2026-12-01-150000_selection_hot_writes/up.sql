-- Selection decides every application of a wave in one transaction: a million
-- rows at once (DOMAIN.md §3). With no index on `status`, deciding an
-- application is a heap-only (HOT) update: the new row version goes on the same
-- page and no index gets an entry for it, which is what makes that write cheap
-- (measured with bench/: 18 s of index work at a million applicants before).
--
-- 1. The rule "one pending application per account, across waves" moves from a
--    partial unique index on applications (WHERE status = 'pending') to a table
--    of its own: a row from joining a wave until that wave's selection, whose
--    primary key makes racing joins create exactly one application.
-- 2. The (batch_id, status) index goes: wave counts read the wave's rows through
--    UNIQUE (batch_id, account_id).
-- 3. A card names its application, account and wave through one foreign key
--    to the application (which references the account and the wave), instead
--    of three: the card's account and wave are then also its application's
--    (never checked before), and issuing a card checks one row, the application
--    selection has just written, rather than also locking a random account row.
-- 4. Each page of applications keeps room for the decided version of every row
--    on it (HOT needs the new version on the same page, and the old versions stay
--    until the selection commits). Only pages written from now on get the room.
CREATE TABLE pending_applications (
    application_id uuid PRIMARY KEY REFERENCES applications (id),
    -- Copied from the application in the statement that creates both.
    account_id     uuid NOT NULL UNIQUE,
    batch_id       uuid NOT NULL
);
INSERT INTO pending_applications (application_id, account_id, batch_id)
    SELECT id, account_id, batch_id FROM applications WHERE status = 'pending';
DROP INDEX applications_one_pending;
DROP INDEX applications_batch_status;
ALTER TABLE applications SET (fillfactor = 45);

ALTER TABLE applications ADD CONSTRAINT applications_id_account_batch_key UNIQUE (id, account_id, batch_id);
ALTER TABLE cards DROP CONSTRAINT cards_account_id_fkey;
ALTER TABLE cards DROP CONSTRAINT cards_batch_id_fkey;
ALTER TABLE cards DROP CONSTRAINT cards_application_id_fkey;
ALTER TABLE cards ADD CONSTRAINT cards_application_fkey
    FOREIGN KEY (application_id, account_id, batch_id) REFERENCES applications (id, account_id, batch_id);
