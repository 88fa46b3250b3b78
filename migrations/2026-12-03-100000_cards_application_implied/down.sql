ALTER TABLE cards ADD CONSTRAINT cards_application_id_key UNIQUE (application_id);
