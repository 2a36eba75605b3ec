//! Test harness: every test gets its own freshly created PostgreSQL database (dropped when the
//! test ends, pass or fail) and, when it needs HTTP, a real server on a free loopback port.
#![allow(dead_code)]

use sqlx::{Connection, PgConnection, PgPool};
use std::net::SocketAddr;
use tokio::sync::oneshot;
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
        let name = format!("voice_api_test_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{}/{name}", database_base());
        let pool = storage::open(&url, &PoolSettings::default())
            .await
            .expect("PostgreSQL must be running for the tests (see README)");
        TestDb { name, url, pool }
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
    let db = TestDb::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let state = AppState::new(db.pool.clone(), config);
    tokio::spawn(voice_api::server::run(listener, state, async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        base_url: format!("http://{addr}"),
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        db,
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
