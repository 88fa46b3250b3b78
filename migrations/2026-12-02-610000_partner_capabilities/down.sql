ALTER TABLE partners DROP CONSTRAINT partners_capabilities, DROP COLUMN capabilities;
