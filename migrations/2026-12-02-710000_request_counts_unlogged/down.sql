ALTER TABLE request_counts SET LOGGED;
