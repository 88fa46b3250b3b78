-- The sandbox inbox lists messages newest first in the order they were queued.
-- created_at is service-clock time, which a sandbox user may move backwards, so
-- it cannot order the queue; a sequence can.
ALTER TABLE notifications ADD COLUMN seq bigserial;
CREATE INDEX notifications_seq ON notifications (seq DESC);
CREATE INDEX notifications_recipient_seq ON notifications (recipient, seq DESC);
DROP INDEX notifications_recipient;
DROP INDEX notifications_created;
