DROP INDEX incentives_owed;
