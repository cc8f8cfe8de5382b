-- Languages, answers, fullscreen and sound (issue 30). `extras` is the
-- JSON of herald_protocol::Extras, NULL for a message without.
ALTER TABLE messages ADD COLUMN extras TEXT;
ALTER TABLE messages ADD COLUMN sound TEXT NOT NULL DEFAULT 'none';
-- The language of the version last put on screen, the revision it was
-- (the sound rings once per revision), and the answer the user chose.
ALTER TABLE messages ADD COLUMN shown_lang TEXT;
ALTER TABLE messages ADD COLUMN shown_revision INTEGER;
ALTER TABLE messages ADD COLUMN answer INTEGER;
-- An `answered` receipt's answer (1-based); the language shown.
ALTER TABLE outbox ADD COLUMN answer INTEGER;
ALTER TABLE outbox ADD COLUMN lang TEXT;
