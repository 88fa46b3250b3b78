DROP TABLE notifications;
DROP TABLE idempotency_keys;
DROP TABLE rate_limit_events;
DROP TABLE service_clock;
