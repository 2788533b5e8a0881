-- Invitations: what the last request for a meeting said, so only a material change raises
-- SEQUENCE, and the agenda and video link that go into it.

ALTER TABLE meetings ADD COLUMN agenda TEXT;                 -- agenda items, one per line
ALTER TABLE meetings ADD COLUMN url TEXT;                    -- video meeting link
ALTER TABLE meetings ADD COLUMN invited_fingerprint TEXT;    -- NULL: never invited
ALTER TABLE meetings ADD COLUMN cancel_sent BIGINT NOT NULL DEFAULT 0; 

-- attendance.role = 'invitee' rows carry each invited member's PARTSTAT.
CREATE INDEX attendance_by_person ON attendance (person_id);
