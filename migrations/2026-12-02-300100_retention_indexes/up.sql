-- The indexes the purge_expired_data job needs (api/src/retention.rs): each
-- purge picks its rows by age, which without these was a scan of the table.
CREATE INDEX rate_limit_events_occurred ON rate_limit_events (occurred_at);
CREATE INDEX otp_challenges_expires ON otp_challenges (expires_at);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);
CREATE INDEX sessions_finished ON sessions (LEAST(ended_at, expires_at));
CREATE INDEX notifications_finished ON notifications (created_at) WHERE status IN ('sent', 'failed');
