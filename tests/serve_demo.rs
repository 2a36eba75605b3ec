//! `voice-api serve --demo`: the binary as a newcomer runs it. It prints the real address when
//! asked for port 0, prints credentials and a curl command that works as printed, stops cleanly
//! on SIGTERM, and can be started again on the same database.

mod common;

use common::TestDb;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const DEMO_EMAIL: &str = "demo@voice-api.local";

/// A running `voice-api serve --demo`, its output lines arriving on `lines` (stdout and stderr
/// together). Killed on drop if a test fails before stopping it.
struct Server {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

fn forward(stream: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

impl Server {
    fn start(database_url: &str) -> Server {
        let dir = std::env::temp_dir();
        let mut child = Command::new(env!("CARGO_BIN_EXE_voice-api"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env("DATABASE_URL", database_url)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the voice-api binary starts");
        let (tx, rx) = mpsc::channel();
        forward(child.stdout.take().unwrap(), tx.clone());
        forward(child.stderr.take().unwrap(), tx);
        Server {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Reads output until a line contains `needle`; returns that line.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no line with {needle:?} ({e}); output so far: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// The line seen so far that contains `needle`.
    fn seen_line(&self, needle: &str) -> &str {
        self.seen
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in {:#?}", self.seen))
    }

    /// Waits for `listening on http://ADDR` and returns `http://ADDR`.
    fn wait_until_listening(&mut self) -> String {
        let line = self.wait_for("listening on http://");
        let rest = &line[line.find("listening on http://").unwrap() + "listening on ".len()..];
        let url: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ":/.[]".contains(*c))
            .collect();
        assert!(!url.ends_with(":0"), "port 0 was not resolved: {line}");
        url
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited with status 0 in time.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("voice-api did not exit within 10 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

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
    let res = reqwest::Client::new()
        .patch(&curl.url)
        .basic_auth(&curl.user, Some(&curl.password))
        .header(curl.header.0.as_str(), curl.header.1.as_str())
        .body(curl.body.to_string())
        .send()
        .await
        .expect("the server answers");
    (res.status().as_u16(), res.json().await.expect("JSON"))
}

async fn get_session(base: &str, curl: &Curl, id: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{base}/sessions/{id}"))
        .basic_auth(&curl.user, Some(&curl.password))
        .send()
        .await
        .expect("the server answers");
    (res.status().as_u16(), res.json().await.expect("JSON"))
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
    let mut server = Server::start(&db.url);
    let base = server.wait_until_listening();
    let curl = parse_curl(server.seen_line("curl "));
    let sessions_line = server.seen_line("demo sessions: ").to_string();
    let id = session_id(&curl);
    let (before_status, before) = get_session(&base, &curl, &id).await;

    // Act
    let (status, body) = run_curl(&curl).await;
    let (after_status, after) = get_session(&base, &curl, &id).await;
    let clean_exit = server.terminate();

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
    assert!(clean_exit, "voice-api exited non-zero after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_the_demo_twice_on_one_database_keeps_one_copy_and_earlier_changes() {
    // Arrange: a first run, with one session patched.
    let db = TestDb::new().await;
    let mut first = Server::start(&db.url);
    let first_base = first.wait_until_listening();
    let first_sessions = first.seen_line("demo sessions: ").to_string();
    let curl = parse_curl(first.seen_line("curl "));
    let (status, patched) = run_curl(&curl).await;
    assert_eq!(status, 200, "{patched}");
    let counts_after_first = (
        count(&db, "accounts").await,
        count(&db, "users").await,
        count(&db, "sessions").await,
    );
    assert!(first.terminate(), "the first run exited non-zero");

    // Act
    let mut second = Server::start(&db.url);
    let second_base = second.wait_until_listening();
    let second_sessions = second.seen_line("demo sessions: ").to_string();
    let (got_status, got) = get_session(&second_base, &curl, &session_id(&curl)).await;
    let counts_after_second = (
        count(&db, "accounts").await,
        count(&db, "users").await,
        count(&db, "sessions").await,
    );
    let clean_exit = second.terminate();

    // Assert
    assert_ne!(first_base, "");
    assert_eq!(counts_after_first, (1, 1, 5));
    assert_eq!(counts_after_second, counts_after_first);
    assert_eq!(second_sessions, first_sessions);
    assert_eq!((got_status, got), (200, patched));
    assert!(clean_exit, "the second run exited non-zero after SIGTERM");
}
