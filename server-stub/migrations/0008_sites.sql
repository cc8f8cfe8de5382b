-- Multi-site exchange. At the central server each peer is a site relay;
-- at a relay the one peer is the central server, under the site's name.
-- Numbers count bundles per direction: `sent` is ours, `applied` the
-- highest of theirs we applied, `acked` the highest of ours they applied.
CREATE TABLE peers (
    name          TEXT PRIMARY KEY COLLATE NOCASE,
    transport     TEXT NOT NULL,
    mail_address  TEXT,
    public_key    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- Expected seconds between exchanges: beyond twice that, overdue.
    every_secs    INTEGER NOT NULL DEFAULT 3600,
    sent          INTEGER NOT NULL DEFAULT 0,
    applied       INTEGER NOT NULL DEFAULT 0,
    acked         INTEGER NOT NULL DEFAULT 0,
    -- Changes up to this time (our clock) are held by the other side.
    acked_as_of   INTEGER NOT NULL DEFAULT 0,
    last_received INTEGER,
    last_attempt  INTEGER,
    last_error    TEXT,
    peer_version  TEXT
);

-- Up to when each bundle we sent held changes: their ack moves
-- `acked_as_of` to it.
CREATE TABLE bundles_sent (
    peer   TEXT NOT NULL COLLATE NOCASE,
    number INTEGER NOT NULL,
    as_of  INTEGER NOT NULL,
    PRIMARY KEY (peer, number)
);

-- A site's inventory, as its relay reported it: kind 'user' or 'host'.
CREATE TABLE site_members (
    site          TEXT NOT NULL COLLATE NOCASE,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL COLLATE NOCASE,
    last_seen     INTEGER NOT NULL,
    agent_version TEXT,
    last_user     TEXT,
    PRIMARY KEY (site, kind, name)
);

-- The trace of exchanges, for people: newest or oldest first, deletable.
CREATE TABLE exchange_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    site    TEXT NOT NULL,
    event   TEXT NOT NULL,
    number  INTEGER,
    outcome TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX exchange_log_by_time ON exchange_log(at);

-- Settings for agents, set at the central server for all sites (site '')
-- or one site, and at a relay as the central server sent them.
CREATE TABLE prefs (
    site  TEXT NOT NULL COLLATE NOCASE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (site, key)
);
