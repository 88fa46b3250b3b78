DROP INDEX notifications_finished;
DROP INDEX sessions_finished;
DROP INDEX account_tokens_expires;
DROP INDEX otp_challenges_expires;
DROP INDEX rate_limit_events_occurred;
