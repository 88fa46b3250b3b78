DROP INDEX otp_challenges_scope_open;
CREATE INDEX otp_challenges_account_open ON otp_challenges (account_id, purpose) WHERE state = 'open';
DELETE FROM otp_challenges WHERE purpose = 'purchase';
ALTER TABLE otp_challenges DROP COLUMN context;
ALTER TABLE otp_challenges DROP COLUMN budget_key;
ALTER TABLE otp_challenges DROP COLUMN scope_key;
ALTER TABLE otp_challenges DROP CONSTRAINT otp_challenges_purpose_check;
ALTER TABLE otp_challenges ADD CONSTRAINT otp_challenges_purpose_check
    CHECK (purpose IN ('login', 'phone'));
