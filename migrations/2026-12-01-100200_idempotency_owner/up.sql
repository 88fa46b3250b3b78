-- The request that claimed a key owns it: a random token set at the claim and
-- replaced when an abandoned key is taken over. Completing, renewing or
-- releasing a key is conditional on the token, so only the owner of the lease
-- can finish it, and a request whose lease was taken over cannot commit.
ALTER TABLE idempotency_keys ADD COLUMN owner uuid;
