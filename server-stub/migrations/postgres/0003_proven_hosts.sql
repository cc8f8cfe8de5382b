-- SQLite's migration 0009, for PostgreSQL.
-- A computer's name is proven, not claimed. An agent proves it with a
-- token bound to the host (enrollment, or Kerberos with the machine's own
-- ticket); a user's own token or a user's Kerberos ticket only claims it.
-- Host-addressed messages reach proven agents only, and a host exclusion
-- holds against every unproven one.

-- Kerberos sign-in with a user's ticket proved the user, not the host.
ALTER TABLE host_tokens ADD COLUMN host_proven BIGINT NOT NULL DEFAULT 1;
UPDATE host_tokens SET host_proven = 0 WHERE via = 'kerberos';

-- Whether the host's last recorded contact proved its name. Hosts seen
-- before this migration are unproven until they prove it.
ALTER TABLE hosts ADD COLUMN proven BIGINT NOT NULL DEFAULT 0;

-- Whether the receipt came from an agent that proved its host. Receipts
-- recorded before this migration are kept as they were recorded.
ALTER TABLE receipts ADD COLUMN host_proven BIGINT NOT NULL DEFAULT 1;
