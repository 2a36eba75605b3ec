//! The `voice-api` command line: `serve`, and the operator commands `account add`, `user add`
//! and `import`. Each operator command prints its result on the last line of stdout; any
//! failure is one line on stderr and a non-zero exit (see `main.rs`).

use crate::storage::{self, PoolSettings};
use crate::{AppState, HttpConfig, accounts, auth, demo, import, server};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "voice-api",
    version,
    about = "The Evo Voice Sessions API on PostgreSQL"
)]
pub struct Cli {
    /// PostgreSQL URL; the database is created when missing.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/voice_api",
        hide_env_values = true
    )]
    pub database_url: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys.
    #[command(subcommand, name = "apikey")]
    ApiKey(ApiKeyCommand),
    /// Import sessions from a JSON array of SessionInfo documents (FILE, or - for stdin).
    Import {
        /// The file to read, or `-` for standard input.
        file: String,
    },
    /// Print the SQL the server runs first for a PATCH authenticated by password (the statement
    /// that writes a patch that applies; see `storage::sessions`) ($1 session id,
    /// then one parameter per patch member of PatchSession in contract order, then the time,
    /// the user id, the auth stamp and If-Match's version); used by `scripts/bench` to give
    /// PostgreSQL the same work. With `--batch`, the statement of a batch of patches (arrays:
    /// see `storage::batch`).
    #[command(hide = true)]
    PatchSql {
        #[arg(long)]
        batch: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VOICE_API_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seed a demo account, user and sessions when absent, and print how to try them.
    #[arg(long)]
    pub demo: bool,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "VOICE_API_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Browser origins allowed to call the API with credentials (comma-separated).
    #[arg(
        long,
        env = "VOICE_API_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,
    /// Comma-separated addresses of reverse proxies whose X-Forwarded-For names the client.
    #[arg(
        long,
        env = "VOICE_API_TRUSTED_PROXIES",
        value_delimiter = ',',
        default_value = ""
    )]
    pub trusted_proxies: Vec<String>,
    /// A request still running after this many milliseconds is answered 503 and its SQL
    /// statement cancelled (PostgreSQL's statement_timeout is a tenth shorter).
    #[arg(long, env = "VOICE_API_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// On SIGTERM/Ctrl-C, how long in-flight requests may take to finish, in milliseconds.
    #[arg(long, env = "VOICE_API_DRAIN_TIMEOUT_MS", default_value_t = 10_000)]
    pub drain_timeout_ms: u64,
    /// Most PostgreSQL connections the server holds.
    #[arg(long, env = "VOICE_API_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// How long a request waits for a free connection before answering 503, in milliseconds.
    #[arg(long, env = "VOICE_API_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2000)]
    pub db_acquire_timeout_ms: u64,
    /// PatchSession batches in flight at once, each on a connection of its own (in addition
    /// to the pools); 0 sends every patch alone. One makes the biggest batches (see
    /// `storage::batch::BatchSettings`).
    #[arg(long, env = "VOICE_API_BATCH_CONNECTIONS", default_value_t = 1)]
    pub batch_connections: usize,
    /// Most patches in one batch statement.
    #[arg(long, env = "VOICE_API_BATCH_MAX", default_value_t = 64)]
    pub batch_max: usize,
    /// Most patches waiting for a batch; beyond it a patch is answered 503.
    #[arg(long, env = "VOICE_API_BATCH_QUEUE", default_value_t = 4096)]
    pub batch_queue: usize,
    /// How often event subscribers are told to send a heartbeat, in milliseconds.
    #[arg(long, env = "VOICE_API_EVENTS_HEARTBEAT_MS", default_value_t = 10_000)]
    pub events_heartbeat_ms: u64,
    /// An event subscription without a heartbeat for this many milliseconds is removed.
    #[arg(
        long,
        env = "VOICE_API_EVENTS_IDLE_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub events_idle_timeout_ms: u64,
    /// Frames queued for one event subscriber; one that falls further behind is dropped (it
    /// reconnects with Last-Event-ID and misses nothing).
    #[arg(long, env = "VOICE_API_EVENTS_QUEUE", default_value_t = 256)]
    pub events_queue: usize,
    /// Event subscriptions one user may hold, on all instances together.
    #[arg(long, env = "VOICE_API_EVENTS_MAX_PER_USER", default_value_t = 10)]
    pub events_max_per_user: usize,
    /// Event streams this instance serves at once.
    #[arg(long, env = "VOICE_API_EVENTS_MAX_STREAMS", default_value_t = 1000)]
    pub events_max_streams: usize,
    /// How long events are kept for clients that reconnect, in seconds.
    #[arg(long, env = "VOICE_API_EVENTS_RETENTION_S", default_value_t = 600)]
    pub events_retention_s: u64,
    /// Most events one reconnect replays; a longer gap is announced as cmd.onReset.
    #[arg(long, env = "VOICE_API_EVENTS_REPLAY_MAX", default_value_t = 10_000)]
    pub events_replay_max: usize,
    /// Sessions that lists of more than 100 may hold at once, over all of them, from their
    /// statement until their answer is written out; more wait, within the request's time limit.
    #[arg(long, env = "VOICE_API_LIST_ROWS_IN_FLIGHT", default_value_t = crate::lists::LIST_ROWS_IN_FLIGHT)]
    pub list_rows_in_flight: usize,
    /// The part of those one user's lists may hold at once (half: one `all=true` list); a
    /// user's next long list waits for their own rows first.
    #[arg(long, env = "VOICE_API_LIST_ROWS_PER_USER", default_value_t = crate::lists::LIST_ROWS_PER_USER)]
    pub list_rows_per_user: usize,
    /// A request head must arrive whole within this many milliseconds of the connection
    /// opening (or of its first byte on a kept-alive connection), else the connection closes.
    #[arg(
        long,
        env = "VOICE_API_HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub header_read_timeout_ms: u64,
    /// A connection with no request in progress and nothing received for this many
    /// milliseconds is closed.
    #[arg(long, env = "VOICE_API_KEEPALIVE_IDLE_MS", default_value_t = 60_000)]
    pub keepalive_idle_ms: u64,
    /// A response the client takes nothing of for this many milliseconds (its socket full all
    /// along) closes the connection.
    #[arg(long, env = "VOICE_API_SEND_TIMEOUT_MS", default_value_t = 60_000)]
    pub send_timeout_ms: u64,
    /// Bytes a second a client must take of a response it keeps waiting: a response may wait
    /// for its client the send timeout in all, plus a second for each this many bytes taken
    /// (0: no minimum; only the send timeout at a stretch).
    #[arg(long, env = "VOICE_API_MIN_SEND_RATE", default_value_t = 4096)]
    pub min_send_rate: u64,
    /// Most client connections open at once (lowered to fit the open-file limit).
    #[arg(long, env = "VOICE_API_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes; larger ones get 431.
    #[arg(long, env = "VOICE_API_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,
    /// Most header fields in a request; more get 431.
    #[arg(long, env = "VOICE_API_MAX_HEADERS", default_value_t = 100)]
    pub max_headers: usize,
    /// How often expired throttle rows, login sessions and evidence are deleted, in
    /// milliseconds; 0 turns the sweep off.
    #[arg(long, env = "VOICE_API_SWEEP_INTERVAL_MS", default_value_t = 60_000)]
    pub sweep_interval_ms: u64,
    /// Key of the evidence that credentials verified before (any text, the same on every
    /// instance); unset, a key generated once and kept in the database is used.
    #[arg(long, env = "VOICE_API_CREDENTIAL_KEY", hide_env_values = true)]
    pub credential_key: Option<String>,
    /// How long a verified password or API key is trusted without argon2, in milliseconds;
    /// one in use is verified again in the background in the last quarter of that time.
    #[arg(long, env = "VOICE_API_AUTH_CACHE_TTL_MS", default_value_t = 300_000)]
    pub auth_cache_ttl_ms: u64,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints its id.
    Add {
        #[arg(long)]
        name: String,
        /// The id to use (default: a new 24-character hex id).
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user in an account; prints its id.
    Add {
        #[arg(long)]
        account: String,
        /// The e-mail address, which is also the user name.
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// SystemAdministrator (every account), Manager, Customer or User; repeatable.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Set a user's password. Cached verifications of the old one stop working at once on
    /// every server, and the user's login sessions end.
    Password {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a user; prints the key, which is shown only this once.
    Add {
        #[arg(long)]
        email: String,
        /// A label to recognise the key by.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (id, user, label, created, revoked); never the keys themselves.
    List,
    /// Revoke a key by its id; it stops working at once on every server.
    Revoke { id: String },
}

/// The tokio runtime for a command. `VOICE_API_WORKER_THREADS` sets the server's worker
/// threads: `1` runs everything on one thread, `0` one per CPU, unset [`default_worker_threads`].
pub fn runtime(_cli: &Cli) -> std::io::Result<tokio::runtime::Runtime> {
    let threads: usize = std::env::var("VOICE_API_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(default_worker_threads);
    let mut b = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if threads > 1 {
            b.worker_threads(threads);
        }
        b
    };
    // A worker's log lines are written when it is about to sleep (`crate::logging`).
    crate::logging::hooks(&mut b).enable_all().build()
}

/// One thread on a machine of at most two CPUs (where the server shares them with PostgreSQL
/// and its clients), else one per CPU (`0`). With one thread no request is handed between
/// workers (two `futex` calls a request at c = 1 with two), and a batch's answers and the next
/// batch's statement come from one queue. Measured on 2 CPUs (wrk, 3 interleaved rounds of 5 s,
/// means, BENCHMARKS.md): PATCH JSON +4 % at c = 1, +53 % at c = 8, −1 % at c = 32; PATCH XML
/// +16 % at c = 8, +13 % at c = 32; GET −6 % at c = 8; less server CPU a request in every case;
/// and with 1,000-session lists fetched back to back beside PATCH at c = 8, no worse a PATCH
/// p99 (15–20 ms against 17–43). More CPUs than that are left to tokio's own default.
fn default_worker_threads() -> usize {
    match std::thread::available_parallelism() {
        Ok(n) if n.get() <= 2 => 1,
        _ => 0,
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(&cli.database_url, args).await,
        Command::Account(AccountCommand::Add { name, id }) => {
            let pool = storage::open(&cli.database_url, &PoolSettings::default()).await?;
            let id = accounts::add_account(&pool, id, &name).await?;
            println!("{id}");
            Ok(())
        }
        Command::User(UserCommand::Add {
            account,
            email,
            password,
            name,
            roles,
        }) => {
            let pool = storage::open(&cli.database_url, &PoolSettings::default()).await?;
            let id =
                accounts::add_user(&pool, &account, &email, &password, name.as_deref(), &roles)
                    .await?;
            println!("{id}");
            Ok(())
        }
        Command::User(UserCommand::Password { email, password }) => {
            let pool = storage::open(&cli.database_url, &PoolSettings::default()).await?;
            accounts::set_password(&pool, &email, &password).await?;
            println!("password changed for {email}");
            Ok(())
        }
        Command::ApiKey(cmd) => {
            let pool = storage::open(&cli.database_url, &PoolSettings::default()).await?;
            apikey(&pool, cmd).await
        }
        Command::PatchSql { batch } => {
            let sql = if batch {
                storage::batch::batch_statement()
            } else {
                storage::sessions::patch_statement(storage::auth::CredentialKind::User)
            };
            println!("{sql}");
            Ok(())
        }
        Command::Import { file } => {
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?
            };
            let pool = storage::open(&cli.database_url, &PoolSettings::default()).await?;
            let count = import::import_json(&pool, &text).await?;
            println!("imported {count} sessions");
            Ok(())
        }
    }
}

async fn apikey(pool: &sqlx::PgPool, cmd: ApiKeyCommand) -> anyhow::Result<()> {
    use crate::storage::auth as store;
    match cmd {
        ApiKeyCommand::Add { email, name } => {
            let user_id = store::user_id_by_email(pool, &email)
                .await?
                .with_context(|| format!("no user with e-mail {email}"))?;
            let (id, key) = auth::new_api_key();
            let secret = key.rsplit('_').next().unwrap_or_default().to_string();
            let hash = tokio::task::spawn_blocking(move || auth::hash_secret(&secret))
                .await?
                .map_err(|e| anyhow::anyhow!("cannot hash the key: {e}"))?;
            store::create_api_key(pool, &id, &user_id, name.as_deref(), &hash).await?;
            println!("key id {id} for {email}; the key is shown only now:");
            println!("{key}");
        }
        ApiKeyCommand::List => {
            let keys = store::list_api_keys(pool).await?;
            for k in &keys {
                let revoked = k
                    .revoked_at
                    .map(|t| format!("revoked {}", t.to_rfc3339()))
                    .unwrap_or_else(|| "active".into());
                println!(
                    "{}\t{}\t{}\t{}\t{revoked}",
                    k.id,
                    k.email,
                    k.name.as_deref().unwrap_or("-"),
                    k.created_at.to_rfc3339()
                );
            }
            println!("{} keys", keys.len());
        }
        ApiKeyCommand::Revoke { id } => {
            if !store::revoke_api_key(pool, &id).await? {
                bail!("no active API key with id {id}");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}

async fn serve(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
    crate::logging::init();
    let max_connections = connection_cap(args.max_connections, args.db_max_connections);
    let config = HttpConfig {
        max_body_bytes: args.max_body_bytes,
        cors_origins: args
            .cors_origins
            .into_iter()
            .filter(|o| !o.trim().is_empty())
            .collect(),
        trusted_proxies: args
            .trusted_proxies
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.trim()
                    .parse()
                    .with_context(|| format!("VOICE_API_TRUSTED_PROXIES: {p:?} is not an address"))
            })
            .collect::<anyhow::Result<_>>()?,
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        batch: crate::storage::batch::BatchSettings {
            connections: args.batch_connections,
            max_batch: args.batch_max.max(1),
            queue: args.batch_queue.max(1),
        },
        events: crate::events::EventSettings {
            heartbeat_interval: Duration::from_millis(args.events_heartbeat_ms.max(1)),
            idle_timeout: Duration::from_millis(args.events_idle_timeout_ms.max(1)),
            queue: args.events_queue.max(1),
            max_per_user: args.events_max_per_user,
            max_streams: args.events_max_streams,
            retention: Duration::from_secs(args.events_retention_s),
            replay_max: args.events_replay_max,
            ..crate::events::EventSettings::default()
        },
        drain_timeout: Duration::from_millis(args.drain_timeout_ms),
        connections: server::ConnectionLimits {
            header_read_timeout: Duration::from_millis(args.header_read_timeout_ms.max(1)),
            keepalive_idle: Duration::from_millis(args.keepalive_idle_ms.max(1)),
            send_timeout: Duration::from_millis(args.send_timeout_ms.max(1)),
            min_send_rate: args.min_send_rate,
            max_connections,
            max_header_bytes: args.max_header_bytes,
            max_headers: args.max_headers,
            ..server::ConnectionLimits::default()
        },
        sweep_interval: (args.sweep_interval_ms > 0)
            .then(|| Duration::from_millis(args.sweep_interval_ms)),
        list_rows_in_flight: args.list_rows_in_flight,
        list_rows_per_user: args.list_rows_per_user,
        ..HttpConfig::default()
    };
    let settings = PoolSettings {
        max_connections: args.db_max_connections,
        acquire_timeout: Duration::from_millis(args.db_acquire_timeout_ms),
        statement_timeout: Some(config.statement_timeout()),
    };
    let pool = storage::open(database_url, &settings).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    if args.demo {
        let demo = demo::seed(&pool).await?;
        demo.print(addr);
    }
    tracing::info!("listening on http://{addr}");
    let auth = auth::AuthConfig::default()
        .with_cache_ttl(Duration::from_millis(args.auth_cache_ttl_ms.max(1)));
    let auth = match args.credential_key.as_deref().filter(|k| !k.is_empty()) {
        Some(key) => auth.with_evidence_secret(key),
        None => auth,
    };
    let state = AppState::with_auth(pool, config, auth);
    server::run(listener, state, server::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The connection cap, after raising the open-file limit as far as allowed: it leaves room for
/// the database connections (two pools) and the process's own files.
fn connection_cap(wanted: usize, db_connections: u32) -> usize {
    #[cfg(unix)]
    match server::raise_open_file_limit() {
        Ok((soft, hard)) => {
            let reserve = 2 * db_connections as u64 + 64;
            let fits = soft.saturating_sub(reserve).max(1) as usize;
            tracing::info!(soft, hard, "open-file limit");
            if wanted > fits {
                tracing::warn!(
                    wanted,
                    fits,
                    "VOICE_API_MAX_CONNECTIONS lowered to fit the open-file limit"
                );
                return fits;
            }
        }
        Err(e) => tracing::warn!(cause = %e, "cannot raise the open-file limit"),
    }
    #[cfg(not(unix))]
    let _ = db_connections;
    wanted.max(1)
}
