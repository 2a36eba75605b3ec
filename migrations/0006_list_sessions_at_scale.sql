-- ListSessions on a million sessions (scripts/scale; plans and figures in BENCHMARKS.md).
-- None of these columns is patched, so PATCH's updates stay HOT.

-- Newest first. The list orders by `created_at <dir> NULLS LAST, id <dir>`, and a btree gives
-- that order only when its own, read forwards or backwards, matches NULLS placement included:
-- 0001's (account_id, created_at DESC) and 0004's (created_at DESC, id DESC) hold NULLs first,
-- so read backwards they serve oldest first, but newest first (the default) sorted every
-- matching row: 140 ms for one account's 10,000 sessions, and all of them for every account.
CREATE INDEX sessions_account_created_desc_idx
    ON sessions (account_id, created_at DESC NULLS LAST, id DESC);
CREATE INDEX sessions_created_desc_idx ON sessions (created_at DESC NULLS LAST, id DESC);

-- The text filters ("contains", any case). The log's messages, joined by newlines, get a
-- trigram index; the function lets the index and the filter spell the same expression (the
-- list writes `session_log_text(s.log) ILIKE $n`, then checks each message, so a match never
-- spans two messages). IMMUTABLE is true of it, as of the JSON functions it calls; a log that
-- is not an array (never stored by this server) has no text rather than an error.
CREATE FUNCTION session_log_text(log json) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN json_typeof(log) = 'array' THEN
        (SELECT string_agg(e ->> 'message', E'\n') FROM json_array_elements(log) AS e) END;
-- One GIN index for the three: a multicolumn GIN index answers a condition on any one of its
-- columns as fast as an index of that column alone, and every index on the table costs each
-- PATCH a lock and an open even when its update is HOT (three more: about 4 % more of
-- PostgreSQL's CPU per PATCH, measured), so 0004's two trigram indexes make way for it.
DROP INDEX sessions_from_address_trgm;
DROP INDEX sessions_to_address_trgm;
CREATE INDEX sessions_text_trgm ON sessions
    USING gin (from_address gin_trgm_ops, to_address gin_trgm_ops, session_log_text(log) gin_trgm_ops);
