-- Issue 14 item 5: no plaintext copy of an email or phone number where it is
-- not needed. A challenge keeps its destination sealed (the PII cipher, bound
-- to the challenge) and only the masked form in `destination`; rows written
-- before this keep theirs until they close (minutes), and closed ones lose it now.
ALTER TABLE otp_challenges ADD COLUMN destination_ciphertext bytea;
UPDATE otp_challenges SET destination = '(removed)' WHERE state <> 'open' OR expires_at < now();
