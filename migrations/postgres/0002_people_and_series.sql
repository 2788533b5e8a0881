-- Series, members and addresses: where each fact was learned, so `clerk people` and
-- `clerk series` can say, and corrections can outrank what was guessed from a header.

ALTER TABLE series ADD COLUMN configured BIGINT NOT NULL DEFAULT 0;    -- 1: a [[series]] entry
ALTER TABLE people ADD COLUMN learned_from TEXT;
ALTER TABLE addresses ADD COLUMN learned_from TEXT;                    -- the file, the mail, who corrected
ALTER TABLE addresses ADD COLUMN updated_at TEXT;
ALTER TABLE meetings ADD COLUMN title TEXT;
ALTER TABLE meetings ADD COLUMN learned_from TEXT;                     -- "minutes of 2018-02-21", ...

CREATE UNIQUE INDEX people_unique_name ON people (normalized_name);
CREATE UNIQUE INDEX meetings_by_series_date ON meetings (series_id, meeting_date);
CREATE INDEX addresses_by_person ON addresses (person_id);

-- Everyone who belongs to a series: configured, or named present/absent/secretary/approver in
-- one of its documents.
CREATE TABLE series_members (
    series_id    BIGINT NOT NULL REFERENCES series (id),
    person_id    BIGINT NOT NULL REFERENCES people (id),
    source       TEXT   NOT NULL,                  -- config | document
    learned_from TEXT,
    created_at   TEXT   NOT NULL,
    PRIMARY KEY (series_id, person_id)
);

-- Small facts about the installation, e.g. the hash of the directory file last read.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
