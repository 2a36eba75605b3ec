//! Faults: PostgreSQL going away and coming back, requests over the time limit, pool
//! exhaustion, SIGTERM during a burst of PATCHes (the real binary), and two server instances
//! on one database. Each scenario checks both what the client is told and what is stored.

use crate::helpers::app::open_pool;
use crate::helpers::binary::ServerProcess;
use crate::helpers::*;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use voice_api::HttpConfig;
use voice_api::storage::PoolSettings;

/// A session id for the n-th fixture session (24 hex characters, like Evo Voice ids).
fn session_id(n: usize) -> String {
    format!("6a0c1a2b3c4d5e6f{n:08x}")
}

/// Creates AGENT and `count` [`simple_session`]s in ACCOUNT (consoleData "orig", callState
/// Ringing).
async fn fixture(pool: &PgPool, count: usize) {
    add_user(pool, &AGENT).await;
    let docs: Vec<Value> = (0..count)
        .map(|n| simple_session(&session_id(n), ACCOUNT))
        .collect();
    import(pool, &docs).await;
}

/// AGENT's PATCH of session `id` on `server`; an error when no answer came.
async fn patch(
    server: &(impl Api + Sync),
    id: &str,
    body: &Value,
) -> reqwest::Result<(u16, Value)> {
    let res = server
        .patch_session(id, body)
        .signed_in_as(&AGENT)
        .try_send()
        .await?;
    let body = serde_json::from_str(&res.text).unwrap_or(Value::String(res.text));
    Ok((res.status, body))
}

fn assert_unavailable(status: u16, body: &Value) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["responseStatus"]["errorCode"], "ServiceUnavailable",
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------------
// A PostgreSQL of our own, to stop and start
// ---------------------------------------------------------------------------------------------

/// The newest installed PostgreSQL's bin directory.
fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().expect("a PostgreSQL with pg_ctl")
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A throwaway PostgreSQL cluster in a temporary directory on its own port; PostgreSQL refuses
/// to run as root, so as root it runs as the `postgres` user.
pub(crate) struct OwnPostgres {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

impl OwnPostgres {
    fn command(&self, program: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"))
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn init() -> OwnPostgres {
        let dir = tempfile::Builder::new()
            .prefix("voice-api-faults-")
            .tempdir()
            .unwrap();
        if is_root() {
            let ok = std::process::Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown the cluster directory to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = OwnPostgres {
            dir,
            port,
            bin: pg_bin(),
        };
        let data = pg.data();
        let out = pg.command(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(out.status.success(), "initdb: {out:?}");
        pg
    }

    pub(crate) fn start(&self) {
        let data = self.data();
        let sockets = self.dir.path();
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            sockets.display()
        );
        let log = self.dir.path().join("postgres.log");
        let out = self.command(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &opts,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        assert!(out.status.success(), "pg_ctl start: {out:?}");
    }

    pub(crate) fn stop(&self) {
        let data = self.data();
        let out = self.command(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
        assert!(out.status.success(), "pg_ctl stop: {out:?}");
    }

    pub(crate) fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.command(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopping_answers_503_within_the_acquire_timeout_and_the_server_recovers_by_itself()
 {
    let pg = OwnPostgres::init();
    pg.start();
    let acquire_timeout = Duration::from_millis(1000);
    let settings = PoolSettings {
        max_connections: 4,
        acquire_timeout,
        statement_timeout: Some(Duration::from_secs(5)),
    };
    let pool = open_pool(&pg.url("voice_api"), &settings).await;
    fixture(&pool, 2).await;
    let server = TestApp::builder()
        .on_pool(pool.clone(), &pg.url("voice_api"))
        .spawn()
        .await;
    let (s, body) = patch(&server, &session_id(0), &json!({"consoleData": "before"}))
        .await
        .unwrap();
    assert_eq!(s, 200, "{body}");
    assert_eq!(server.get("/health/ready").await.status, 200);

    pg.stop();

    // Several requests in a row: the pool's stale connections, then new connections refused.
    for round in 0..3 {
        let started = Instant::now();
        let (s, body) = patch(
            &server,
            &session_id(0),
            &json!({"consoleData": format!("while down {round}")}),
        )
        .await
        .expect("the server answers while PostgreSQL is down");
        let took = started.elapsed();
        assert_unavailable(s, &body);
        assert!(
            took < acquire_timeout + Duration::from_secs(2),
            "503 after {took:?}, acquire timeout {acquire_timeout:?}"
        );
    }
    // A credential the server has not verified yet needs the database too: 503, not 401/500.
    let res = server
        .get_session(&session_id(1))
        .basic("nobody@example.com", "x")
        .await;
    assert_unavailable(res.status, &res.json());
    assert_eq!(server.get("/health/live").await.status, 200);
    let started = Instant::now();
    assert_eq!(server.get("/health/ready").await.status, 503);
    assert!(started.elapsed() < acquire_timeout + Duration::from_secs(2));

    pg.start();

    // No restart of the server: it reconnects on its own.
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let (s, body) = patch(&server, &session_id(0), &json!({"consoleData": "after"}))
            .await
            .unwrap();
        if s == 200 {
            break body;
        }
        assert_unavailable(s, &body);
        assert!(Instant::now() < deadline, "no recovery within 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(body["consoleData"], "after");
    assert_eq!(server.get("/health/ready").await.status, 200);
    // Nothing attempted while PostgreSQL was down was written.
    let fresh = open_pool(&pg.url("voice_api"), &PoolSettings::default()).await;
    assert_eq!(stored(&fresh, &session_id(0)).await["consoleData"], "after");
    server.stop().await;
    pool.close().await;
    fresh.close().await;
}

// ---------------------------------------------------------------------------------------------
// Time limit and pool exhaustion
// ---------------------------------------------------------------------------------------------

/// Holds `FOR UPDATE` on a session in its own transaction until dropped or rolled back.
pub(crate) async fn lock_session(
    pool: &PgPool,
    id: &str,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM sessions WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_patch_over_the_request_timeout_is_503_and_its_transaction_is_rolled_back() {
    let limit = Duration::from_millis(500);
    let settings = PoolSettings {
        statement_timeout: Some(limit),
        ..PoolSettings::default()
    };
    let config = HttpConfig {
        request_timeout: limit,
        ..HttpConfig::default()
    };
    let app = TestApp::builder()
        .http_config(config)
        .pool_settings(settings)
        .spawn()
        .await;
    fixture(app.pool(), 1).await;
    let id = session_id(0);
    // The lock holder's pool has no statement timeout.
    let locker = app.another_pool(&PoolSettings::default()).await;
    let lock = lock_session(&locker, &id).await;

    let started = Instant::now();
    let (s, body) = patch(
        &app,
        &id,
        &json!({"consoleData": "late", "callState": "Hold"}),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    assert_unavailable(s, &body);
    assert!(took >= limit, "answered before the limit: {took:?}");
    assert!(took < limit + Duration::from_secs(3), "took {took:?}");

    // Keep the lock past the statement timeout, then release it: the cancelled UPDATE must not
    // apply afterwards.
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.rollback().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s0 = stored(app.pool(), &id).await;
    assert_eq!(s0["consoleData"], ORIG);
    assert_eq!(s0["callState"], "Ringing");
    assert_eq!(s0["dateLastModified"], Value::Null, "nothing was stamped");

    // The server is healthy afterwards and the next PATCH applies.
    let (s, body) = patch(&app, &id, &json!({"consoleData": "next"}))
        .await
        .unwrap();
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["consoleData"], "next");
    assert_eq!(body["callState"], "Ringing");
    locker.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exhausted_pool_answers_503_within_the_acquire_timeout() {
    let acquire = Duration::from_millis(400);
    let settings = PoolSettings {
        max_connections: 1,
        acquire_timeout: acquire,
        statement_timeout: Some(Duration::from_secs(5)),
    };
    let app = TestApp::builder().pool_settings(settings).spawn().await;
    fixture(app.pool(), 2).await;
    // Warm the credential cache so the blocked PATCH holds the only connection on its UPDATE.
    let (s, _) = patch(&app, &session_id(1), &json!({"consoleData": "warm"}))
        .await
        .unwrap();
    assert_eq!(s, 200);
    let locker = app.another_pool(&PoolSettings::default()).await;
    let lock = lock_session(&locker, &session_id(0)).await;
    let blocked = {
        let server = app.remote();
        tokio::spawn(async move {
            patch(&server, &session_id(0), &json!({"consoleData": "waited"})).await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The blocked patch runs alone on the only connection (its row is locked, so the batcher
    // hands it back): a GET then finds no connection in time.
    let started = Instant::now();
    let res = app.get_session(&session_id(1)).signed_in_as(&AGENT).await;
    let took = started.elapsed();
    assert_unavailable(res.status, &res.json());
    assert!(took < acquire + Duration::from_secs(2), "took {took:?}");
    // Patches of other sessions go on, on the batcher's own connections.
    let (s, body) = patch(&app, &session_id(1), &json!({"consoleData": "not starved"}))
        .await
        .unwrap();
    assert_eq!(s, 200, "{body}");
    lock.rollback().await.unwrap();
    let (s, body) = blocked.await.unwrap().unwrap();
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["consoleData"], "waited");
    assert_eq!(
        stored(app.pool(), &session_id(1)).await["consoleData"],
        "not starved"
    );
    locker.close().await;
}

// ---------------------------------------------------------------------------------------------
// Two instances on one database
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_patching_distinct_fields_of_the_same_sessions_lose_no_update() {
    const SESSIONS: usize = 12;
    const ROUNDS: usize = 15;
    let db = TestDb::new().await;
    fixture(&db.pool, SESSIONS).await;
    let a = TestApp::builder().on(&db).spawn().await;
    let b = TestApp::builder().on(&db).spawn().await;
    let states = ["Connected", "Hold", "Passive", "Disconnected", "Ringing"];
    let queues = [
        "Connected",
        "Hold",
        "Ringing",
        "Disconnected",
        "Queued",
        "None",
    ];
    let mut tasks = Vec::new();
    for n in 0..SESSIONS {
        for instance in 0..2 {
            let server = if instance == 0 {
                Remote::new(&a.base_url)
            } else {
                Remote::new(&b.base_url)
            };
            tasks.push(tokio::spawn(async move {
                for round in 0..ROUNDS {
                    let body = if instance == 0 {
                        json!({"consoleData": format!("a-{n}-{round}")})
                    } else {
                        json!({"callState": states[(n + round) % states.len()],
                               "queueState": queues[(n + round) % queues.len()],
                               "holdReason": if round % 2 == 0 { "Transferring" } else { "None" }})
                    };
                    let (s, reply) = patch(&server, &session_id(n), &body).await.unwrap();
                    assert_eq!(s, 200, "instance {instance} round {round}: {reply}");
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let last = ROUNDS - 1;
    for n in 0..SESSIONS {
        let s = stored(&db.pool, &session_id(n)).await;
        assert_eq!(s["consoleData"], format!("a-{n}-{last}"), "session {n}");
        assert_eq!(s["callState"], states[(n + last) % states.len()]);
        assert_eq!(s["queueState"], queues[(n + last) % queues.len()]);
        assert_eq!(s["holdReason"], "Transferring");
    }
    a.stop().await;
    b.stop().await;
}

// ---------------------------------------------------------------------------------------------
// SIGTERM during a burst (the real binary)
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_burst_finishes_in_flight_patches_refuses_new_ones_and_exits_0() {
    const WORKERS: usize = 16;
    const PER_WORKER: usize = 15;
    let db = TestDb::new().await;
    // Session 0 is held by a row lock so its PATCH is certainly in flight at SIGTERM.
    fixture(&db.pool, 1 + WORKERS * PER_WORKER).await;
    let mut server = ServerProcess::command(&db.url)
        .env("VOICE_API_DRAIN_TIMEOUT_MS", "8000")
        .env("RUST_LOG", "voice_api=info")
        .spawn()
        .await;
    let base = server.base_url.clone();

    let lock = lock_session(&db.pool, &session_id(0)).await;
    let in_flight = {
        let base = base.clone();
        tokio::spawn(async move {
            patch(
                &Remote::new(&base),
                &session_id(0),
                &json!({"consoleData": "in flight", "callState": "Hold"}),
            )
            .await
        })
    };
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (base, done) = (base.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let server = Remote::new(&base);
            let mut results = Vec::new();
            for k in 0..PER_WORKER {
                let n = 1 + w * PER_WORKER + k;
                let value = format!("burst-{n}");
                let r = patch(
                    &server,
                    &session_id(n),
                    &json!({"consoleData": value, "callState": "Hold"}),
                )
                .await;
                done.fetch_add(1, Ordering::SeqCst);
                results.push((n, value, r.map_err(|e| e.to_string())));
            }
            results
        }));
    }
    // SIGTERM once part of the burst has been answered.
    let deadline = Instant::now() + Duration::from_secs(30);
    while done.load(Ordering::SeqCst) < WORKERS * PER_WORKER / 4 {
        assert!(Instant::now() < deadline, "the burst does not progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.sigterm();
    let signalled = Instant::now();
    // The listener closes at once...
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = Remote::new(&base).get("/health/live").try_send().await;
    assert!(
        refused.is_err(),
        "a new connection after SIGTERM: {refused:?}"
    );
    // ...while the locked request is still being finished.
    lock.rollback().await.unwrap();
    let (s, body) = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["consoleData"], "in flight");

    let status = server.wait(Duration::from_secs(15)).await;
    assert!(
        status.success(),
        "exit status {status:?}; output:\n{}",
        server.output()
    );
    assert!(signalled.elapsed() < Duration::from_secs(10));

    let (mut completed, mut refused) = (0, 0);
    for w in workers {
        for (n, value, result) in w.await.unwrap() {
            let s = stored(&db.pool, &session_id(n)).await;
            match result {
                Ok((200, body)) => {
                    completed += 1;
                    assert_eq!(body["consoleData"], value.as_str());
                    assert_eq!(s["consoleData"], value.as_str(), "session {n}");
                    assert_eq!(s["callState"], "Hold", "session {n}");
                }
                Ok((status, body)) => panic!("session {n}: answered {status} {body}"),
                Err(e) => {
                    refused += 1;
                    // Refused before it started: nothing of it was applied.
                    assert_eq!(s["consoleData"], ORIG, "session {n}: {e}");
                    assert_eq!(s["callState"], "Ringing", "session {n}: {e}");
                    assert_eq!(s["dateLastModified"], Value::Null, "session {n}: {e}");
                }
            }
        }
    }
    assert!(
        completed >= WORKERS * PER_WORKER / 4,
        "completed {completed}"
    );
    assert!(refused > 0, "SIGTERM came after the whole burst");
    let s0 = stored(&db.pool, &session_id(0)).await;
    assert_eq!(s0["consoleData"], "in flight");
    let lines = server.output();
    assert!(lines.contains("shutdown signal received"), "{lines}");
    eprintln!("burst: {completed} completed, {refused} refused");
}

/// PostgreSQL stopped and started again while clients keep patching (through the batcher): an
/// acknowledged patch is never lost, every failure is a 503, and the server recovers without a
/// restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_under_a_load_of_batched_patches_loses_no_acknowledged_write() {
    const SESSIONS: usize = 8;
    let pg = OwnPostgres::init();
    pg.start();
    let settings = PoolSettings {
        max_connections: 4,
        acquire_timeout: Duration::from_millis(1000),
        statement_timeout: Some(Duration::from_secs(5)),
    };
    let pool = open_pool(&pg.url("voice_api"), &settings).await;
    fixture(&pool, SESSIONS).await;
    let server = TestApp::builder()
        .on_pool(pool.clone(), &pg.url("voice_api"))
        .spawn()
        .await;
    let restarted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));

    // One client per session, patching it over and over; each records (attempt, status).
    let clients: Vec<_> = (0..SESSIONS)
        .map(|n| {
            let server = server.remote();
            let restarted = restarted.clone();
            tokio::spawn(async move {
                let mut seen: Vec<(usize, u16, bool)> = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(30);
                for i in 0.. {
                    let after = restarted.load(std::sync::atomic::Ordering::SeqCst);
                    let ok_after = seen.iter().filter(|s| s.1 == 200 && s.2).count();
                    if ok_after >= 5 || Instant::now() > deadline {
                        break;
                    }
                    let value = format!("{n}-{i}");
                    let (s, body) = patch(&server, &session_id(n), &json!({"consoleData": value}))
                        .await
                        .expect("the server answers");
                    if s == 200 {
                        assert_eq!(body["consoleData"], json!(value));
                    } else {
                        assert_unavailable(s, &body);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    seen.push((i, s, after));
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    pg.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    pg.start();
    restarted.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut results = Vec::new();
    for c in clients {
        results.push(c.await.unwrap());
    }

    // Every session holds its last acknowledged patch, or a later one whose answer was a 503.
    let fresh = open_pool(&pg.url("voice_api"), &PoolSettings::default()).await;
    let mut failures = 0;
    for (n, seen) in results.iter().enumerate() {
        let last_ok = seen
            .iter()
            .filter(|s| s.1 == 200)
            .map(|s| s.0)
            .max()
            .unwrap();
        let tried = seen.iter().map(|s| s.0).max().unwrap();
        assert!(
            seen.iter().filter(|s| s.1 == 200 && s.2).count() >= 5,
            "session {n} recovered: {seen:?}"
        );
        failures += seen.iter().filter(|s| s.1 != 200).count();
        let stored = stored(&fresh, &session_id(n)).await;
        let value = stored["consoleData"].as_str().unwrap().to_string();
        let i: usize = value.rsplit('-').next().unwrap().parse().unwrap();
        assert!(
            value.starts_with(&format!("{n}-")) && i >= last_ok && i <= tried,
            "session {n} holds {value}, last acknowledged {n}-{last_ok}"
        );
    }
    assert!(failures > 0, "the restart was felt by some patch");
    server.stop().await;
    pool.close().await;
    fresh.close().await;
}
