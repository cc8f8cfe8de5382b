-- Templates keep a message's other languages, answers, display (`extras`,
-- the JSON of herald_protocol::Extras, NULL for none) and sound (NULL: the
-- message's default).
ALTER TABLE templates ADD COLUMN extras TEXT;
ALTER TABLE templates ADD COLUMN sound TEXT;
