//! Test harness: every test gets its own freshly created PostgreSQL database (dropped when the
//! test ends, pass or fail) and, when it needs HTTP, a real server on a free loopback port.
#![allow(dead_code)]

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

/// A database that exists for one test.
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
        storage::open(&self.url, settings)
            .await
            .expect("the test database opens again")
    }
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

/// A running server on its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base_url: String,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    // Last: the server is told to stop before its database is dropped.
    pub db: TestDb,
}

impl TestApp {
    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(HttpConfig::default()).await
}

pub async fn spawn_app_with(config: HttpConfig) -> TestApp {
    spawn_app_with_auth(config, AuthConfig::default()).await
}

/// A server on its own database with the given authentication policy (throttling, lifetimes).
pub async fn spawn_app_with_auth(config: HttpConfig, auth: AuthConfig) -> TestApp {
    let db = TestDb::new().await;
    let (addr, shutdown, _) = start(db.pool.clone(), config, auth).await;
    TestApp {
        addr,
        base_url: format!("http://{addr}"),
        http: reqwest::Client::new(),
        shutdown: Some(shutdown),
        db,
    }
}

/// A server on a fresh database whose pool uses `settings`.
pub async fn spawn_app_with_settings(config: HttpConfig, settings: &PoolSettings) -> TestApp {
    let db = TestDb::with_settings(settings).await;
    let server = serve(db.pool.clone(), config).await;
    server.into_app(db)
}

/// A server running in this process on `pool` (any database, e.g. one on a PostgreSQL the
/// test started itself); stops when dropped or when [`Server::stop`] is awaited.
pub struct Server {
    pub addr: SocketAddr,
    pub base_url: String,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Signals shutdown and waits for `server::run` to return (drain included).
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.handle.take() {
            Some(h) => h.await.expect("the server task does not panic"),
            None => Ok(()),
        }
    }

    fn into_app(mut self, db: TestDb) -> TestApp {
        TestApp {
            addr: self.addr,
            base_url: self.base_url.clone(),
            http: self.http.clone(),
            shutdown: self.shutdown.take(),
            db,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves the API on a free loopback port with `pool` and `config`.
pub async fn serve(pool: PgPool, config: HttpConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let state = AppState::new(pool, config);
    let handle = tokio::spawn(voice_api::server::run(listener, state, async {
        let _ = rx.await;
    }));
    Server {
        addr,
        base_url: format!("http://{addr}"),
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

/// Like [`serve`], with an authentication policy of its own (a separate instance's memory).
pub async fn serve_with_auth(pool: PgPool, config: HttpConfig, auth: AuthConfig) -> Server {
    let (addr, tx, handle) = start(pool, config, auth).await;
    Server {
        addr,
        base_url: format!("http://{addr}"),
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

/// Binds a free loopback port and serves the API there until the sender fires or drops.
async fn start(
    pool: PgPool,
    config: HttpConfig,
    auth: AuthConfig,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let state = AppState::with_auth(pool, config, auth);
    let handle = tokio::spawn(voice_api::server::run(listener, state, async {
        let _ = rx.await;
    }));
    (addr, tx, handle)
}

/// One more server instance on an existing database, with its own connection pool and its
/// own in-memory state (verification cache, cache key), as a separate process would have:
/// what it shares with other instances is exactly what is in PostgreSQL.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    pool: PgPool,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the server and waits until it has finished and closed its pool, like a process
    /// that exited. Clients should not hold idle keep-alive connections to it (use a client
    /// per instance, or drop it first), though graceful shutdown closes idle ones anyway.
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

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts another server instance on `db` (see [`TestServer`]).
pub async fn spawn_app_on(db: &TestDb, config: HttpConfig, auth: AuthConfig) -> TestServer {
    let pool = storage::open(&db.url, &PoolSettings::default())
        .await
        .expect("a second pool on the test database opens");
    let (addr, shutdown, handle) = start(pool.clone(), config, auth).await;
    TestServer {
        addr,
        base_url: format!("http://{addr}"),
        shutdown: Some(shutdown),
        handle: Some(handle),
        pool,
    }
}

/// Creates an account (when missing) and a user in it; returns the user id.
pub async fn add_user(
    pool: &PgPool,
    account: &str,
    email: &str,
    password: &str,
    roles: &[&str],
) -> String {
    let mut tx = pool.begin().await.unwrap();
    voice_api::storage::accounts::ensure_account(&mut tx, account, &format!("Account {account}"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    voice_api::cli::add_user(pool, account, email, password, None, &roles)
        .await
        .unwrap()
}

/// Like [`add_user`], with a display name.
pub async fn add_named_user(
    pool: &PgPool,
    account: &str,
    email: &str,
    password: &str,
    name: &str,
    roles: &[&str],
) -> String {
    let mut tx = pool.begin().await.unwrap();
    voice_api::storage::accounts::ensure_account(&mut tx, account, &format!("Account {account}"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    voice_api::cli::add_user(pool, account, email, password, Some(name), &roles)
        .await
        .unwrap()
}
