//! SQL for authentication: login sessions, API keys, login throttling, and the `principal`
//! common table expression that folds the credential check into every session statement.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgPool, Postgres, Row};
use std::time::Duration;

/// A credential already checked in memory (or a session id, checked only by the database),
/// re-validated by the statement that uses it, so a revoked key, an ended session or a changed
/// password stops working at once on every server instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A user whose password was verified against the hash carrying this `auth_stamp`.
    User { user_id: String, auth_stamp: i64 },
    /// A verified API key, by its public id.
    ApiKey { key_id: String },
    /// A login session, by the SHA-256 (hex) of its id.
    LoginSession { id_hash: String },
}

/// The statement shape a credential needs; statements are built once per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    User,
    ApiKey,
    LoginSession,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 3] = [
        CredentialKind::User,
        CredentialKind::ApiKey,
        CredentialKind::LoginSession,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The `principal` CTE body for this kind, its parameters numbered from `first`; it yields
    /// at most one row: the acting user's id and whether they are a SystemAdministrator.
    /// How many parameters [`CredentialKind::principal_sql`] takes.
    pub fn parameter_count(self) -> usize {
        let sql = self.principal_sql(1);
        (1..=9)
            .take_while(|n| sql.contains(&format!("${n}")))
            .count()
    }

    pub fn principal_sql(self, first: usize) -> String {
        self.principal_of(&format!("${first}"), &format!("${}", first + 1))
    }

    /// The `principal` row (the user's id and whether a SystemAdministrator) of a credential
    /// of this kind, from the SQL expressions of its parts ([`Credential::parts`]): `a` the id,
    /// `b` the user's auth stamp (users only). The one statement of these rules, for one
    /// credential or a batch's.
    pub fn principal_of(self, a: &str, b: &str) -> String {
        format!(
            "SELECT u.id, 'SystemAdministrator' = ANY (u.roles) AS is_admin {}",
            self.principal_from(a, b)
        )
    }

    fn principal_from(self, a: &str, b: &str) -> String {
        match self {
            CredentialKind::User => {
                format!("FROM users u WHERE u.id = {a} AND u.auth_stamp = {b}")
            }
            CredentialKind::ApiKey => format!(
                "FROM users u JOIN api_keys k ON k.user_id = u.id \
                 WHERE k.id = {a} AND k.revoked_at IS NULL"
            ),
            CredentialKind::LoginSession => format!(
                "FROM users u JOIN auth_sessions a ON a.user_id = u.id \
                 WHERE a.id_hash = {a} AND a.expires_at > now()"
            ),
        }
    }
}

impl Credential {
    /// The parts [`CredentialKind::principal_of`] reads: the id, and the auth stamp of a user.
    pub fn parts(&self) -> (&str, Option<i64>) {
        match self {
            Credential::User {
                user_id,
                auth_stamp,
            } => (user_id, Some(*auth_stamp)),
            Credential::ApiKey { key_id } => (key_id, None),
            Credential::LoginSession { id_hash } => (id_hash, None),
        }
    }

    pub fn kind(&self) -> CredentialKind {
        match self {
            Credential::User { .. } => CredentialKind::User,
            Credential::ApiKey { .. } => CredentialKind::ApiKey,
            Credential::LoginSession { .. } => CredentialKind::LoginSession,
        }
    }

    /// Binds this credential's parameters, in the order [`CredentialKind::principal_sql`]
    /// numbers them.
    pub fn bind<'q>(
        &'q self,
        q: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        match self {
            Credential::User {
                user_id,
                auth_stamp,
            } => q.bind(user_id.as_str()).bind(*auth_stamp),
            Credential::ApiKey { key_id } => q.bind(key_id.as_str()),
            Credential::LoginSession { id_hash } => q.bind(id_hash.as_str()),
        }
    }
}

/// A user as `/auth/*` answers need it.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    /// (id, name) of every account the user belongs to, by name.
    pub accounts: Vec<(String, String)>,
}

/// The user a credential stands for, if it is still valid.
pub async fn resolve(pool: &PgPool, cred: &Credential) -> Result<Option<UserInfo>, sqlx::Error> {
    let sql = format!(
        "WITH principal AS ({})
        SELECT u.id, u.email, u.display_name, u.roles,
            COALESCE(array_agg(a.id ORDER BY a.name, a.id) FILTER (WHERE a.id IS NOT NULL), '{{}}') AS account_ids,
            COALESCE(array_agg(a.name ORDER BY a.name, a.id) FILTER (WHERE a.id IS NOT NULL), '{{}}') AS account_names
        FROM principal p JOIN users u ON u.id = p.id
        LEFT JOIN user_accounts ua ON ua.user_id = u.id
        LEFT JOIN accounts a ON a.id = ua.account_id
        GROUP BY u.id",
        cred.kind().principal_sql(1)
    );
    let row = cred.bind(sqlx::query(&sql)).fetch_optional(pool).await?;
    row.as_ref().map(user_info).transpose()
}

fn user_info(r: &PgRow) -> Result<UserInfo, sqlx::Error> {
    let ids: Vec<String> = r.try_get("account_ids")?;
    let names: Vec<String> = r.try_get("account_names")?;
    Ok(UserInfo {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        roles: r.try_get("roles")?,
        accounts: ids.into_iter().zip(names).collect(),
    })
}

/// A user's id, password hash and stamp, by normalised user name ([`crate::username::key`]).
pub async fn password_of(
    pool: &PgPool,
    user_key: &str,
) -> Result<Option<(String, String, i64)>, sqlx::Error> {
    let row = sqlx::query("SELECT id, password_hash, auth_stamp FROM users WHERE user_key = $1")
        .bind(user_key)
        .fetch_optional(pool)
        .await?;
    row.map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("password_hash")?,
            r.try_get("auth_stamp")?,
        ))
    })
    .transpose()
}

/// An API key's owner and secret hash, when the key exists and is not revoked.
pub async fn api_key(pool: &PgPool, key_id: &str) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT user_id, secret_hash FROM api_keys WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(key_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((r.try_get("user_id")?, r.try_get("secret_hash")?)))
        .transpose()
}

pub async fn create_login_session(
    pool: &PgPool,
    id_hash: &str,
    user_id: &str,
    remember_me: bool,
    ttl: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO auth_sessions (id_hash, user_id, remember_me, expires_at) \
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
    )
    .bind(id_hash)
    .bind(user_id)
    .bind(remember_me)
    .bind(ttl.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// Ends a login session (expired ones are deleted by the periodic, bounded [`sweep`]).
pub async fn end_login_session(pool: &PgPool, id_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM auth_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Login throttling policy.
#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    /// Failures within `window` that lock the user name for `lockout`.
    pub max_failures: i32,
    pub window: Duration,
    pub lockout: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            max_failures: 10,
            window: Duration::from_secs(300),
            lockout: Duration::from_secs(300),
        }
    }
}

/// What [`admit`] decided about one login attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// The attempt may verify a password. It is already counted as a failure; `started_lock`
    /// is the lock this very attempt started (it reached the limit), if any.
    Admitted {
        started_lock: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The user name is locked for this many more seconds; nothing was counted.
    Locked { secs: f64 },
}

/// Checks the lock and counts the attempt, in one statement: the row is locked by the
/// upsert, so parallel attempts on any number of instances are admitted one after another and
/// at most `max_failures` are admitted per window; the one that reaches the limit starts the
/// lock (it is still verified and answered, as ServiceStack does), and a locked name admits
/// nothing (`WHERE` leaves the row alone and returns no row). A success then takes its own
/// count back ([`clear_failures`]).
pub async fn admit(
    pool: &PgPool,
    user_key: &str,
    p: &ThrottlePolicy,
) -> Result<Admission, sqlx::Error> {
    // In SET and WHERE, `t.` is the row before this statement.
    let admitted: Option<Option<chrono::DateTime<chrono::Utc>>> = sqlx::query_scalar(
        "INSERT INTO login_throttle AS t (user_key, failures, window_start, locked_until)
         VALUES ($1, CASE WHEN $3 <= 1 THEN 0 ELSE 1 END, now(),
                 CASE WHEN $3 <= 1 THEN now() + make_interval(secs => $4) END)
         ON CONFLICT (user_key) DO UPDATE SET
            failures = CASE
                WHEN t.window_start < now() - make_interval(secs => $2) THEN 1
                WHEN t.failures + 1 >= $3 THEN 0
                ELSE t.failures + 1 END,
            window_start = CASE
                WHEN t.window_start < now() - make_interval(secs => $2) OR t.failures + 1 >= $3
                    THEN now()
                ELSE t.window_start END,
            locked_until = CASE
                WHEN t.window_start >= now() - make_interval(secs => $2) AND t.failures + 1 >= $3
                    THEN now() + make_interval(secs => $4)
                ELSE NULL END
         WHERE t.locked_until IS NULL OR t.locked_until <= now()
         RETURNING locked_until",
    )
    .bind(user_key)
    .bind(p.window.as_secs_f64())
    .bind(p.max_failures)
    .bind(p.lockout.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    if let Some(started_lock) = admitted {
        return Ok(Admission::Admitted { started_lock });
    }
    let secs: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM locked_until - now())::float8 FROM login_throttle \
         WHERE user_key = $1",
    )
    .bind(user_key)
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(Admission::Locked {
        secs: secs.unwrap_or(1.0).max(1.0),
    })
}

/// A successful login clears the user name's failures, but not a lock in force that it did not
/// start itself (a client let through a lock because it verified before must not lift it for
/// a guesser); the lock its own admission started is lifted with it.
pub async fn clear_failures(
    pool: &PgPool,
    user_key: &str,
    started_lock: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), sqlx::Error> {
    // A success takes back its own count, not the others' (an attacker's failures survive the
    // integration's next verification), and lifts a lock only when it started that lock.
    sqlx::query(
        "WITH lifted AS (
            DELETE FROM login_throttle
            WHERE user_key = $1 AND $2::timestamptz IS NOT NULL AND locked_until = $2
            RETURNING 1)
         UPDATE login_throttle SET failures = greatest(failures - 1, 0)
         WHERE user_key = $1 AND (locked_until IS NULL OR locked_until <= now())
           AND NOT EXISTS (SELECT 1 FROM lifted)",
    )
    .bind(user_key)
    .bind(started_lock)
    .execute(pool)
    .await?;
    Ok(())
}

/// How many verified credentials are remembered per user (an integration or two, a person on
/// a few devices); the oldest go first.
const EVIDENCE_PER_USER: i64 = 8;

/// Records that the credentials with this `tag` verified for the user at `auth_stamp`,
/// keeping only the newest [`EVIDENCE_PER_USER`] of the user's, in one statement.
pub async fn record_verified(
    pool: &PgPool,
    user_id: &str,
    tag: &[u8],
    auth_stamp: i64,
) -> Result<(), sqlx::Error> {
    // The DELETE does not see the upserted row (same snapshot), so it is excluded by tag.
    sqlx::query(
        "WITH up AS (
            INSERT INTO verified_credentials (user_id, tag, auth_stamp) VALUES ($1, $2, $3)
            ON CONFLICT (user_id, tag) DO UPDATE SET auth_stamp = $3, verified_at = now())
         DELETE FROM verified_credentials WHERE user_id = $1 AND tag <> $2
            AND tag NOT IN (SELECT tag FROM verified_credentials WHERE user_id = $1 AND tag <> $2
                            ORDER BY verified_at DESC LIMIT $4)",
    )
    .bind(user_id)
    .bind(tag)
    .bind(auth_stamp)
    .bind(EVIDENCE_PER_USER - 1)
    .execute(pool)
    .await?;
    Ok(())
}

/// The user these exact credentials (by `tag`) verified for before, while the password is
/// unchanged: (id, auth_stamp).
pub async fn verified_before(
    pool: &PgPool,
    user_key: &str,
    tag: &[u8],
) -> Result<Option<(String, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.auth_stamp FROM users u JOIN verified_credentials v \
         ON v.user_id = u.id AND v.auth_stamp = u.auth_stamp \
         WHERE u.user_key = $1 AND v.tag = $2",
    )
    .bind(user_key)
    .bind(tag)
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("auth_stamp")?)))
        .transpose()
}

/// The key named `name` shared by every instance, created with `fresh` when there is none.
pub async fn server_key(pool: &PgPool, name: &str, fresh: &[u8]) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query(
        "INSERT INTO server_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(fresh)
    .execute(pool)
    .await?;
    sqlx::query_scalar("SELECT key FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
}

/// How many rows one sweep deleted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub throttle: u64,
    pub sessions: u64,
    pub evidence: u64,
}

/// Deletes at most `batch` rows of each kind that can no longer matter: throttle rows whose
/// window and lock are both over, expired login sessions, and evidence older than
/// `evidence_ttl` or for a password that has since changed.
pub async fn sweep(
    pool: &PgPool,
    window: Duration,
    evidence_ttl: Duration,
    batch: i64,
) -> Result<Swept, sqlx::Error> {
    let throttle = sqlx::query(
        "DELETE FROM login_throttle WHERE user_key IN (
            SELECT user_key FROM login_throttle
            WHERE window_start < now() - make_interval(secs => $1)
              AND (locked_until IS NULL OR locked_until <= now())
            LIMIT $2)",
    )
    .bind(window.as_secs_f64())
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected();
    let sessions = sqlx::query(
        "DELETE FROM auth_sessions WHERE id_hash IN (
            SELECT id_hash FROM auth_sessions WHERE expires_at < now() LIMIT $1)",
    )
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected();
    let evidence = sqlx::query(
        "DELETE FROM verified_credentials WHERE (user_id, tag) IN (
            SELECT v.user_id, v.tag FROM verified_credentials v JOIN users u ON u.id = v.user_id
            WHERE v.verified_at < now() - make_interval(secs => $1) OR v.auth_stamp <> u.auth_stamp
            LIMIT $2)",
    )
    .bind(evidence_ttl.as_secs_f64())
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(Swept {
        throttle,
        sessions,
        evidence,
    })
}

/// Fills in `users.user_key` for rows that have none (users created before migration 0003).
pub async fn backfill_user_keys(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, email FROM users WHERE user_key IS NULL")
            .fetch_all(pool)
            .await?;
    for (id, email) in &rows {
        sqlx::query("UPDATE users SET user_key = $2 WHERE id = $1 AND user_key IS NULL")
            .bind(id)
            .bind(crate::username::key(email))
            .execute(pool)
            .await?;
    }
    Ok(rows.len() as u64)
}

pub async fn create_api_key(
    pool: &PgPool,
    id: &str,
    user_id: &str,
    name: Option<&str>,
    secret_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO api_keys (id, user_id, name, secret_hash) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(user_id)
        .bind(name)
        .bind(secret_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// One line of `apikey list`.
#[derive(Debug, Clone)]
pub struct ApiKeyListing {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn list_api_keys(pool: &PgPool) -> Result<Vec<ApiKeyListing>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT k.id, u.email, k.name, k.created_at, k.revoked_at FROM api_keys k \
         JOIN users u ON u.id = k.user_id ORDER BY k.created_at, k.id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiKeyListing {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revokes a key; false when no unrevoked key has this id.
pub async fn revoke_api_key(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a user's password hash and bumps its `auth_stamp` (so cached verifications of the
/// old password fail their next statement), ending the user's login sessions and what was
/// verified under the old password, in one
/// transaction. False when there is no such user.
pub async fn set_password(pool: &PgPool, email: &str, hash: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let user_id: Option<String> = sqlx::query_scalar(
        "UPDATE users SET password_hash = $2, auth_stamp = auth_stamp + 1 \
         WHERE user_key = $1 RETURNING id",
    )
    .bind(crate::username::key(email))
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user_id) = user_id else {
        return Ok(false);
    };
    sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM verified_credentials WHERE user_id = $1")
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The id of the user with this e-mail.
pub async fn user_id_by_email(pool: &PgPool, email: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE user_key = $1")
        .bind(crate::username::key(email))
        .fetch_optional(pool)
        .await
}
