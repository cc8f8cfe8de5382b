-- Inbound push: the agents that take calls, at the address their last
-- announcing poll came from, with the key that signs calls to them.
CREATE TABLE push_listeners (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    host    TEXT NOT NULL,
    ip      TEXT NOT NULL,
    port    INTEGER NOT NULL,
    secret  TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, host)
);
