//! The few places the tests reach into the library below its HTTP and CLI surface. Each
//! function says what it stands for in terms of behaviour; none returns a library type.

use serde_json::Value;
use sqlx::PgPool;
use voice_api::contract::Dto;
use voice_api::contract::sessions::{PatchSession, SessionInfo};

/// Creates an account (when missing, named `Account {id}`) and a user in it, as
/// `voice-api user add` does; returns the user id.
/// Uses `storage::accounts::ensure_account` and `accounts::add_user`.
pub async fn add_user(
    pool: &PgPool,
    account: &str,
    email: &str,
    password: &str,
    name: Option<&str>,
    roles: &[&str],
) -> String {
    let mut tx = pool.begin().await.unwrap();
    voice_api::storage::accounts::ensure_account(&mut tx, account, &format!("Account {account}"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    voice_api::accounts::add_user(pool, account, email, password, name, &roles)
        .await
        .unwrap()
}

/// Imports a JSON array of SessionInfo documents, as `voice-api import` does; returns how many.
/// Uses `import::import_json`.
pub async fn import_json(pool: &PgPool, text: &str) -> usize {
    voice_api::import::import_json(pool, text)
        .await
        .expect("the fixture imports")
}

/// Stores one SessionInfo document given as JSON text (read by the contract, which keeps the
/// key order of string maps). Uses `wire::from_json` and `import::import`.
pub async fn upsert_session_text(pool: &PgPool, text: &str) {
    let session: SessionInfo = voice_api::wire::from_json(text).unwrap();
    voice_api::import::import(pool, &[session]).await.unwrap();
}

/// The stored session `id` as its SessionInfo JSON (null fields omitted), read from the
/// database without the HTTP server; `None` when there is no such session.
/// Uses `sessions::load` and `wire::to_json`.
pub async fn stored_session(pool: &PgPool, id: &str) -> Option<Value> {
    voice_api::sessions::load(pool, id)
        .await
        .expect("the session loads")
        .map(|s| serde_json::from_str(&voice_api::wire::to_json(&s)).unwrap())
}

/// Like [`stored_session`], for a session that must exist.
pub async fn stored(pool: &PgPool, id: &str) -> Value {
    stored_session(pool, id)
        .await
        .unwrap_or_else(|| panic!("session {id} exists"))
}

/// A DataContract XML SessionInfo read back with the server's own reader, as JSON.
/// Uses `wire::from_xml`.
pub fn read_session_info_xml(xml: &[u8]) -> Result<Value, String> {
    voice_api::wire::from_xml::<SessionInfo>(xml)
        .map(|s| serde_json::from_str(&voice_api::wire::to_json(&s)).unwrap())
        .map_err(|e| e.message)
}

/// A DataContract XML ErrorResponse read back with the server's own reader (is it well-formed
/// and of the contract's shape?). Uses `wire::from_xml`.
pub fn read_error_response_xml(xml: &[u8]) -> Result<(), String> {
    voice_api::wire::from_xml::<voice_api::contract::servicestack::ErrorResponse>(xml)
        .map(|_| ())
        .map_err(|e| e.message)
}

/// The JSON the hot path writes straight from the stored row of `id`, the JSON of the typed
/// SessionInfo decoded from the same row, and whether that typed value equals `doc` read as one.
/// Uses `storage::sessions::load`, `wire::json::write`, `wire::from_stored`.
pub async fn json_from_the_row_and_typed(
    pool: &PgPool,
    id: &str,
    doc: &Value,
) -> (String, String, bool) {
    let stored = voice_api::storage::sessions::load(pool, id)
        .await
        .unwrap()
        .expect("imported");
    let value = stored.value().unwrap();
    let mut from_row = Vec::new();
    voice_api::wire::json::write(&mut from_row, SessionInfo::TYPE, &value).unwrap();
    let typed: SessionInfo = voice_api::wire::from_stored(value).unwrap();
    let expected: SessionInfo = voice_api::wire::from_json(&doc.to_string()).unwrap();
    (
        String::from_utf8(from_row).unwrap(),
        voice_api::wire::to_json(&typed),
        typed == expected,
    )
}

/// `doc` read as a typed SessionInfo and written again (the typed JSON of the document).
pub fn typed_json(doc: &Value) -> String {
    let typed: SessionInfo = voice_api::wire::from_json(&doc.to_string()).unwrap();
    voice_api::wire::to_json(&typed)
}

/// The expression ListSessions' log filter compares with the search, over the sessions table
/// aliased `s`. Uses `storage::sessions::LOG_TEXT`.
pub fn log_filter_expression() -> &'static str {
    voice_api::storage::sessions::LOG_TEXT
}

/// Whether `password` matches a stored argon2 `hash`. Uses `auth::verify_secret`.
pub fn password_matches(password: &str, hash: &str) -> bool {
    voice_api::auth::verify_secret(password, hash)
}

/// The request limits the server enforces.
pub mod limits {
    use super::*;

    /// Bodies above this are 413. (`HttpConfig::default().max_body_bytes`)
    pub fn max_body_bytes() -> usize {
        voice_api::HttpConfig::default().max_body_bytes
    }

    /// consoleData above this many bytes is 400 (the contract's rule).
    pub fn max_console_data_bytes() -> usize {
        PatchSession::TYPE
            .slot_by_field("console_data")
            .and_then(|s| s.member.rules.max_bytes)
            .unwrap()
    }

    /// Ids above this many characters are 400 (the contract's rule).
    pub fn max_id_chars() -> usize {
        voice_api::contract::sessions::max_id_chars()
    }
}

/// One patch for [`one_batch`]: session id, the PatchSession members as JSON, the user it runs
/// as, and If-Match's version.
pub struct BatchItem {
    pub id: &'static str,
    pub patch: Value,
    pub user_id: String,
    /// `Some`: present this auth stamp instead of the user's real one (a stale credential).
    pub stamp: Option<i64>,
    pub expect: Option<i64>,
}

/// What [`one_batch`] saw: each patch's answer, in the items' order, as text (`found v2
/// {json}`, `forbidden`, `notfound`, `unauthenticated`, `stale`, `unchanged`, `busy`, `alone`,
/// `unavailable`, `queuefull`, or `dropped` for a patch whose request went away), and the
/// batch sizes the batcher sent after the plug (see below), smallest first.
#[derive(Debug, PartialEq)]
pub struct BatchRun {
    pub answers: Vec<String>,
    pub batches: Vec<String>,
}

/// Sends `items` through a real batcher (one batch connection on `url`'s database, a queue of
/// `queue`) so that they reach it while its one connection is busy: a first patch (the plug,
/// of a missing session) is taken into a batch that waits for a connection the helper holds;
/// the items queue in order behind it; `cancel` names items whose request goes away while
/// queued; then the connection is let go. Uses `storage::batch::Batcher` and `Leases`.
pub async fn one_batch(
    url: &str,
    items: Vec<BatchItem>,
    queue: usize,
    cancel: &[usize],
) -> BatchRun {
    use std::sync::Arc;
    use voice_api::storage::auth::Credential;
    use voice_api::storage::batch::{Answer, BatchSettings, Batcher, Patch};
    use voice_api::storage::lease::Leases;
    use voice_api::storage::sessions::Outcome;

    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let leases = Arc::new(Leases::new(options, 1, std::time::Duration::from_secs(10)));
    let batcher = Arc::new(Batcher::new(
        leases.clone(),
        BatchSettings {
            connections: 1,
            max_batch: 64,
            queue,
        },
    ));
    let patch_of = async |item: &BatchItem| {
        let stamp: i64 = sqlx::query_scalar("SELECT auth_stamp FROM users WHERE id = $1")
            .bind(&item.user_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        let mut doc = item.patch.clone();
        doc["sessionId"] = Value::from(item.id);
        let mut req: PatchSession = voice_api::wire::from_json(&doc.to_string()).unwrap();
        // The batcher's own safety net is tested with text the binder would refuse.
        if let Some(raw) = doc["rawConsoleData"].as_str() {
            req.console_data = Some(raw.to_string());
        }
        Patch {
            id: item.id.to_string(),
            req,
            now: "2026-12-01T00:00:00.000Z".to_string(),
            expect: item.expect,
            cred: Credential::User {
                user_id: item.user_id.clone(),
                auth_stamp: item.stamp.unwrap_or(stamp),
            },
        }
    };
    let held = leases.acquire(false).await.unwrap();
    let plug = {
        let mut p = patch_of(&items[0]).await;
        p.id = "plug".into();
        let b = batcher.clone();
        tokio::spawn(async move { b.patch(p).await.map(|_| ()) })
    };
    wait_for(|| batcher.stats().batches == 1).await;
    let mut tasks = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let p = patch_of(item).await;
        let b = batcher.clone();
        tasks.push(tokio::spawn(async move { b.patch(p).await }));
        if queue > n {
            wait_for(|| batcher.queued() == n + 1).await;
        }
    }
    for &n in cancel {
        tasks[n].abort();
    }
    drop(held);
    plug.await.unwrap().unwrap();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(match task.await {
            Err(_) => "dropped".to_string(),
            Ok(answer) => match answer.unwrap().1 {
                Answer::Done(Outcome::Found(s)) => {
                    let mut json = Vec::new();
                    voice_api::wire::json::write(&mut json, SessionInfo::TYPE, &s.value().unwrap())
                        .unwrap();
                    format!(
                        "found v{} {}",
                        s.version().unwrap(),
                        String::from_utf8(json).unwrap()
                    )
                }
                Answer::Done(Outcome::Forbidden) => "forbidden".into(),
                Answer::Done(Outcome::NotFound) => "notfound".into(),
                Answer::Done(Outcome::Unauthenticated) => "unauthenticated".into(),
                Answer::Done(Outcome::Stale) => "stale".into(),
                Answer::Unchanged => "unchanged".into(),
                Answer::Busy => "busy".into(),
                Answer::Alone => "alone".into(),
                Answer::Unavailable(_) => "unavailable".into(),
                Answer::QueueFull => "queuefull".into(),
            },
        });
    }
    let stats = batcher.stats();
    pool.close().await;
    BatchRun {
        answers,
        // The plug's batch of one is the first; what follows is the items'.
        batches: {
            let mut sizes = stats.sizes;
            sizes[0] -= 1;
            voice_api::storage::batch::BatchStats {
                batches: stats.batches - 1,
                patches: stats.patches - 1,
                sizes,
            }
            .histogram()
            .split(' ')
            .filter(|b| !b.ends_with(":0"))
            .map(str::to_string)
            .collect()
        },
    }
}

/// Polls `done` until it holds (at most 10 s).
async fn wait_for(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "the batcher did not get there in 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}
