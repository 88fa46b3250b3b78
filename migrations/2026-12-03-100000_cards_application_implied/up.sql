-- One card per application already follows from two other constraints: a card
-- is unique per account (cards_account_id_key), and its application belongs to
-- that account (cards_application_fkey on (application_id, account_id,
-- batch_id)). Nothing looks a card up by its application, so the unique index
-- on application_id only cost selection an index insertion per new card.
ALTER TABLE cards DROP CONSTRAINT cards_application_id_key;
