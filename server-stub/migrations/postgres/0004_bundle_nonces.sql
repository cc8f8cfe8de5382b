-- SQLite's migration 0010, for PostgreSQL.
-- The nonces of the bundles received, per peer, with the time each bundle
-- was made: a bundle whose nonce is here is a replay and is refused.
-- Kept as long as a bundle is good (bundle::WINDOW), pruned after.
CREATE TABLE bundle_nonces (
    peer    TEXT COLLATE nocase NOT NULL,
    nonce   TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (peer, nonce)
);
CREATE INDEX bundle_nonces_by_time ON bundle_nonces(created);
