-- The feed logs session changes only while someone may read them. With nobody listening, a
-- session write costs PostgreSQL no second row, no NOTIFY (whose commit-time lock serialises
-- every notifying commit of the database) and no log to prune.
--
-- "Listened" is a lease, `listened_until`: a subscription sets it, and every instance holding
-- a stream extends it at each housekeeping to the retention window and a few housekeeping
-- intervals ahead (`storage::events::listen`). So it holds while any stream is open, and for
-- the retention window after the last one closed, so a client that comes back within it still
-- gets what it missed.
--
-- A write that finds the lease over takes a shared advisory lock and looks again. Whoever
-- renews a lease that was over takes the same lock exclusively, so it waits for every write
-- that decided not to log (and every later write sees the lease), and moves the horizon past
-- every id so far: a client resuming from before a time nobody listened is told to reload.
-- A writer in REPEATABLE READ or SERIALIZABLE reads the lease with its own snapshot and may
-- miss a renewal after that snapshot; the server's own writes are READ COMMITTED.
--
-- The check is one read of the horizon's row, written inline: the same check through two
-- nested functions and a look at event_subscriptions cost ~14 % of PATCH throughput
-- (wrk, c = 8 and 32, against a trigger that does nothing), this form 1-5 %.
ALTER TABLE event_log_horizon
    ADD COLUMN listened_until timestamptz NOT NULL DEFAULT '-infinity';

-- One function for the three triggers of 0008 (TG_OP tells which transition table it has).
CREATE FUNCTION sessions_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (SELECT h.listened_until > now() FROM event_log_horizon h) THEN
        -- hashtextextended('voice_api.feed', 0)
        PERFORM pg_advisory_xact_lock_shared(-7903422596081875140);
        -- A new statement, a new snapshot: a renewal committed meanwhile is seen.
        IF NOT (SELECT h.listened_until > now() FROM event_log_horizon h) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO event_log (kind, channels, session)
            SELECT 'deleted', ARRAY[o.account_id], row_to_json(o) FROM deleted_rows o;
    ELSE
        INSERT INTO event_log (kind, channels, session)
            SELECT 'changed', ARRAY[n.account_id], row_to_json(n) FROM changed_rows n;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER sessions_log_inserted ON sessions;
DROP TRIGGER sessions_log_updated ON sessions;
DROP TRIGGER sessions_log_deleted ON sessions;
CREATE TRIGGER sessions_log_inserted AFTER INSERT ON sessions
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_log();
CREATE TRIGGER sessions_log_updated AFTER UPDATE ON sessions
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_log();
CREATE TRIGGER sessions_log_deleted AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_log();
DROP FUNCTION sessions_log_changed();
DROP FUNCTION sessions_log_deleted();
