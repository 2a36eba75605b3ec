-- A per-session version that every write bumps: the ETag of SessionInfo answers, and what
-- If-Match on PatchSession is checked against inside the update statement.
ALTER TABLE sessions ADD COLUMN version bigint NOT NULL DEFAULT 1;
