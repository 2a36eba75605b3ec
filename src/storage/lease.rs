//! The connections of the request hot path (PATCH and GET of a session).
//!
//! sqlx's `PgPool` pings every connection it takes back (a Sync and a wait for its answer),
//! which doubles the round trips of a one-statement request. Here a statement runs on a leased
//! connection that goes back to the idle list only after its statement finished cleanly
//! (sqlx has then read up to ReadyForQuery); a lease dropped early — an error, a cancelled
//! request — closes its connection instead, so a connection in an unknown state is never
//! reused. The number of connections is bounded, and waiting for one is bounded by the
//! acquire timeout, after which the request is answered 503 like any unavailability.
//!
//! Each lease also tells the request's [`StatementWatch`] (when the request runs inside
//! [`watched`]) which PostgreSQL backend runs its statement, so the request time limit can
//! cancel that statement and wait for its outcome instead of answering while it is unknown.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection, PgPool};
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Leases {
    options: PgConnectOptions,
    /// Idle connections with their backend process ids.
    idle: Mutex<Vec<(PgConnection, i32)>>,
    /// One permit per connection that may exist.
    permits: std::sync::Arc<Semaphore>,
    acquire_timeout: Duration,
}

/// A connection for one statement; see [`Lease::release`].
pub struct Lease<'a> {
    conn: Option<PgConnection>,
    /// The backend process running this connection's statements (for cancelling them).
    pid: i32,
    leases: &'a Leases,
    /// The request's watch, told about this lease until it ends.
    watch: Option<Arc<StatementWatch>>,
    _permit: OwnedSemaphorePermit,
}

impl Leases {
    pub fn new(options: PgConnectOptions, max_connections: u32, acquire_timeout: Duration) -> Self {
        Leases {
            options,
            idle: Mutex::new(Vec::new()),
            permits: std::sync::Arc::new(Semaphore::new(max_connections.max(1) as usize)),
            acquire_timeout,
        }
    }

    /// An idle connection, or a new one; `fresh` skips the idle ones (after a broken one).
    pub async fn acquire(&self, fresh: bool) -> Result<Lease<'_>, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let permit = tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = if fresh {
            None
        } else {
            self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
        };
        let (conn, pid) = match idle {
            Some(idle) => idle,
            None => {
                let connect = async {
                    let mut conn = self.options.connect().await?;
                    // Once per connection, not per statement.
                    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                        .fetch_one(&mut conn)
                        .await?;
                    Ok::<_, sqlx::Error>((conn, pid))
                };
                tokio::time::timeout_at(deadline, connect)
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)??
            }
        };
        let watch = current_watch();
        if let Some(w) = &watch {
            w.start(pid);
        }
        Ok(Lease {
            conn: Some(conn),
            pid,
            leases: self,
            watch,
            _permit: permit,
        })
    }
}

impl Leases {
    /// Runs `statement` on a leased connection; a connection that turns out broken (PostgreSQL
    /// restarted under it) is replaced once by a fresh one. Retrying is safe for the session
    /// statements: a statement on a broken connection did not commit, and even if it did,
    /// applying the same patch again is harmless.
    pub async fn run<S: Statement>(&self, statement: &S) -> Result<S::Answer, sqlx::Error> {
        let mut fresh = false;
        loop {
            let mut lease = self.acquire(fresh).await?;
            match statement.run(&mut lease).await {
                Ok(answer) => {
                    lease.release();
                    return Ok(answer);
                }
                Err(e) if !fresh && is_connection_error(&e) => fresh = true,
                // The lease is dropped, closing a connection in an unknown state.
                Err(e) => return Err(e),
            }
        }
    }
}

/// A statement [`Leases::run`] can run (and run again on a fresh connection).
pub trait Statement: Sync {
    type Answer;
    fn run<'c>(
        &'c self,
        conn: &'c mut PgConnection,
    ) -> impl Future<Output = Result<Self::Answer, sqlx::Error>> + Send + 'c;
}

impl Lease<'_> {
    /// The backend process running this connection's statements.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Hands the connection back for reuse; call only after its statement completed.
    pub fn release(mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.leases.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.push((conn, self.pid));
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(w) = &self.watch {
            w.end();
        }
    }
}

/// What one request's leases are doing, for its time limit ([`crate::http`]'s `time_limit`).
#[derive(Debug, Default)]
pub struct StatementWatch {
    state: Mutex<WatchState>,
}

#[derive(Debug, Default, Clone, Copy)]
struct WatchState {
    /// The backend running a statement of this request now (a lease is held).
    in_flight: Option<i32>,
    /// A statement was sent at some point: its effects may exist whatever the request's fate.
    sent: bool,
}

impl StatementWatch {
    /// A statement of the request runs on backend `pid` (a lease of its own, or a batch).
    pub(crate) fn start(&self, pid: i32) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.in_flight = Some(pid);
        s.sent = true;
    }

    /// That statement ended.
    pub(crate) fn end(&self) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .in_flight = None;
    }

    /// The backend of the statement in flight, if one is.
    pub fn in_flight(&self) -> Option<i32> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .in_flight
    }

    /// Whether any statement of the request was sent (so only its handler knows the outcome).
    pub fn sent(&self) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).sent
    }
}

tokio::task_local! {
    static WATCH: Arc<StatementWatch>;
}

/// The watch of the request being handled by the calling task, if it runs inside [`watched`].
pub fn current_watch() -> Option<Arc<StatementWatch>> {
    WATCH.try_with(Arc::clone).ok()
}

/// Runs `f` (a request's handling) with `watch` told about every lease it takes.
pub async fn watched<F: Future>(watch: Arc<StatementWatch>, f: F) -> F::Output {
    WATCH.scope(watch, f).await
}

/// Asks PostgreSQL to cancel what backend `pid` is running. Call it only while the lease of
/// that backend is held and its holder is not being polled (as the time limit does), so the
/// backend cannot be running anybody else's statement; a cancel that reaches an idle backend
/// is ignored by PostgreSQL.
pub async fn cancel(pool: &PgPool, pid: i32) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_cancel_backend($1)")
        .bind(pid)
        .fetch_one(pool)
        .await
}

impl Deref for Lease<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until released")
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until released")
    }
}

/// PostgreSQL gave up waiting for a lock (`lock_timeout`, `NOWAIT`): SQLSTATE 55P03.
pub fn is_lock_unavailable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("55P03"))
}

/// Whether an error means the connection itself failed (as opposed to the statement): worth
/// one retry on a fresh connection, e.g. after PostgreSQL restarted under idle connections.
pub fn is_connection_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(d) => d
            .code()
            .as_deref()
            .is_some_and(crate::error::is_unavailable_sqlstate),
        _ => false,
    }
}
