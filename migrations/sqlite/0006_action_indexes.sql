-- A reminder pass reads only the owners with an action near (due soon, or in a series meeting
-- soon): these make finding them cost what is due, not what is stored.
CREATE INDEX actions_by_due ON actions (state, due);
CREATE INDEX actions_by_series ON actions (series_id, state);
CREATE INDEX meetings_by_date ON meetings (status, meeting_date);
