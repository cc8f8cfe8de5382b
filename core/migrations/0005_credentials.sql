-- Tokens the agent got by signing in (an enrollment key, later Kerberos),
-- per server and host: a token from one server means nothing to another.
CREATE TABLE credentials (
    server      TEXT NOT NULL,
    host        TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    token       TEXT NOT NULL,
    via         TEXT NOT NULL,
    obtained_at INTEGER NOT NULL,
    PRIMARY KEY (server, host)
);
