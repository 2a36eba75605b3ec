-- Accounts own sessions; users act within the accounts they belong to.
CREATE TABLE accounts (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             text PRIMARY KEY,
    email          text NOT NULL,
    display_name   text,
    -- argon2id PHC string; the password itself is never stored.
    password_hash  text NOT NULL,
    -- Evo Voice roles: SystemAdministrator (every account), Manager, Customer, User.
    roles          text[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now()
);
-- E-mail addresses are the user names and compare case-insensitively.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE user_accounts (
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, account_id)
);

-- One row per call session holding every SessionInfo field, so a PATCH is one row update and
-- GET one row read. Strings are stored exactly as given (dates included: the wire type is a
-- string); the list fields are kept as `json` (not jsonb) so their key order and text come back
-- exactly as stored. Enums are stored by canonical name.
CREATE TABLE sessions (
    id                                text PRIMARY KEY,
    date_created                      text,
    date_last_modified                text,
    created_by                        text,
    last_modified_by                  text,
    dial_state                        text NOT NULL DEFAULT 'None'
        CHECK (dial_state IN ('None', 'Active')),
    call_state                        text NOT NULL DEFAULT 'Disconnected'
        CHECK (call_state IN ('Disconnected', 'Ringing', 'Connected', 'Hold', 'Passive')),
    queue_state                       text NOT NULL DEFAULT 'None'
        CHECK (queue_state IN ('None', 'Queued', 'Ringing', 'Connected', 'Hold', 'Disconnected')),
    account_id                        text NOT NULL REFERENCES accounts (id),
    account_name                      text,
    customer_id                       text,
    customer_breadcrumb               json,
    customer_name                     text,
    endpoint_id                       text,
    endpoint_name                     text,
    date_completed                    text,
    destination                       text,
    to_address                        text,
    from_address                      text,
    from_name                         text,
    answered_by_name                  text,
    queue_member_id                   text,
    channel                           text NOT NULL DEFAULT 'Voice'
        CHECK (channel IN ('Voice', 'Chat', 'Fax')),
    ended                             boolean NOT NULL DEFAULT false,
    outcome                           text,
    call_sid                          text,
    console_data                      text,
    hold_queue_name                   text,
    held_by_user_id                   text,
    hold_reason                       text NOT NULL DEFAULT 'None'
        CHECK (hold_reason IN ('None', 'Transferring')),
    conference_sid                    text,
    display_name                      text,
    log                               json,
    members                           json,
    callback_number                   text,
    answered_by_id                    text,
    direction                         text NOT NULL DEFAULT 'Incoming'
        CHECK (direction IN ('Incoming', 'Outgoing')),
    from_phone_number                 text,
    most_recent_participant_call_sid  text,
    was_missed                        boolean NOT NULL DEFAULT false,
    ring_queue_id                     text,
    -- date_created parsed as a timestamp when it is one, for ListSessions' date range and sort.
    created_at                        timestamptz
)
-- Free space in each page lets PATCH's update stay on the same page (a HOT update: none of the
-- patched columns is indexed), so no index is touched on the hot path.
WITH (fillfactor = 85);

-- ListSessions filters by account (always), then customer, endpoint and date.
CREATE INDEX sessions_account_created_idx ON sessions (account_id, created_at DESC);
CREATE INDEX sessions_customer_idx ON sessions (customer_id, created_at DESC) WHERE customer_id IS NOT NULL;
CREATE INDEX sessions_endpoint_idx ON sessions (endpoint_id, created_at DESC) WHERE endpoint_id IS NOT NULL;
