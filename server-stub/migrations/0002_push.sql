-- Messages whose changes agents hear of at once, through push.
ALTER TABLE messages ADD COLUMN immediate INTEGER NOT NULL DEFAULT 0;
