//! The server under test: a fresh PostgreSQL database per test ([`TestDb`], dropped when the
//! test ends, pass or fail) and a real server on a free loopback port ([`TestApp`]), built with
//! [`TestApp::builder`].

use sqlx::{Connection, PgConnection, PgPool};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use voice_api::auth::AuthConfig;
use voice_api::storage::{self, PoolSettings};
use voice_api::{AppState, HttpConfig};

/// Server URL without a database; `TEST_DATABASE_BASE` overrides it.
pub fn database_base() -> String {
    std::env::var("TEST_DATABASE_BASE")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A database that exists for one test: created (with the migrations) on open, dropped on drop.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDb {
    pub async fn new() -> TestDb {
        TestDb::with_settings(&PoolSettings::default()).await
    }

    /// A fresh database whose pool uses `settings` (pool size, acquire and statement timeouts).
    pub async fn with_settings(settings: &PoolSettings) -> TestDb {
        let name = format!("voice_api_test_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{}/{name}", database_base());
        let pool = storage::open(&url, settings)
            .await
            .expect("PostgreSQL must be running for the tests (see README)");
        TestDb { name, url, pool }
    }

    /// Another pool on the same database (a second server instance, a lock holder, ...).
    pub async fn another_pool(&self, settings: &PoolSettings) -> PgPool {
        open_pool(&self.url, settings).await
    }
}

/// A pool on `url` (any database, e.g. one on a PostgreSQL the test started itself).
pub async fn open_pool(url: &str, settings: &PoolSettings) -> PgPool {
    storage::open(url, settings)
        .await
        .expect("the test database opens")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived
        // runtime on its own thread does the cleanup. FORCE ends the pool's connections.
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let admin = format!("{}/postgres", database_base());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&sql).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// Where a [`TestApp`] gets its database from.
enum Database<'a> {
    /// A fresh database of its own (the default), dropped with the app.
    Fresh,
    /// Another instance on an existing test database, with its own pool and its own in-memory
    /// state (verification cache, cache key), as a separate process would have: what it shares
    /// with other instances is exactly what is in PostgreSQL.
    Shared(&'a TestDb),
    /// A pool the test opened itself (e.g. on a PostgreSQL it runs), with that pool's URL.
    Pool(PgPool, String),
}

/// How to start a [`TestApp`]; every setting defaults to what `voice-api serve` uses.
pub struct TestAppBuilder<'a> {
    http: HttpConfig,
    auth: AuthConfig,
    pool: PoolSettings,
    database: Database<'a>,
}

impl<'a> TestAppBuilder<'a> {
    /// Request limits, timeouts and CORS origins.
    pub fn http_config(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// Browser origins allowed to call with credentials (the rest of the HTTP config default).
    pub fn cors_origins(mut self, origins: &[&str]) -> Self {
        self.http.cors_origins = origins.iter().map(|o| o.to_string()).collect();
        self
    }

    /// The authentication policy (throttling, lifetimes, cache).
    pub fn auth(mut self, auth: AuthConfig) -> Self {
        self.auth = auth;
        self
    }

    /// Pool size, acquire and statement timeouts of the server's pool.
    pub fn pool_settings(mut self, settings: PoolSettings) -> Self {
        self.pool = settings;
        self
    }

    /// Another instance on `db` (see [`Database::Shared`]).
    pub fn on(mut self, db: &'a TestDb) -> Self {
        self.database = Database::Shared(db);
        self
    }

    /// A server on `pool`, whose database is at `url`.
    pub fn on_pool(mut self, pool: PgPool, url: &str) -> Self {
        self.database = Database::Pool(pool, url.to_string());
        self
    }

    pub async fn spawn(self) -> TestApp {
        let (db, pool, url) = match self.database {
            Database::Fresh => {
                let db = TestDb::with_settings(&self.pool).await;
                let (pool, url) = (db.pool.clone(), db.url.clone());
                (Some(db), pool, url)
            }
            Database::Shared(db) => (None, open_pool(&db.url, &self.pool).await, db.url.clone()),
            Database::Pool(pool, url) => (None, pool, url),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let state = AppState::with_auth(pool.clone(), self.http, self.auth);
        let handle = tokio::spawn(voice_api::server::run(listener, state, async {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            base_url: format!("http://{addr}"),
            http: reqwest::Client::new(),
            database_url: url,
            pool,
            shutdown: Some(tx),
            handle: Some(handle),
            db,
        }
    }
}

/// A running server. Stops when dropped, or gracefully with [`TestApp::stop`].
pub struct TestApp {
    pub addr: SocketAddr,
    pub base_url: String,
    /// The client the typed calls use (keeps connections alive, holds no cookies).
    pub http: reqwest::Client,
    database_url: String,
    pool: PgPool,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    // Last: the server is told to stop before its database is dropped.
    db: Option<TestDb>,
}

impl TestApp {
    pub fn builder<'a>() -> TestAppBuilder<'a> {
        TestAppBuilder {
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            pool: PoolSettings::default(),
            database: Database::Fresh,
        }
    }

    /// A server with the default settings on a fresh database.
    pub async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    /// The server's pool (also the one fixtures are written with).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The database URL, for the `voice-api` binary and extra pools.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Another pool on the app's database (e.g. a lock holder without a statement timeout).
    pub async fn another_pool(&self, settings: &PoolSettings) -> PgPool {
        open_pool(&self.database_url, settings).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Signals shutdown, waits (at most 10 s) until the server has drained and returned, and
    /// closes its pool, like a process that exited. Clients should not hold idle keep-alive
    /// connections to it, though graceful shutdown closes idle ones anyway.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(10), handle)
                .await
                .expect("the server stops within 10 s of its shutdown signal")
                .expect("the server task did not panic")
                .expect("the server ran without an I/O error");
        }
        self.pool.close().await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
