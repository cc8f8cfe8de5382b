-- What a sender may see and say: messages addressed within its recipient
-- set besides its own, and a display sender other than its name.
ALTER TABLE sender_limits ADD COLUMN read_addressed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sender_limits ADD COLUMN any_sender BIGINT NOT NULL DEFAULT 0;

-- When an account's API token was last used (to the minute).
ALTER TABLE account_tokens ADD COLUMN last_used_at BIGINT;
