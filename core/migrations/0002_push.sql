-- Push: the mode the server asks for, what the stream is doing (written by
-- the running agent for `status`), and push events in the exchange log.
ALTER TABLE sync_state ADD COLUMN push_mode TEXT NOT NULL DEFAULT 'off';
ALTER TABLE sync_state ADD COLUMN push_state TEXT;
ALTER TABLE exchange_log ADD COLUMN kind TEXT NOT NULL DEFAULT 'poll';
