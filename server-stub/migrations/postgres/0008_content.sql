-- Languages, answers, fullscreen and sound (issue 30). `extras` is the
-- JSON of herald_protocol::Extras, NULL for a message with none.
ALTER TABLE messages ADD COLUMN extras TEXT;
ALTER TABLE messages ADD COLUMN sound TEXT NOT NULL DEFAULT 'none';
-- An `answered` receipt's answer (1-based), and the language shown.
ALTER TABLE receipts ADD COLUMN answer BIGINT;
ALTER TABLE receipts ADD COLUMN lang TEXT;
-- Whether a sender may ask for answers, and send alerts fullscreen.
ALTER TABLE sender_limits ADD COLUMN answers BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sender_limits ADD COLUMN fullscreen BIGINT NOT NULL DEFAULT 0;
