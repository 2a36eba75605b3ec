//! `voice-api serve --demo`: the binary as a newcomer runs it. It prints the real address when
//! asked for port 0, prints credentials and a curl command that works as printed, stops cleanly
//! on SIGTERM, and can be started again on the same database.

use crate::helpers::binary::ServerProcess;
use crate::helpers::*;
use serde_json::{Value, json};

const DEMO_EMAIL: &str = "demo@voice-api.local";

/// The printed `curl -s -u USER:PASSWORD -X PATCH URL -H 'HEADER' -d 'BODY'` taken apart.
#[derive(Debug)]
struct Curl {
    user: String,
    password: String,
    url: String,
    header: (String, String),
    body: Value,
}

fn between<'a>(line: &'a str, start: &str, end: char) -> &'a str {
    let from = line
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in {line}"))
        + start.len();
    let rest = &line[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

fn parse_curl(line: &str) -> Curl {
    let (user, password) = between(line, "-u ", ' ').split_once(':').unwrap();
    let (name, value) = between(line, "-H '", '\'').split_once(':').unwrap();
    let body = &line[line.find("-d '").unwrap() + 4..line.rfind('\'').unwrap()];
    Curl {
        user: user.into(),
        password: password.into(),
        url: between(line, "-X PATCH ", ' ').into(),
        header: (name.trim().into(), value.trim().into()),
        body: serde_json::from_str(body).expect("the printed body is JSON"),
    }
}

/// Runs the printed curl command with reqwest; returns (status, body).
async fn run_curl(curl: &Curl) -> (u16, Value) {
    let res = Call::new(reqwest::Client::new().patch(&curl.url))
        .basic(&curl.user, &curl.password)
        .header(&curl.header.0, &curl.header.1)
        .raw_body(curl.body.to_string())
        .await;
    (res.status, res.json())
}

async fn get_session(base: &str, curl: &Curl, id: &str) -> (u16, Value) {
    let res = Remote::new(base)
        .get_session(id)
        .basic(&curl.user, &curl.password)
        .await;
    (res.status, res.json())
}

async fn demo_user_id(db: &TestDb) -> String {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(DEMO_EMAIL)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// The session id the curl command patches.
fn session_id(curl: &Curl) -> String {
    curl.url.rsplit('/').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_curl_command_patches_the_first_demo_session_and_sigterm_exits_cleanly() {
    // Arrange
    let db = TestDb::new().await;
    let server = ServerProcess::command(&db.url).demo().spawn().await;
    let base = server.base_url.clone();
    let curl = parse_curl(&server.wait_for_line("curl ").await);
    let sessions_line = server.wait_for_line("demo sessions: ").await;
    let id = session_id(&curl);
    let (before_status, before) = get_session(&base, &curl, &id).await;

    // Act
    let (status, body) = run_curl(&curl).await;
    let (after_status, after) = get_session(&base, &curl, &id).await;
    let (exit, _) = server.stop().await;

    // Assert
    assert_eq!(curl.url, format!("{base}/sessions/{id}"));
    assert_eq!(curl.user, DEMO_EMAIL);
    assert!(
        sessions_line.contains(&format!("demo sessions: {id}")),
        "{sessions_line}"
    );
    assert_eq!(before_status, 200, "{before}");
    assert_eq!(status, 200, "{body}");
    let mut expected = before.clone();
    for field in ["callState", "holdReason", "consoleData"] {
        expected[field] = curl.body[field].clone();
    }
    expected["lastModifiedBy"] = json!(demo_user_id(&db).await);
    expected["dateLastModified"] = body["dateLastModified"].clone();
    assert_ne!(expected["dateLastModified"], before["dateLastModified"]);
    assert_eq!(body, expected);
    assert_eq!((after_status, after), (200, expected));
    assert!(exit.success(), "voice-api exited non-zero after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_the_demo_twice_on_one_database_keeps_one_copy_and_earlier_changes() {
    // Arrange: a first run, with one session patched.
    let db = TestDb::new().await;
    let first = ServerProcess::command(&db.url).demo().spawn().await;
    let first_base = first.base_url.clone();
    let first_sessions = first.wait_for_line("demo sessions: ").await;
    let curl = parse_curl(&first.wait_for_line("curl ").await);
    let (status, patched) = run_curl(&curl).await;
    assert_eq!(status, 200, "{patched}");
    let counts_after_first = (
        count(&db, "accounts").await,
        count(&db, "users").await,
        count(&db, "sessions").await,
    );
    assert!(
        first.stop().await.0.success(),
        "the first run exited non-zero"
    );

    // Act
    let second = ServerProcess::command(&db.url).demo().spawn().await;
    let second_base = second.base_url.clone();
    let second_sessions = second.wait_for_line("demo sessions: ").await;
    let (got_status, got) = get_session(&second_base, &curl, &session_id(&curl)).await;
    let counts_after_second = (
        count(&db, "accounts").await,
        count(&db, "users").await,
        count(&db, "sessions").await,
    );
    let (exit, _) = second.stop().await;

    // Assert
    assert_ne!(first_base, "");
    assert_eq!(counts_after_first, (1, 1, 5));
    assert_eq!(counts_after_second, counts_after_first);
    assert_eq!(second_sessions, first_sessions);
    assert_eq!((got_status, got), (200, patched));
    assert!(
        exit.success(),
        "the second run exited non-zero after SIGTERM"
    );
}
