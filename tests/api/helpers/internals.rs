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
