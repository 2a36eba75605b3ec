//! Authentication and account authorization, end to end over HTTP: credentials login on every
//! route and format, the ServiceStack session cookies and `X-ss-*` headers, logout, sessions
//! shared by server instances and surviving restarts, expiry, `/auth/status`, identical answers
//! for unknown users and wrong passwords, login throttling, API keys made with the CLI, cached
//! credentials invalidated at once, cross-account 403s, 401 bodies in JSON and XML, CORS, and
//! that no secret reaches the logs or the database.
//!
//! Every test has its own database. Whole bodies are compared; a random value (a session id)
//! is checked on its own and then substituted into the expected text.

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
use crate::helpers::calls::{SetCookie, set_cookies};
use crate::helpers::*;
use base64::Engine;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use voice_api::auth::AuthConfig;
use voice_api::storage::auth::ThrottlePolicy;

// Short names for the fixtures these tests use most.
const ACCOUNT_A: &str = ACCOUNT;
const ACCOUNT_B: &str = OTHER_ACCOUNT;
const SESSION_A: &str = SESSION;
const SESSION_B: &str = FOREIGN_SESSION;
const EMAIL: &str = ADA.email;
const PASSWORD: &str = ADA.password;
const NAME: &str = "Ada Lovelace";
const OTHER_EMAIL: &str = GRACE.email;
const OTHER_PASSWORD: &str = GRACE.password;
const ADMIN_EMAIL: &str = ADMIN.email;
const ADMIN_PASSWORD: &str = ADMIN.password;
const JSON: &str = JSON_UTF8;

/// The default lifetimes (AuthConfig::default()), which the cookies' Max-Age must carry.
const SESSION_TTL_SECS: u64 = 12 * 3600;
const REMEMBER_TTL_SECS: u64 = 30 * 24 * 3600;

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

/// The users of the fixture: ADA (a Manager of account A, with a display name), GRACE (a User
/// of account B) and ADMIN (a SystemAdministrator who belongs to account A only); and a
/// [`simple_session`] in each account.
struct Users {
    ada: String,
    grace: String,
    admin: String,
}

async fn seed(pool: &sqlx::PgPool) -> Users {
    let users = Users {
        ada: add_user(pool, &ADA).await,
        grace: add_user(pool, &GRACE).await,
        admin: add_user(pool, &ADMIN).await,
    };
    import(
        pool,
        &[
            simple_session(SESSION_A, ACCOUNT_A),
            simple_session(SESSION_B, ACCOUNT_B),
        ],
    )
    .await;
    users
}

async fn seeded_app() -> (TestApp, Users) {
    let app = TestApp::spawn().await;
    let users = seed(app.pool()).await;
    (app, users)
}

/// The stored session as the API answers it, read from the database side of the API (with
/// the administrator's Basic credentials), to compare before and after.
async fn stored_session(base_url: &str, id: &str) -> Value {
    let res = reqwest::Client::new()
        .get(format!("{base_url}/sessions/{id}"))
        .basic_auth(ADMIN_EMAIL, Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the administrator reads {id}");
    res.json().await.unwrap()
}

/// `before` with `patch` applied by `user_id`: dateLastModified is checked to be a new ISO
/// time and then copied, everything else must match exactly.
fn assert_patched(before: &Value, after: &Value, patch: &Value, user_id: &str) {
    let mut want = before.clone();
    for (k, v) in patch.as_object().unwrap() {
        if k != "sessionId" {
            want[k] = v.clone();
        }
    }
    want["lastModifiedBy"] = json!(user_id);
    let modified = after["dateLastModified"].as_str().unwrap_or_default();
    assert!(
        modified.ends_with('Z')
            && modified.len() == 24
            && Some(modified) != before["dateLastModified"].as_str(),
        "dateLastModified must be the new patch time, got {modified:?}"
    );
    want["dateLastModified"] = json!(modified);
    assert_eq!(after, &want);
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------

fn attrs(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// What a login answered.
struct Login {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    cookies: Vec<SetCookie>,
}

impl Login {
    fn cookie(&self, name: &str) -> &SetCookie {
        self.cookies
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} cookie in {:?}", self.cookies))
    }

    /// The `Cookie` header a browser would send back.
    fn cookie_header(&self) -> String {
        ["ss-id", "ss-pid", "ss-opt"]
            .iter()
            .map(|n| format!("{n}={}", self.cookie(n).value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The live session id: ss-pid when ss-opt is perm, else ss-id.
    fn live_id(&self) -> String {
        if self.cookie("ss-opt").value == "perm" {
            self.cookie("ss-pid").value.clone()
        } else {
            self.cookie("ss-id").value.clone()
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn read_login(res: reqwest::Response) -> Login {
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.text().await.unwrap();
    Login {
        status,
        cookies: set_cookies(&headers),
        headers,
        body,
    }
}

/// `POST {base}/auth/credentials` with a JSON body.
async fn login_at(base_url: &str, email: &str, password: &str, remember_me: bool) -> Login {
    let res = reqwest::Client::new()
        .post(format!("{base_url}/auth/credentials"))
        .json(&json!({"userName": email, "password": password, "rememberMe": remember_me}))
        .send()
        .await
        .unwrap();
    read_login(res).await
}

async fn login(app: &TestApp, email: &str, password: &str, remember_me: bool) -> Login {
    login_at(&app.base_url, email, password, remember_me).await
}

/// A successful login of Ada: asserts 200 and returns it.
async fn login_ok(base_url: &str, remember_me: bool) -> Login {
    let l = login_at(base_url, EMAIL, PASSWORD, remember_me).await;
    assert_eq!(l.status, StatusCode::OK, "login failed: {}", l.body);
    l
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// Sends and returns (status, headers, body text).
async fn send(req: reqwest::RequestBuilder) -> (StatusCode, HeaderMap, String) {
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Ada's whole AuthenticateResponse JSON, members in ServiceStack's DataMember order.
fn ada_authenticate_response(user_id: &str, session_id: &str) -> String {
    format!(
        r#"{{"userId":"{user_id}","sessionId":"{session_id}","userName":"{EMAIL}","displayName":"{NAME}","roles":["Manager"],"permissions":[]}}"#
    )
}

/// Asserts a 401 with the challenge and the whole JSON ResponseStatus body.
fn assert_401(status: StatusCode, headers: &HeaderMap, body: &str, want_body: &str) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(header(headers, "www-authenticate"), Some(CHALLENGE));
    assert_eq!(content_type(headers), JSON);
    assert_eq!(body, want_body);
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
