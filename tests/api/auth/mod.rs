//! Authentication and account authorization, end to end over HTTP: credentials login on every
//! route and format, the ServiceStack session cookies and `X-ss-*` headers, logout, sessions
//! shared by server instances and surviving restarts, expiry, `/auth/status`, identical answers
//! for unknown users and wrong passwords, login throttling, API keys made with the CLI, cached
//! credentials invalidated at once, cross-account 403s, 401 bodies in JSON and XML, CORS, and
//! that no secret reaches the logs or the database.
//!
//! Every test has its own database, seeded with the accounts world ([`seed`]: ADA, GRACE and
//! ADMIN, SESSION and FOREIGN_SESSION). Whole bodies are compared; a random value (a session
//! id) is checked on its own and then substituted into the expected text.

mod accounts;
mod api_keys;
mod login;
mod login_sessions;
mod logs;
mod throttling;

use api_keys::basic_header;
use login_sessions::ada_user_info;
use throttling::quick_throttle;

use crate::helpers::binary::{ServerProcess, add_api_key, voice_api};
use crate::helpers::*;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use voice_api::auth::AuthConfig;
use voice_api::storage::auth::ThrottlePolicy;

/// The default lifetimes (AuthConfig::default()), which the cookies' Max-Age must carry.
const SESSION_TTL_SECS: u64 = 12 * 3600;
const REMEMBER_TTL_SECS: u64 = 30 * 24 * 3600;

/// A server on the accounts world; returns it and the users' ids.
async fn seeded_app() -> (TestApp, Users) {
    let app = TestApp::spawn().await;
    let users = seed(app.pool()).await;
    (app, users)
}

fn attrs(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Ada's whole AuthenticateResponse JSON, members in ServiceStack's DataMember order.
fn ada_authenticate_response(user_id: &str, session_id: &str) -> String {
    format!(
        r#"{{"userId":"{user_id}","sessionId":"{session_id}","userName":"{}","displayName":"{}","roles":["Manager"],"permissions":[]}}"#,
        ADA.email,
        ADA.name.unwrap()
    )
}

fn is_session_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}
