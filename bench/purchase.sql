-- pgbench replay of one POST /v1/partner/purchases (bench/run.sh purchase):
-- every statement the server sends for a purchase, in its order, as its
-- statement log shows them (log_statement = all on one request), with the
-- same parameters where they matter (the card, course, partner, challenge,
-- idempotency key and per-IP bucket of a planned purchase) and generated
-- values where the server generates them (ids, redeem code, hashes). A colon
-- before a letter is a pgbench variable even inside a literal, hence
-- concat_ws(chr(58), …) for the bucket names.
-- Run with -D from=K -D clients=C -D n=0: client c's n-th transaction buys
-- planned purchase K + c + C × (n - 1), so no card buys twice.
\set n :n + 1
\set k :from + :client_id + :clients * (:n - 1)
-- Bench only (the request carries these): the planned purchase.
SELECT card_number, partner_id AS pid, course_id AS cid, challenge_id AS chid, platform_user_id AS puid,
       concat_ws(chr(58), 'ip', 'POST /v1/partner/purchases', source_ip) AS ip_bucket, 'partner:' || partner_id AS signer,
       'bench-' || k AS idem_key, gen_random_uuid() AS owner, gen_random_uuid() AS purchase_id
FROM bench_purchase_plan WHERE k = :k \gset
-- The per-IP request counter (middleware).
INSERT INTO "request_counts" ("bucket", "window_start", "hits") VALUES (:ip_bucket, date_trunc('minute', now()), 1) ON CONFLICT ("bucket", "window_start") DO UPDATE SET "hits" = ("request_counts"."hits" + 1) RETURNING "request_counts"."hits";
-- The signature: the partner's keys, then the signature accepted once (and,
-- one request in 128, the sweep of signatures too old to replay).
SELECT "partners"."status", "partners"."capabilities", "partners"."secret_ciphertext", "partners"."previous_secret_ciphertext", "partners"."previous_secret_valid_until" FROM "partners" WHERE ("partners"."id" = :pid) LIMIT 1;
INSERT INTO accepted_signatures (signer, signature, signed_at, accepted_at) VALUES (:signer, sha256(gen_random_uuid()::text::bytea), date_trunc('second', now()), now()) ON CONFLICT DO NOTHING;
\set coin random(0, 127)
\if :coin = 0
DELETE FROM accepted_signatures WHERE (signer, signature) IN (SELECT signer, signature FROM accepted_signatures WHERE signed_at < now() - interval '10 minutes' LIMIT 10000);
\endif
-- The Idempotency-Key's claim.
INSERT INTO "idempotency_keys" ("caller", "route", "key", "request_hash", "state", "owner", "locked_until", "created_at") VALUES (:signer, 'POST /v1/partner/purchases', :idem_key, sha256(:idem_key::bytea), 'in_progress', :owner, now() + interval '1 minute', now()) ON CONFLICT DO NOTHING;
-- Reads before the transaction: card, holder and the buyer's facts, course.
SELECT "cards"."id", "cards"."account_id", "cards"."card_number", "cards"."status", "cards"."purchase_deadline", "accounts"."email", "accounts"."phone_ciphertext", "accounts"."phone_verified_at", "accounts"."blocked_at", "identities"."birth_date_ciphertext", "profiles"."in_formal_education" FROM ((("cards" INNER JOIN "accounts" ON ("cards"."account_id" = "accounts"."id")) LEFT OUTER JOIN "identities" ON ("identities"."account_id" = "cards"."account_id")) LEFT OUTER JOIN "profiles" ON ("profiles"."account_id" = "cards"."account_id")) WHERE ("cards"."card_number" = :card_number) LIMIT 1 \gset c_
SELECT id, partner_id, title, delivery, price_idr, starts_at, duration_hours, category, level, institution, location FROM courses WHERE id = :cid AND partner_id = :pid \gset co_
BEGIN;
-- 1. The code: found (for this card, course and platform), the card's
--    wrong-guess bucket locked, the row locked, the bucket's recent events,
--    the challenge consumed.
SELECT "otp_challenges"."id", "otp_challenges"."account_id", "otp_challenges"."purpose", "otp_challenges"."code_hash", "otp_challenges"."destination", "otp_challenges"."destination_ciphertext", "otp_challenges"."expires_at", "otp_challenges"."failed_attempts", "otp_challenges"."resends", "otp_challenges"."state", "otp_challenges"."created_at", "otp_challenges"."scope_key", "otp_challenges"."budget_key", "otp_challenges"."context" FROM "otp_challenges" WHERE (("otp_challenges"."id" = :chid) AND ("otp_challenges"."purpose" = 'purchase')) LIMIT 1;
SELECT pg_advisory_xact_lock(hashtextextended(concat_ws(chr(58), 'otp_wrong', 'purchase', 'card', :c_id::text), 7));
SELECT "otp_challenges"."id", "otp_challenges"."account_id", "otp_challenges"."purpose", "otp_challenges"."code_hash", "otp_challenges"."destination", "otp_challenges"."destination_ciphertext", "otp_challenges"."expires_at", "otp_challenges"."failed_attempts", "otp_challenges"."resends", "otp_challenges"."state", "otp_challenges"."created_at", "otp_challenges"."scope_key", "otp_challenges"."budget_key", "otp_challenges"."context" FROM "otp_challenges" WHERE ("otp_challenges"."id" = :chid) LIMIT 1 FOR UPDATE;
SELECT "rate_limit_events"."occurred_at" FROM "rate_limit_events" WHERE ((("rate_limit_events"."bucket" = concat_ws(chr(58), 'otp_wrong', 'purchase', 'card', :c_id::text)) AND ("rate_limit_events"."occurred_at" > now() - interval '2 hours')) AND ("rate_limit_events"."occurred_at" <= now())) ORDER BY "rate_limit_events"."occurred_at" DESC LIMIT 10;
UPDATE "otp_challenges" SET "state" = 'consumed' WHERE (("otp_challenges"."id" = :chid) AND ("otp_challenges"."state" = 'open')) RETURNING "otp_challenges"."id", "otp_challenges"."account_id", "otp_challenges"."purpose", "otp_challenges"."code_hash", "otp_challenges"."destination", "otp_challenges"."destination_ciphertext", "otp_challenges"."expires_at", "otp_challenges"."failed_attempts", "otp_challenges"."resends", "otp_challenges"."state", "otp_challenges"."created_at", "otp_challenges"."scope_key", "otp_challenges"."budget_key", "otp_challenges"."context";
-- 2. The rules: a cancelled purchase of this course, the balance, the latest purchase.
SELECT EXISTS (SELECT "purchases"."id" FROM "purchases" WHERE ((("purchases"."card_id" = :c_id) AND ("purchases"."course_id" = :cid)) AND ("purchases"."status" = 'cancelled')));
SELECT "ledger_accounts"."id", "ledger_accounts"."balance_idr" FROM "ledger_accounts" WHERE ("ledger_accounts"."card_id" = :c_id) LIMIT 1 \gset la_
SELECT "purchases"."status", "purchases"."reviewed_at", "purchases"."expired_at" FROM "purchases" WHERE (("purchases"."card_id" = :c_id) AND ("purchases"."status" != 'cancelled')) ORDER BY "purchases"."purchased_at" DESC LIMIT 1;
-- 3. The writes: the card shared, the binding, the partner's payable account,
--    the entry (in a savepoint) with the conditional debit, the purchase, the
--    message, the key's answer.
SELECT "cards"."id" FROM "cards" WHERE (("cards"."id" = :c_id) AND ("cards"."status" = 'active')) LIMIT 1 FOR SHARE;
INSERT INTO "platform_bindings" ("partner_id", "platform_user_id", "card_id", "created_at") VALUES (:pid, :puid, :c_id, now()) ON CONFLICT DO NOTHING;
SELECT "ledger_accounts"."id" FROM "ledger_accounts" WHERE ("ledger_accounts"."partner_id" = :pid) LIMIT 1 \gset pa_
SAVEPOINT diesel_savepoint_1;
INSERT INTO "journal_entries" ("id", "kind", "reference", "created_at") VALUES (gen_random_uuid(), 'purchase', :purchase_id, now()) ON CONFLICT ("kind", "reference") DO NOTHING RETURNING "journal_entries"."id" \gset je_
SELECT "ledger_accounts"."id", "ledger_accounts"."kind" FROM "ledger_accounts" WHERE ("ledger_accounts"."id" = ANY(ARRAY[:la_id::uuid, :pa_id::uuid]));
UPDATE "ledger_accounts" SET "balance_idr" = ("ledger_accounts"."balance_idr" + (-(:co_price_idr::bigint))) WHERE (("ledger_accounts"."id" = :la_id) AND (("ledger_accounts"."balance_idr" + (-(:co_price_idr::bigint))) >= 0)) RETURNING "ledger_accounts"."balance_idr" \gset b_
INSERT INTO "ledger_postings" ("entry_id", "account_id", "amount_idr", "balance_after_idr", "created_at") VALUES (:je_id, :la_id, -(:co_price_idr::bigint), :b_balance_idr, now()), (:je_id, :pa_id, :co_price_idr, NULL, now());
RELEASE SAVEPOINT diesel_savepoint_1;
INSERT INTO "purchases" ("id", "card_id", "account_id", "partner_id", "course_id", "platform_user_id", "course_title", "delivery", "price_idr", "starts_at", "duration_hours", "course_terms", "status", "redeem_code", "voucher_code", "purchased_at", "cancel_deadline", "updated_at") VALUES (:purchase_id, :c_id, :c_account_id, :pid, :cid, :puid, :co_title, :co_delivery, :co_price_idr, :co_starts_at, :co_duration_hours, jsonb_build_object('level', :co_level::text, 'category', :co_category::text, 'location', NULL::text, 'institution', :co_institution::text), 'purchased', upper(substr(md5(random()::text), 1, 12)), DEFAULT, now(), current_date + 3, now()) ON CONFLICT ("redeem_code") DO NOTHING RETURNING "purchases"."id", "purchases"."card_id", "purchases"."account_id", "purchases"."partner_id", "purchases"."course_id", "purchases"."platform_user_id", "purchases"."course_title", "purchases"."delivery", "purchases"."price_idr", "purchases"."starts_at", "purchases"."duration_hours", "purchases"."course_terms", "purchases"."status", "purchases"."redeem_code", "purchases"."voucher_code", "purchases"."purchased_at", "purchases"."cancel_deadline", "purchases"."cancelled_at", "purchases"."cancellation_reason", "purchases"."redeemed_at", "purchases"."expired_at", "purchases"."completed_at", "purchases"."certificate_url", "purchases"."post_test_score", "purchases"."reviewed_at", "purchases"."face_passed_until", "purchases"."updated_at";
INSERT INTO "notifications" ("id", "channel", "recipient", "template", "subject", "body", "data", "next_attempt_at", "created_at") VALUES (gen_random_uuid(), 'email', :c_email, 'purchase_confirmed', 'Pembelian Pelatihan', 'Pembelian pelatihan "' || :co_title::text || '" berhasil. Kode redeem kamu: 8ED949VSC1BP. Masukkan kode ini di situs lembaga pelatihan untuk memulai pelatihan; kode hanya dapat dipakai sekali. Kode juga tersedia di menu Pelatihan Saya.', jsonb_build_object('redeem_code', '8ED949VSC1BP', 'course_title', :co_title::text), now(), now());
UPDATE "idempotency_keys" SET "state" = 'completed', "response_status" = 201, "response_content_type" = 'application/json', "response_body" = convert_to('{"id":"' || :purchase_id::text || '","redeem_code":"8ED949VSC1BP","price_idr":' || :co_price_idr::text || ',"balance_after_idr":' || :b_balance_idr::text || '}', 'UTF8') WHERE ((("idempotency_keys"."caller" = :signer) AND (("idempotency_keys"."route" = 'POST /v1/partner/purchases') AND ("idempotency_keys"."key" = :idem_key))) AND ("idempotency_keys"."state" = 'in_progress')) AND ("idempotency_keys"."owner" = :owner);
COMMIT;
