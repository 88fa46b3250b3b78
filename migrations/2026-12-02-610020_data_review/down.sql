ALTER TABLE accounts DROP COLUMN data_confirmed_on;
