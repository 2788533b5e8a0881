-- Several replicas on one database. Every *_ms column is Unix milliseconds on the database's own
-- clock, so replicas on different hosts compare leases against one clock.

-- The replicas that are running: each writes its row at every lease round and deletes it when it
-- stops; a row not seen for a lease period belongs to a replica that died.
CREATE TABLE replicas (
    replica_id TEXT   NOT NULL PRIMARY KEY,
    started_at TEXT   NOT NULL,
    seen_at_ms BIGINT NOT NULL
);

-- Who watches which mailbox: exactly one holder, until lease_until_ms; the holder renews it well
-- before then, and anyone may take it over after.
CREATE TABLE mailbox_leases (
    mailbox        TEXT   NOT NULL PRIMARY KEY,
    holder         TEXT   NOT NULL,
    lease_until_ms BIGINT NOT NULL,
    acquired_at    TEXT   NOT NULL
);

-- Who is sending an outbox row: claimed before any network I/O, claimable again once
-- claim_until_ms has passed (its holder died mid-send).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claim_until_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_by_mailbox ON outbox (mailbox, state, next_attempt_at_epoch);
