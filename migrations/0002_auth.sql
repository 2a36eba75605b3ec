-- Bumped whenever a user's password changes: cached verifications of the old password carry
-- the old stamp, and every statement checks it, so they stop working at once on every server.
ALTER TABLE users ADD COLUMN auth_stamp bigint NOT NULL DEFAULT 0;

-- Server-side login sessions (ss-id / ss-pid cookies). Only a SHA-256 of the session id is
-- stored: the id is a 192-bit random bearer secret that lives in the client's cookie alone.
CREATE TABLE auth_sessions (
    id_hash      text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remember_me  boolean NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expires_idx ON auth_sessions (expires_at);

-- API keys: `vk_<id>_<secret>`. The id is public (it finds the row); the secret is kept only
-- as an argon2id hash, like a password.
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text,
    secret_hash  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

-- Failed logins per user name (lower-cased), for throttling password guessing; shared by every
-- server instance.
CREATE TABLE login_throttle (
    user_name     text PRIMARY KEY,
    failures      integer NOT NULL,
    window_start  timestamptz NOT NULL,
    locked_until  timestamptz
);
