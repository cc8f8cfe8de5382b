-- The nonces of the bundles received, per peer, with the time each bundle
-- was made: a bundle whose nonce is here is a replay and is refused.
-- Kept as long as a bundle is good (bundle::WINDOW), pruned after.
CREATE TABLE bundle_nonces (
    peer    TEXT NOT NULL COLLATE NOCASE,
    nonce   TEXT NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (peer, nonce)
);
CREATE INDEX bundle_nonces_by_time ON bundle_nonces(created);
