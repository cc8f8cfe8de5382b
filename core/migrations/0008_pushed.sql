-- Messages taken from the push stream since the last poll (issue 31): the
-- next poll names them, so that the server's record of what this agent
-- holds includes them; a poll's answer clears the ones it named.
CREATE TABLE pushed (
    message_id TEXT PRIMARY KEY,
    revision   INTEGER NOT NULL
);
