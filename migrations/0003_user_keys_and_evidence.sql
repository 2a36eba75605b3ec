-- One normalisation of user names: `user_key` is computed in Rust (src/username.rs) and every
-- lookup, login and throttle compares it; existing rows are filled in by the server when it
-- opens the database (storage::open), before it serves anything. The unique index also keeps
-- two e-mails that normalise alike from both existing.
ALTER TABLE users ADD COLUMN user_key text;
CREATE UNIQUE INDEX users_user_key ON users (user_key);

-- Throttle rows were keyed by PostgreSQL's lower(), which is not the new key; they are
-- short-lived, so they are dropped rather than converted.
DELETE FROM login_throttle;
ALTER TABLE login_throttle RENAME COLUMN user_name TO user_key;
-- For the periodic sweep of expired rows.
CREATE INDEX login_throttle_window_idx ON login_throttle (window_start);

-- Evidence that these exact credentials were verified before, for every instance and across
-- restarts: a client presenting them is not subject to a lock a stranger caused. `tag` is an
-- HMAC-SHA-256 of the normalised user name and the password under the server key; a row only
-- counts while the user's auth_stamp is unchanged (a password change ends it).
CREATE TABLE verified_credentials (
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tag          bytea NOT NULL,
    auth_stamp   bigint NOT NULL,
    verified_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, tag)
);
CREATE INDEX verified_credentials_verified_at_idx ON verified_credentials (verified_at);

-- Keys shared by every instance (generated once, at first use), when the operator did not
-- configure one (VOICE_API_CREDENTIAL_KEY).
CREATE TABLE server_keys (
    name        text PRIMARY KEY,
    key         bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
