ALTER TABLE otp_challenges DROP COLUMN destination_ciphertext;
