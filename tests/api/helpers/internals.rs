//! The few places the tests reach into the library below its HTTP and CLI surface. The DTO
//! and storage APIs these wrap are being redesigned (a central `src/contract/`): when they
//! change, this file and `contract.rs` change, and no test does. Each function says what it
//! stands for in terms of behaviour; none returns a library type.

use serde_json::Value;
use sqlx::PgPool;

/// Creates an account (when missing, named `Account {id}`) and a user in it, as
/// `voice-api user add` does; returns the user id.
/// Uses `storage::accounts::ensure_account` and `cli::add_user`.
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
    voice_api::cli::add_user(pool, account, email, password, name, &roles)
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

/// Stores one SessionInfo document given as JSON text through the storage layer directly
/// (typed parsing keeps the key order of string maps), not through the import.
/// Uses `dto::SessionInfo` and `storage::sessions::upsert`.
pub async fn upsert_session_text(pool: &PgPool, text: &str) {
    let session: voice_api::dto::SessionInfo = serde_json::from_str(text).unwrap();
    let mut tx = pool.begin().await.unwrap();
    voice_api::storage::sessions::upsert(&mut tx, &session)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The stored session `id` as its SessionInfo JSON (null fields omitted), read from the
/// database without the HTTP server; `None` when there is no such session.
/// Uses `storage::sessions::load` and the DTO's serde form.
pub async fn stored_session(pool: &PgPool, id: &str) -> Option<Value> {
    voice_api::storage::sessions::load(pool, id)
        .await
        .expect("the session loads")
        .map(|s| serde_json::to_value(s).unwrap())
}

/// Like [`stored_session`], for a session that must exist.
pub async fn stored(pool: &PgPool, id: &str) -> Value {
    stored_session(pool, id)
        .await
        .unwrap_or_else(|| panic!("session {id} exists"))
}

/// A DataContract XML SessionInfo read back with the server's own reader, as JSON.
/// Uses `wire::xml::read_session_info`.
pub fn read_session_info_xml(xml: &[u8]) -> Result<Value, String> {
    voice_api::wire::xml::read_session_info(xml)
        .map(|s| serde_json::to_value(s).unwrap())
        .map_err(|e| e.to_string())
}

/// The JSON the hot path writes straight from the stored row of `id`, the JSON of the typed
/// SessionInfo decoded from the same row, and whether that typed value equals `doc` read as one.
/// Uses `storage::sessions::load_stored`, `StoredSession::write_json` and `to_info`.
pub async fn json_from_the_row_and_typed(
    pool: &PgPool,
    id: &str,
    doc: &Value,
) -> (String, String, bool) {
    let stored = voice_api::storage::sessions::load_stored(pool, id)
        .await
        .unwrap()
        .expect("imported");
    let mut from_row = Vec::new();
    stored.write_json(&mut from_row).unwrap();
    let typed = stored.to_info().unwrap();
    let expected: voice_api::dto::SessionInfo = serde_json::from_value(doc.clone()).unwrap();
    (
        String::from_utf8(from_row).unwrap(),
        serde_json::to_string(&typed).unwrap(),
        typed == expected,
    )
}

/// `doc` read as a typed SessionInfo and written again (the typed JSON of the document).
pub fn typed_json(doc: &Value) -> String {
    let typed: voice_api::dto::SessionInfo = serde_json::from_value(doc.clone()).unwrap();
    serde_json::to_string(&typed).unwrap()
}

/// Whether `password` matches a stored argon2 `hash`. Uses `auth::verify_secret`.
pub fn password_matches(password: &str, hash: &str) -> bool {
    voice_api::auth::verify_secret(password, hash)
}

/// The request limits the server enforces.
pub mod limits {
    /// Bodies above this are 413. (`HttpConfig::default().max_body_bytes`)
    pub fn max_body_bytes() -> usize {
        voice_api::HttpConfig::default().max_body_bytes
    }
    /// consoleData above this many bytes is 400. (`wire::fields::MAX_CONSOLE_DATA_LEN`)
    pub const MAX_CONSOLE_DATA_LEN: usize = voice_api::wire::fields::MAX_CONSOLE_DATA_LEN;
    /// Ids above this many bytes are 400. (`wire::fields::MAX_ID_LEN`)
    pub const MAX_ID_LEN: usize = voice_api::wire::fields::MAX_ID_LEN;
}
