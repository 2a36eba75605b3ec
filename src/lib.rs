//! voice-api: the Evo Voice Sessions API (`PATCH /sessions/{sessionId}` and its neighbours),
//! wire-compatible with the ServiceStack original, on PostgreSQL.
//!
//! # Layout
//! - [`contract`]: one description of every DTO, enum and operation, which every format, the
//!   binder, the SQL, the routes and negotiation read.
//! - [`cli`]: the `voice-api` command line (serve, account, user, import).
//! - [`accounts`]: accounts and users (id and e-mail rules, password hashing), for the CLI,
//!   the demo and the tests.
//! - [`server`]: binds the listener, serves the router, shuts down gracefully.
//! - [`http`]: routes, handlers, and the wire layer (negotiation, ServiceStack error bodies).
//! - [`wire`]: formats: negotiation, request binding, JSON and DataContract XML, all read from
//!   the contract.
//! - [`sessions`]: the operations, independent of route and format.
//! - [`auth`]: who is calling (Basic, API keys, login sessions; argon2id hashes; the cache).
//! - [`lists`]: ListSessions (who may see what; paging, sorting and filters).
//! - [`metadata`]: the service describing itself (metadata pages, `/types/*` references),
//!   generated from the contract.
//! - [`login`]: the Authenticate operations (login, logout, current session, status).
//! - [`storage`]: PostgreSQL: pool, migrations, every SQL statement, and the leased
//!   connections of the PATCH/GET hot path.
//! - [`import`], [`demo`]: loading sessions from JSON; seeding demo data.
//! - [`openapi`]: `GET /openapi`, the OpenAPI document generated from the contract.
//! - [`events`]: the live session feed (ServiceStack Server Events over LISTEN/NOTIFY).
//! - [`error`]: the one error type, rendered as a ServiceStack `ResponseStatus`.
//! - [`username`]: the one normalisation of user names (lookup, login, throttling).
//! - [`logging`]: the log line format, with the request id on every line of a request.
//! - [`sweep`]: the periodic, bounded deletion of expired throttle rows and login sessions.

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod contract;
pub mod demo;
pub mod error;
pub mod events;
pub mod http;
pub mod import;
pub mod lists;
pub mod logging;
pub mod login;
pub mod metadata;
pub mod openapi;
pub mod server;
pub mod sessions;
pub mod storage;
pub mod sweep;
pub mod username;
pub mod wire;

pub use http::router;

use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// Settings the request path reads.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Request bodies larger than this are refused with 413 before they are read whole.
    pub max_body_bytes: usize,
    /// Browser origins allowed to call the API with credentials (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// A request still running after this is answered 503 and its statement cancelled.
    pub request_timeout: Duration,
    /// On shutdown, in-flight requests get this long to finish.
    pub drain_timeout: Duration,
    /// Connection hygiene: timeouts, header bounds, the connection cap.
    pub connections: server::ConnectionLimits,
    /// How often expired throttle rows, login sessions and evidence are swept; None: never.
    pub sweep_interval: Option<Duration>,
    /// Most rows of each kind one sweep deletes (the rest wait for the next one).
    pub sweep_batch: i64,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see [`server::ClientAddr`]).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// PatchSession's batching ([`storage::batch`]); `connections` 0: every patch alone.
    pub batch: storage::batch::BatchSettings,
    /// The live session feed's limits and timings ([`events`]).
    pub events: events::EventSettings,
    /// Sessions that long lists may hold at once ([`lists::LIST_ROWS_IN_FLIGHT`]).
    pub list_rows_in_flight: usize,
    /// The part of them one user's lists may hold ([`lists::LIST_ROWS_PER_USER`]).
    pub list_rows_per_user: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: 1024 * 1024,
            cors_origins: Vec::new(),
            request_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(10),
            connections: server::ConnectionLimits::default(),
            sweep_interval: Some(Duration::from_secs(60)),
            sweep_batch: 1000,
            trusted_proxies: Vec::new(),
            batch: storage::batch::BatchSettings::default(),
            events: events::EventSettings::default(),
            list_rows_in_flight: lists::LIST_ROWS_IN_FLIGHT,
            list_rows_per_user: lists::LIST_ROWS_PER_USER,
        }
    }
}

impl HttpConfig {
    /// PostgreSQL's `statement_timeout` for this request timeout: a tenth shorter, so a
    /// statement sent at the start of a request is cancelled by PostgreSQL, and its outcome
    /// known, before the request's own timer fires (see `http::observe::time_limit` for a
    /// statement that starts later).
    pub fn statement_timeout(&self) -> Duration {
        (self.request_timeout * 9 / 10).max(Duration::from_millis(1))
    }
}

/// Everything a handler needs; cheap to clone (one pool handle, one Arc).
#[derive(Clone)]
pub struct AppState {
    /// The PostgreSQL pool every statement goes through.
    pub pool: PgPool,
    /// Request limits, shared read-only.
    pub config: Arc<HttpConfig>,
    /// Authentication policy and the verified-credentials cache.
    pub auth: Arc<auth::AuthConfig>,
    /// Connections for the session statements of the hot path (no per-use ping).
    pub leases: Arc<storage::lease::Leases>,
    /// PatchSession's batcher, on connections of its own; None when batching is off.
    pub batcher: Option<Arc<storage::batch::Batcher>>,
    /// This instance's side of the live session feed.
    pub events: Arc<events::Hub>,
    /// A permit per session that long lists may hold at once, held from a list's statement
    /// until its body is written out, and each user's share ([`lists::RowBudget`]).
    pub list_rows: Arc<lists::RowBudget>,
}

impl AppState {
    pub fn new(pool: PgPool, config: HttpConfig) -> Self {
        Self::with_auth(pool, config, auth::AuthConfig::default())
    }

    pub fn with_auth(pool: PgPool, config: HttpConfig, auth: auth::AuthConfig) -> Self {
        // Same database, size, timeouts and session settings as the pool.
        let leases = storage::lease::Leases::new(
            (*pool.connect_options()).clone(),
            pool.options().get_max_connections(),
            pool.options().get_acquire_timeout(),
        );
        let batcher = (config.batch.connections > 0).then(|| {
            // The batch statement takes arrays, whose sizes a custom plan would re-plan for
            // on every execution (0.7 ms a batch, measured); its generic plan is as good.
            // A batch of one is the single statement, which waits for a row lock: at most
            // `lock_timeout` on these connections, then it goes alone (`storage::batch`).
            let options = (*pool.connect_options()).clone().options([
                ("plan_cache_mode", "force_generic_plan"),
                ("lock_timeout", storage::batch::LOCK_TIMEOUT),
            ]);
            let own = storage::lease::Leases::new(
                options,
                u32::try_from(config.batch.connections).unwrap_or(u32::MAX),
                pool.options().get_acquire_timeout(),
            );
            Arc::new(storage::batch::Batcher::new(
                Arc::new(own),
                config.batch.clone(),
            ))
        });
        let events = Arc::new(events::Hub::new(pool.clone(), config.events.clone()));
        let list_rows = Arc::new(lists::RowBudget::new(&config));
        AppState {
            pool,
            events,
            config: Arc::new(config),
            auth: Arc::new(auth),
            leases: Arc::new(leases),
            batcher,
            list_rows,
        }
    }
}
