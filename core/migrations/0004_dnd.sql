-- Do-not-disturb: when it ends (local time), so that it survives a restart.
ALTER TABLE sync_state ADD COLUMN dnd_until INTEGER;
