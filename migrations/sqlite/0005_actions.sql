-- Actions: one row per owner person (a group's action is one row per member), so the same
-- minutes mailed twice add nothing; reminders and digests sent, and what their numbers meant.

ALTER TABLE actions ADD COLUMN owner_key BIGINT NOT NULL DEFAULT 0;   -- owner_person_id, or 0
CREATE UNIQUE INDEX actions_once ON actions (meeting_id, owner_text, text, owner_key);
CREATE INDEX actions_by_owner ON actions (owner_person_id, state);
CREATE INDEX action_events_by_action ON action_events (action_id);

-- A reminder or digest queued in the outbox (by its dedupe key), for tying a reply to it.
CREATE TABLE reminders (
    dedupe_key TEXT   NOT NULL PRIMARY KEY,          -- the outbox row's dedupe key
    kind       TEXT   NOT NULL,                      -- reminder | digest
    person_id  BIGINT REFERENCES people (id),        -- the owner reminded (reminders)
    meeting_id BIGINT REFERENCES meetings (id),      -- the meeting prepared (digests)
    language   TEXT   NOT NULL,
    occasion   TEXT   NOT NULL,                      -- the schedule's firing, RFC 3339 UTC
    created_at TEXT   NOT NULL
);

-- The numbered items of a reminder: "Klart 2" closes the action numbered 2 in that mail.
CREATE TABLE reminder_items (
    dedupe_key TEXT   NOT NULL REFERENCES reminders (dedupe_key),
    number     INTEGER NOT NULL,
    action_id  BIGINT NOT NULL REFERENCES actions (id),
    PRIMARY KEY (dedupe_key, number)
);
