-- Whom to tell when an outbox row is given up (a 5xx, or five days of temporary failures): the
-- secretary on whose behalf it was sent, and the language to tell them in ('sv' or 'en').
-- NULL for mail that goes to the secretary already (receipts, digests).
ALTER TABLE outbox ADD COLUMN tell_on_failure TEXT;
ALTER TABLE outbox ADD COLUMN tell_language TEXT;
