-- Times are Unix milliseconds. Message times and receipt times are server
-- time; local bookkeeping times (exchange log, attempts) are local time.
CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    revision      INTEGER NOT NULL,
    severity      TEXT NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    sender        TEXT NOT NULL,
    valid_from    INTEGER NOT NULL,
    valid_until   INTEGER NOT NULL,
    receipt       TEXT NOT NULL,
    revised_at    INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    -- staged, shown, cancelled, read, expired, withdrawn
    state         TEXT NOT NULL,
    state_at      INTEGER NOT NULL,
    read_revision INTEGER,
    -- Why the server stopped it, when it did (e.g. read on another computer).
    note          TEXT
);

-- Receipts waiting to be sent, and those sent (sent_at), kept for history.
-- One row per event: the same message, revision and kind is queued once.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    at         INTEGER NOT NULL,
    sent_at    INTEGER,
    UNIQUE (message_id, revision, kind)
);
CREATE INDEX outbox_pending ON outbox(sent_at) WHERE sent_at IS NULL;

CREATE TABLE sync_state (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    server             TEXT,
    cursor             TEXT,
    clock_offset_ms    INTEGER NOT NULL DEFAULT 0,
    last_attempt       INTEGER,
    last_success       INTEGER,
    last_error         TEXT,
    failures           INTEGER NOT NULL DEFAULT 0,
    poll_interval_secs INTEGER,
    version_warning    TEXT,
    next_poll          INTEGER
);
INSERT INTO sync_state(id) VALUES (1);

CREATE TABLE exchange_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    server      TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    receipts    INTEGER NOT NULL,
    received    INTEGER NOT NULL,
    stopped     INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    error       TEXT
);
