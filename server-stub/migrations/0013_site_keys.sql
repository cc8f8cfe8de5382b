-- Site relays' message-signing keys. At the central server, on a site's
-- row: the keys its relay reported (JSON), which each bundle down
-- certifies. At a relay, on the central server's row: the central server's
-- keys (its agents trust them) and the certificates of this relay's keys.
ALTER TABLE peers ADD COLUMN site_keys TEXT;
ALTER TABLE peers ADD COLUMN central_keys TEXT;
ALTER TABLE peers ADD COLUMN key_certs TEXT;
