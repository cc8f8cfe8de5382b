-- The people who administer Herald, each with a role: 'admin' may do
-- everything; 'sender' may send within the limits of sender_limits. They
-- sign in to the console with a password (argon2, PHC string) or call the
-- API with tokens of their own. The static admin token stays, as the
-- account "admin-token" in the audit log.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

-- A sender's recipient set: whom they may target (user:, group:, host:
-- or all, comma-separated; a user is allowed also through an allowed
-- group), which severities, and whether they may ask for receipts.
CREATE TABLE sender_limits (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    targets    TEXT NOT NULL,
    severities TEXT NOT NULL,
    receipts   INTEGER NOT NULL
);

CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- Console sign-ins: the cookie's hash, and the CSRF token every change
-- must carry.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    source     TEXT NOT NULL
);

-- Who sent each message, for the audit and a sender's own list.
ALTER TABLE messages ADD COLUMN created_by TEXT NOT NULL DEFAULT '';

-- Each revision of a message: when, by whom, and what changed, in words.
-- Messages sent before this migration start their history at their
-- current revision.
CREATE TABLE message_revisions (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    revision   INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    by         TEXT NOT NULL,
    changes    TEXT NOT NULL,
    PRIMARY KEY (message_id, revision)
);
INSERT INTO message_revisions(message_id, revision, at, by, changes)
    SELECT id, revision, revised_at, '', 'sent' FROM messages;

-- What administrators did, kept for non-repudiation: nothing in the
-- product updates or deletes a row, and the triggers refuse it to anyone
-- who tries through SQL.
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit(at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;

-- The agent version each computer last polled with, for the fleet view.
ALTER TABLE hosts ADD COLUMN agent_version TEXT NOT NULL DEFAULT '';

-- Message templates for the console's compose page, shared by every
-- account: a fire drill is written once and sent many times.
CREATE TABLE templates (
    name       TEXT PRIMARY KEY COLLATE NOCASE,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    receipts   TEXT NOT NULL,
    valid_for  TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
