ALTER TABLE cards DROP CONSTRAINT cards_application_fkey;
ALTER TABLE cards ADD CONSTRAINT cards_application_id_fkey FOREIGN KEY (application_id) REFERENCES applications (id);
ALTER TABLE cards ADD CONSTRAINT cards_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES batches (id);
ALTER TABLE cards ADD CONSTRAINT cards_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE applications DROP CONSTRAINT applications_id_account_batch_key;
ALTER TABLE applications RESET (fillfactor);
CREATE INDEX applications_batch_status ON applications (batch_id, status);
CREATE UNIQUE INDEX applications_one_pending ON applications (account_id) WHERE status = 'pending';
DROP TABLE pending_applications;
