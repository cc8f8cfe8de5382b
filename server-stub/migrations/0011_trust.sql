-- What a sender may see and say: messages addressed within its recipient
-- set besides its own, and a display sender other than its name.
ALTER TABLE sender_limits ADD COLUMN read_addressed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sender_limits ADD COLUMN any_sender INTEGER NOT NULL DEFAULT 0;

-- When an account's API token was last used (to the minute), so that an
-- admin can tell a forgotten token from one in use before revoking it.
ALTER TABLE account_tokens ADD COLUMN last_used_at INTEGER;
