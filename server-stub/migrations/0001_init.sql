-- Times are Unix milliseconds (UTC) so that validity checks are integer compares.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE groups (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE
);

CREATE TABLE memberships (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE hosts (
    name       TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    last_user  TEXT NOT NULL
);

CREATE TABLE messages (
    id           TEXT PRIMARY KEY,
    revision     INTEGER NOT NULL,
    severity     TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    sender       TEXT NOT NULL,
    valid_from   INTEGER NOT NULL,
    valid_until  INTEGER NOT NULL,
    receipt      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    revised_at   INTEGER NOT NULL,
    withdrawn_at INTEGER
);

CREATE TABLE recipients (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,          -- user, group, host, all
    name       TEXT NOT NULL,          -- empty for all
    PRIMARY KEY (message_id, kind, name)
);

-- The user's name, not id: receipts outlive the account they came from.
CREATE TABLE receipts (
    message_id  TEXT NOT NULL REFERENCES messages(id),
    user_name   TEXT NOT NULL COLLATE NOCASE,
    host        TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (user_name, host, message_id, revision, kind)
);
CREATE INDEX receipts_by_message ON receipts(message_id);

-- What the server last told each agent (one per user and host), so that a
-- poll can answer with only the difference, and a cheap "nothing changed".
CREATE TABLE agent_sync (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    host        TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    seq_seen    INTEGER NOT NULL,
    next_change INTEGER NOT NULL,
    PRIMARY KEY (user_id, host)
);

CREATE TABLE deliveries (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    host       TEXT NOT NULL,
    message_id TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    PRIMARY KEY (user_id, host, message_id)
);
