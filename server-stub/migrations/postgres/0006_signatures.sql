-- Each message revision's signature by the server's Ed25519 key (kept in a
-- file, never here): the JSON the agent receives, and the signing key's id.
ALTER TABLE messages ADD COLUMN signature TEXT;
ALTER TABLE messages ADD COLUMN signing_key TEXT;
