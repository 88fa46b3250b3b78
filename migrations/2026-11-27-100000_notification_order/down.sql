CREATE INDEX notifications_created ON notifications (created_at DESC, id DESC);
CREATE INDEX notifications_recipient ON notifications (recipient, created_at DESC, id DESC);
DROP INDEX notifications_recipient_seq;
DROP INDEX notifications_seq;
ALTER TABLE notifications DROP COLUMN seq;
