//! Hostile input through the real HTTP server: size limits, XML attacks (DTDs, entities,
//! external references, processing instructions, depth, names), malformed JSON, and ids and
//! values carrying quotes, SQL, NUL bytes and unicode. Every refusal must be a clean 4xx with
//! a ServiceStack body, quickly, with nothing fetched or expanded; afterwards the data is intact.

mod json;
mod limits;
mod values;
mod xml;

use crate::helpers::*;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// "Did not hang": far above anything a refusal should take, even in a debug build.
const HANG_BOUND: Duration = Duration::from_secs(5);

/// AGENT and the [`simple_session`] SESSION.
async fn world() -> TestApp {
    let app = TestApp::spawn().await;
    add_user(app.pool(), &AGENT).await;
    import(app.pool(), &[simple_session(SESSION, ACCOUNT)]).await;
    app
}

/// The stored session `id` (which must exist) as JSON.
async fn load(app: &TestApp, id: &str) -> Value {
    stored(app.pool(), id).await
}

/// Percent-encodes every byte but ASCII letters and digits.
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A clean refusal: the status, a ServiceStack error body, and no hang.
fn assert_refused(a: &Response, status: u16, what: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.text);
    assert!(
        !a.error_code().is_empty(),
        "{what}: no ResponseStatus: {}",
        a.text
    );
    assert!(a.took < HANG_BOUND, "{what}: took {:?}", a.took);
}

/// AGENT's request with an optional content type.
async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Response {
    let call = app.request(method, path).signed_in_as(&AGENT);
    match content_type {
        Some(ct) => call.body(ct, body).await,
        None => call.raw_body(body).await,
    }
}

/// AGENT's JSON PATCH of session `id` (percent-encoded into the path).
async fn patch_json(app: &TestApp, id: &str, body: impl Into<reqwest::Body>) -> Response {
    let path = format!("/sessions/{}", encode(id));
    send(
        app,
        reqwest::Method::PATCH,
        &path,
        Some("application/json"),
        body,
    )
    .await
}

/// AGENT's XML PATCH of SESSION.
async fn patch_xml(app: &TestApp, body: impl Into<reqwest::Body>) -> Response {
    app.patch_session_xml(SESSION, body)
        .signed_in_as(&AGENT)
        .await
}

/// The sessions table still exists, holds `count` rows, and SESSION is as imported except for
/// `consoleData` (which a test may have patched).
async fn assert_intact(app: &TestApp, count: i64) {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(app.pool())
        .await
        .expect("the sessions table still exists");
    assert_eq!(n, count);
    let s = load(app, SESSION).await;
    assert_eq!(s["displayName"], "Jane");
    assert_eq!(s["accountId"], ACCOUNT);
    assert_eq!(s["log"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.get("/health/live").await.status,
        200,
        "the server still answers"
    );
}

fn base64_basic() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", AGENT.email, AGENT.password))
}

/// Sends raw bytes and reads whatever comes back until the server closes (or 5 s pass).
async fn raw_request(app: &TestApp, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // The server may answer and close before it has read everything: ignore write errors.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(HANG_BOUND, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn first_line(s: &str) -> &str {
    if s.is_empty() {
        "(connection closed without a response)"
    } else {
        s.lines().next().unwrap_or("")
    }
}
