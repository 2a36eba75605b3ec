-- While nobody listens, a session write decides not to log from two lock calls, without
-- reading the lease.
--
-- 0009's check read the lease's row, and with the lease over took the feed's lock shared and
-- read it again: two queries of a trigger function cost PostgreSQL ~25 µs a statement, 7-10 %
-- of the server's single PATCH statement and more of a batch's turn (pgbench c = 1, CPU a
-- transaction: 253-278 µs against 227-245 with a check of one lock call; wrk PATCH JSON c = 8,
-- 6,551-6,709 against 7,331-7,425 requests a second).
--
-- "Quiet" is a second advisory lock, hashtextextended('voice_api.feed.quiet', 0), that an
-- instance with no stream holds, session-level and exclusive, once the lease is over
-- (`storage::events::hold_quiet`, under the lease row's lock, so never while a renewal is under
-- way). A writer that cannot take it shared knows the lease is over and stays so: whoever
-- renews a lapsed lease first takes it exclusively, in its transaction, after asking the
-- holder to let it go (`NOTIFY voice_api_quiet`, `storage::events::listen`), and only then
-- takes the feed's lock exclusively. Writers take the feed's lock shared before looking at
-- the quiet one, so a renewal still waits for every write that decided not to log, as in 0009.
-- When nobody holds the quiet lock (an instance just started, PostgreSQL just restarted, or a
-- feed that is listened), the lease is read as before.
CREATE OR REPLACE FUNCTION sessions_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- hashtextextended('voice_api.feed', 0), shared until the commit. Tried first: a plain
    -- expression, where PERFORM is a query; it waits only behind a renewal.
    IF NOT pg_try_advisory_xact_lock_shared(-7903422596081875140) THEN
        PERFORM pg_advisory_xact_lock_shared(-7903422596081875140);
    END IF;
    -- hashtextextended('voice_api.feed.quiet', 0): held by a quiet instance or a renewal.
    IF NOT pg_try_advisory_xact_lock_shared(7558824018757872809) THEN
        RETURN NULL;
    END IF;
    -- A new statement, a new snapshot: a renewal committed before the lock is seen.
    IF NOT (SELECT h.listened_until > now() FROM event_log_horizon h) THEN
        RETURN NULL;
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
