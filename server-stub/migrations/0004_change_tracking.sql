-- Per-scope change tracking. Every change still moves the one change
-- sequence (meta 'change_seq'); a stamp records the sequence's value at the
-- last change that concerns its scope: 'all', 'user:<id>' or 'host:<name>'.
-- An agent whose last full answer was computed at or after all three of its
-- stamps has nothing new, whatever happened to others since.
CREATE TABLE change_stamps (
    scope TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL
) WITHOUT ROWID;

-- A full poll starts from the recipients that name the agent, not from
-- every message; and finds "read by this user" without scanning everyone's
-- receipts of a message read by thousands.
CREATE INDEX recipients_by_name ON recipients(kind, name COLLATE NOCASE);
CREATE INDEX receipts_by_reader ON receipts(message_id, user_name, kind, revision);
