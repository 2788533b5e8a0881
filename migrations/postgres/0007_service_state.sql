-- What the running daemon reports about each watched folder, for `clerk status` and /healthz
-- run from another process: the last IDLE event and when the daemon last vouched for the row
-- (a crashed daemon leaves connected = 1 behind; a stale seen_at shows it).
ALTER TABLE mailbox_state ADD COLUMN last_idle_event TEXT;
ALTER TABLE mailbox_state ADD COLUMN last_idle_at TEXT;
ALTER TABLE mailbox_state ADD COLUMN seen_at TEXT;   -- real wall time, RFC 3339 UTC
