-- Enrollment keys: an agent with no token presents one, with its user and
-- host, and gets a token bound to both. Only the key's hash is kept.
CREATE TABLE enroll_keys (
    id         TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL UNIQUE,
    hosts      TEXT,                  -- glob over host names; NULL: any
    created_at INTEGER NOT NULL,
    expires_at INTEGER,               -- NULL: never
    revoked_at INTEGER,
    enrolled   INTEGER NOT NULL DEFAULT 0
);

-- Tokens bound to one user on one computer (from an enrollment key, later
-- from Kerberos). A user's own token in `users` still works on any host.
-- One per user and host: enrolling again replaces it.
CREATE TABLE host_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    host       TEXT NOT NULL,
    via        TEXT NOT NULL,         -- 'enroll:<key id>'
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, host)
);
CREATE INDEX host_tokens_by_host ON host_tokens(host);
