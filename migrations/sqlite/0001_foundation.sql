-- The foundation schema. Times are RFC 3339 UTC text; *_at_epoch columns are Unix seconds for ordering.

-- Per mailbox folder: the UIDVALIDITY seen and the highest UID already stored.
CREATE TABLE mailbox_state (
    mailbox      TEXT    NOT NULL,
    folder       TEXT    NOT NULL,
    uid_validity BIGINT  NOT NULL,
    last_uid     BIGINT  NOT NULL DEFAULT 0,
    connected    INTEGER NOT NULL DEFAULT 0,
    last_event   TEXT,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (mailbox, folder)
);

-- Every message as received, kept for audit and re-processing.
CREATE TABLE raw_messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox      TEXT    NOT NULL,
    uid_validity BIGINT  NOT NULL,
    uid          BIGINT  NOT NULL,
    message_key  TEXT    NOT NULL,          -- sha256 of the Message-ID, or of the bytes without one
    message_id   TEXT,
    sender       TEXT,
    subject      TEXT,
    raw          BLOB    NOT NULL,
    received_at  TEXT    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'new',   -- new | processed | quarantined
    outcome      TEXT,
    processed_at TEXT,
    moved        INTEGER NOT NULL DEFAULT 0,       -- 1 once moved out of the watched folder
    UNIQUE (mailbox, uid_validity, uid),
    UNIQUE (mailbox, message_key)
);
CREATE INDEX raw_messages_pending ON raw_messages (mailbox, state, moved);

CREATE TABLE series (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    series_key  TEXT NOT NULL UNIQUE,              -- normalised title + mailbox
    title       TEXT NOT NULL,
    mailbox     TEXT NOT NULL,
    time_zone   TEXT NOT NULL DEFAULT 'Europe/Stockholm',
    language    TEXT NOT NULL DEFAULT 'sv',
    created_at  TEXT NOT NULL
);

CREATE TABLE meetings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id      BIGINT  REFERENCES series (id),
    meeting_date   TEXT,
    start_time     TEXT,
    end_time       TEXT,
    place          TEXT,
    status         TEXT    NOT NULL DEFAULT 'planned',   -- planned | held | cancelled
    ical_uid       TEXT    NOT NULL UNIQUE,
    ical_sequence  INTEGER NOT NULL DEFAULT 0,
    approval_state TEXT    NOT NULL DEFAULT 'none',      -- none | requested | approved
    approval_due   TEXT,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);

-- A document found in a message, and what was understood of it. A corrected document is a new
-- version of the same meeting's document.
CREATE TABLE documents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    raw_message_id BIGINT  NOT NULL REFERENCES raw_messages (id),
    name           TEXT    NOT NULL,
    format         TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    language       TEXT    NOT NULL,
    text           TEXT    NOT NULL,
    understood     TEXT    NOT NULL,                     -- the parsed meeting as JSON
    meeting_id     BIGINT  REFERENCES meetings (id),
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT    NOT NULL
);

CREATE TABLE people (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    normalized_name TEXT NOT NULL,
    organization    TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX people_by_name ON people (normalized_name);

CREATE TABLE addresses (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id  BIGINT NOT NULL REFERENCES people (id),
    address    TEXT   NOT NULL UNIQUE,
    source     TEXT   NOT NULL,                          -- directory | header | correction | config
    created_at TEXT   NOT NULL
);

CREATE TABLE attendance (
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    person_id  BIGINT NOT NULL REFERENCES people (id),
    role       TEXT   NOT NULL,                          -- attendee | absent | secretary | approver | chair
    partstat   TEXT   NOT NULL DEFAULT 'NEEDS-ACTION',
    PRIMARY KEY (meeting_id, person_id, role)
);

CREATE TABLE actions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id       BIGINT REFERENCES series (id),
    meeting_id      BIGINT REFERENCES meetings (id),
    owner_text      TEXT   NOT NULL,
    owner_person_id BIGINT REFERENCES people (id),
    text            TEXT   NOT NULL,
    due             TEXT,
    state           TEXT   NOT NULL DEFAULT 'open',      -- open | done | dropped
    created_at      TEXT   NOT NULL,
    updated_at      TEXT   NOT NULL
);

CREATE TABLE action_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id BIGINT NOT NULL REFERENCES actions (id),
    at        TEXT   NOT NULL,
    state     TEXT   NOT NULL,
    note      TEXT,
    source    TEXT   NOT NULL
);

-- Every outgoing mail, rendered once to its final bytes in the same transaction as the state
-- change that causes it. A retry sends the same bytes (same Message-ID).
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key       TEXT    NOT NULL UNIQUE,            -- what this mail is about; never two rows for one
    kind             TEXT    NOT NULL,                   -- receipt | invitation | approval | reminder | ...
    mailbox          TEXT    NOT NULL,
    envelope_from    TEXT    NOT NULL,
    recipients       TEXT    NOT NULL,                   -- comma-separated addresses
    message_id       TEXT    NOT NULL,
    raw              BLOB    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_epoch BIGINT NOT NULL,
    last_error       TEXT,
    created_at       TEXT    NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_epoch);

-- What went wrong recently, for `clerk status`.
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    level   TEXT NOT NULL,
    mailbox TEXT,
    message TEXT NOT NULL
);
