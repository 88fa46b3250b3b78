-- One OTP module for every purpose: login, phone, and the purchase code a
-- partner platform asks for (API.md Purchases). A challenge now says what it is
-- about (scope_key: a new challenge supersedes the open ones of the same purpose
-- and scope; the account for login and phone, card + course + partner for a
-- purchase), whose budgets it spends (budget_key: the account, or the card),
-- and what it was issued for (context: for a purchase, the card, course,
-- partner and the price shown).
ALTER TABLE otp_challenges DROP CONSTRAINT otp_challenges_purpose_check;
ALTER TABLE otp_challenges ADD CONSTRAINT otp_challenges_purpose_check
    CHECK (purpose IN ('login', 'phone', 'purchase'));
ALTER TABLE otp_challenges ADD COLUMN scope_key text;
ALTER TABLE otp_challenges ADD COLUMN budget_key text;
ALTER TABLE otp_challenges ADD COLUMN context jsonb;
UPDATE otp_challenges SET scope_key = 'account:' || account_id, budget_key = 'account:' || account_id;
ALTER TABLE otp_challenges ALTER COLUMN scope_key SET NOT NULL;
ALTER TABLE otp_challenges ALTER COLUMN budget_key SET NOT NULL;
DROP INDEX otp_challenges_account_open;
CREATE INDEX otp_challenges_scope_open ON otp_challenges (purpose, scope_key) WHERE state = 'open';
