//! Hostile input through the real HTTP server: size limits, XML attacks (DTDs, entities,
//! external references, processing instructions, depth, names), malformed JSON, and ids and
//! values carrying quotes, SQL, NUL bytes and unicode. Every refusal must be a clean 4xx with
//! a ServiceStack body, quickly, with nothing fetched or expanded; afterwards the data is intact.

mod encodings;
mod json;
mod limits;
mod values;
mod xml;

use crate::helpers::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// "Did not hang": far above anything a refusal should take, even in a debug build.
const HANG_BOUND: Duration = Duration::from_secs(5);

/// A server on [`seed_agent_with_simple_session`].
async fn world() -> TestApp {
    let app = TestApp::spawn().await;
    seed_agent_with_simple_session(app.pool()).await;
    app
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

/// The sessions table still exists, holds `count` rows, and SESSION is as imported except for
/// `consoleData` (which a test may have patched).
async fn assert_intact(app: &TestApp, count: i64) {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(app.pool())
        .await
        .expect("the sessions table still exists");
    assert_eq!(n, count);
    let s = stored(app.pool(), SESSION).await;
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
