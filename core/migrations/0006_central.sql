-- Settings the central server sets for agents beyond the poll (the
-- longest do-not-disturb, the default language) and where each came
-- from, as JSON.
ALTER TABLE sync_state ADD COLUMN central TEXT;
