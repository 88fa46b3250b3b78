DROP TABLE audit_events;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE otp_challenges;
DROP TABLE account_tokens;
DROP TABLE accounts;
