-- Inbound push: the key the server signs its calls to this agent with.
ALTER TABLE sync_state ADD COLUMN push_secret TEXT;
