-- Approval of minutes (justering): who must approve which version, their answers, and the
-- meeting's approval history.

ALTER TABLE meetings ADD COLUMN secretary_address TEXT;              -- who sent the minutes
ALTER TABLE meetings ADD COLUMN minutes_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN minutes_hash TEXT;                   -- of the version sent out

CREATE TABLE approvals (
    meeting_id   BIGINT  NOT NULL REFERENCES meetings (id),
    address      TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending',   -- pending | approved | changes
    requested_at TEXT    NOT NULL,
    answered_at  TEXT,
    PRIMARY KEY (meeting_id, address)
);

CREATE TABLE approval_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    at         TEXT   NOT NULL,
    what       TEXT   NOT NULL
);
