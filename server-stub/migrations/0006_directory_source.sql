-- Users and groups remember where they came from: 'local' (the admin
-- commands) or 'directory' (LDAP / Active Directory sync), which alone
-- may change the latter. A directory user disabled or gone from the
-- directory is kept, disabled: their agents still poll, and learn that
-- their messages are no longer addressed to them.
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN source TEXT NOT NULL DEFAULT 'local';

-- The outcome of each directory sync, for `directory status`.
CREATE TABLE directory_syncs (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    ok      INTEGER NOT NULL,
    summary TEXT NOT NULL
);
