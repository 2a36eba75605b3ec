//! PostgreSQL storage: the connection pool, database creation and migrations, and (in the
//! submodules) every SQL statement the server runs. Nothing outside this module writes SQL.

pub mod accounts;
pub mod auth;
pub mod batch;
pub mod events;
pub mod lease;
pub mod sessions;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;
use std::time::Duration;

/// Why the database could not be opened, phrased for an operator.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "cannot connect to PostgreSQL at {url}: {cause}. Is PostgreSQL running? Start it with \
         `pg_ctlcluster $(ls /etc/postgresql) main start` (or `service postgresql start`), \
         or set DATABASE_URL"
    )]
    Unreachable { url: String, cause: String },
    #[error("invalid DATABASE_URL {url}: {cause}")]
    BadUrl { url: String, cause: String },
    #[error("cannot prepare database {url}: {cause}")]
    Setup { url: String, cause: String },
}

/// Pool settings; see `.env.example` for what each one trades.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL aborts (and rolls back) a statement running longer than this.
    pub statement_timeout: Option<Duration>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: None,
        }
    }
}

/// The URL with any password replaced, so it can go into messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Connects to `url`, creating the database first when it does not exist, and applies the
/// migrations. This is the one way the server, the CLI and the tests open storage.
pub async fn open(url: &str, settings: &PoolSettings) -> Result<PgPool, OpenError> {
    let shown = redact_url(url);
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| OpenError::BadUrl {
            url: shown.clone(),
            cause: e.to_string(),
        })?
        // Per-statement logging at info level costs throughput on the hot path; slow ones still show.
        .log_statements(tracing::log::LevelFilter::Debug)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    create_database_if_missing(&options, &shown).await?;
    let options = match settings.statement_timeout {
        Some(t) => options.options([("statement_timeout", format!("{}ms", t.as_millis()))]),
        None => options,
    };
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        // The pool serves everything but the session hot path (which uses `lease`); its
        // check of a connection before handing it out keeps a PostgreSQL restart invisible.
        .connect_with(options)
        .await
        .map_err(|e| unreachable(&shown, e))?;
    sqlx::migrate!()
        .run(&pool)
        .await
        .map_err(|e| OpenError::Setup {
            url: shown.clone(),
            cause: e.to_string(),
        })?;
    auth::backfill_user_keys(&pool)
        .await
        .map_err(|e| OpenError::Setup {
            url: shown,
            cause: format!("cannot compute the normalised user names: {e}"),
        })?;
    Ok(pool)
}

fn unreachable(url: &str, e: sqlx::Error) -> OpenError {
    OpenError::Unreachable {
        url: url.to_string(),
        cause: e.to_string(),
    }
}

/// `CREATE DATABASE` through the `postgres` maintenance database when the target is missing.
async fn create_database_if_missing(
    options: &PgConnectOptions,
    shown: &str,
) -> Result<(), OpenError> {
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .map_err(|e| unreachable(shown, e))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .map_err(|e| unreachable(shown, e))?;
    if !exists {
        // Identifiers cannot be bound as parameters; quoting with doubled quotes makes any name safe.
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        if let Err(e) = sqlx::query(&sql).execute(&mut admin).await {
            // Another process may have created it between our check and our CREATE.
            let raced =
                matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42P04"));
            if !raced {
                return Err(OpenError::Setup {
                    url: shown.to_string(),
                    cause: e.to_string(),
                });
            }
        }
    }
    let _ = admin.close().await;
    Ok(())
}

/// A new 24-character lowercase hex id shaped like the MongoDB ObjectIds Evo Voice uses:
/// 4 bytes of seconds since the epoch, then 8 random bytes.
pub fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    let secs = chrono::Utc::now().timestamp() as u32;
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    rand::thread_rng().fill_bytes(&mut bytes[4..]);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the database answers and has exactly the migrations this binary embeds.
pub async fn migrations_current(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?;
    let expected: Vec<i64> = sqlx::migrate!().iter().map(|m| m.version).collect();
    Ok(applied == expected)
}
