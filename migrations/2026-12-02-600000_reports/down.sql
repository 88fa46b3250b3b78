ALTER TABLE sessions DROP CONSTRAINT sessions_end_reason_check;
UPDATE sessions SET end_reason = 'blocked' WHERE end_reason = 'nik_transferred';
ALTER TABLE sessions ADD CONSTRAINT sessions_end_reason_check CHECK (end_reason IN
    ('logout', 'password_changed', 'password_reset', 'blocked', 'refresh_token_reused'));
DROP TABLE nik_claims;
DROP TABLE report_attachments;
DROP TABLE report_messages;
DROP TABLE reports;
DROP TABLE report_sequences;
