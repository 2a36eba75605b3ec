-- The live session feed (`src/events`): an outbox of events in id order, the
-- subscriptions of every instance, and the triggers that announce every committed change of a
-- session in the same transaction as the change.

-- One row per event. Session events keep the row as committed (`session`: `row_to_json` of
-- it, read back with `json_populate_record`, so the server reads it with the same column list
-- as a session; a column of the table's row type would forbid later migrations from adding
-- NOT NULL columns to sessions); subscription events (join, leave, update) keep the
-- subscriber's public details as JSON text.
CREATE SEQUENCE event_log_id_seq;
CREATE TABLE event_log (
    id            bigint PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- 'changed', 'deleted' (sessions); 'join', 'leave', 'update' (subscriptions)
    kind          text NOT NULL,
    -- The channels the event goes to: the session's account, or the subscriber's channels.
    channels      text[] NOT NULL,
    session       json,
    subscription  text,
    -- The subscription's channels after a join or update.
    now_channels  text[],
    body          text
);
ALTER SEQUENCE event_log_id_seq OWNED BY event_log.id;
-- A session's row is ~3-4 KB of JSON: kept inline and uncompressed up to a page, not
-- compressed and moved out of line at PostgreSQL's usual 2 KB (measured with wrk PATCH at
-- c = 32, feed on ÷ off: 0.57 with pglz out of line, 0.70 with lz4, 0.75 inline).
ALTER TABLE event_log SET (toast_tuple_target = 8160);
CREATE INDEX event_log_created_at ON event_log (created_at);

-- Everything with an id up to `pruned_through` may have been deleted: a client asking to
-- resume from before it is told to reload (cmd.onReset).
CREATE TABLE event_log_horizon (
    only_row        boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    pruned_through  bigint NOT NULL DEFAULT 0
);
INSERT INTO event_log_horizon DEFAULT VALUES;

-- Ids come from the sequence, with no lock: a transaction can commit a higher id before a
-- lower one commits (or rolls back). Readers (`crate::events`) go through the log in id order
-- and, at a gap, wait for the transactions that were in progress when they saw it.
ALTER TABLE event_log ALTER COLUMN id SET DEFAULT nextval('event_log_id_seq');

-- One notification per transaction (PostgreSQL folds equal payloads): listeners read the
-- log from where they are, so the payload carries nothing.
CREATE FUNCTION event_log_announce() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added) THEN
        PERFORM pg_notify('voice_api_events', '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER event_log_announce AFTER INSERT ON event_log
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION event_log_announce();

-- Every statement that writes sessions logs each row it wrote, once per statement: a batch
-- of patches is one INSERT into the log.
CREATE FUNCTION sessions_log_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_log (kind, channels, session)
        SELECT 'changed', ARRAY[n.account_id], row_to_json(n) FROM changed_rows n;
    RETURN NULL;
END
$$;
CREATE FUNCTION sessions_log_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_log (kind, channels, session)
        SELECT 'deleted', ARRAY[o.account_id], row_to_json(o) FROM deleted_rows o;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_log_inserted AFTER INSERT ON sessions
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_log_changed();
CREATE TRIGGER sessions_log_updated AFTER UPDATE ON sessions
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_log_changed();
CREATE TRIGGER sessions_log_deleted AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_log_deleted();

-- The subscriptions of every instance: a heartbeat, an unregistration or a channel change may
-- reach any instance, and whichever instance notices an expired one removes it.
CREATE TABLE event_subscriptions (
    id             text PRIMARY KEY,
    user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_name      text NOT NULL,
    display_name   text NOT NULL,
    user_address   text,
    channels       text[] NOT NULL,
    -- ServiceStack's subscription Meta as JSON (userId, displayName, channels, ...): the body
    -- of its join, leave and update events and of GetEventSubscribers' answer.
    meta           text NOT NULL,
    -- The credential the stream was opened with (`storage::auth::Credential::parts` and its
    -- kind's index): a stream ends when it is no longer valid (logout, revoked key, changed
    -- password).
    credential_kind    smallint NOT NULL,
    credential_id      text NOT NULL,
    credential_stamp   bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_pulse_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_subscriptions_user ON event_subscriptions (user_id);
CREATE INDEX event_subscriptions_pulse ON event_subscriptions (last_pulse_at);
