//! The live session feed (`GET /event-stream` and its neighbours), read as a client reads it:
//! frames off the wire, two instances on one database.
//!
//! - [`clients`]: the real `ServerEventsClient` of `@servicestack/client` in Node.
//! - [`feed`]: who may subscribe to what, replay from `Last-Event-ID`, heartbeats and expiry
//!   across instances, channel changes, limits, shutdown and a PostgreSQL restart.
//! - [`quiet`]: the quiet lock while nobody listens (migration 0010).

mod clients;
mod feed;
mod quiet;

use crate::helpers::*;
use serde_json::Value;
use std::time::Duration;
use voice_api::HttpConfig;
use voice_api::events::EventSettings;

/// Timings short enough for tests: heartbeat every 300 ms, housekeeping every 150 ms; a
/// subscription without heartbeats lasts 30 s (longer than any test that does not send them).
pub fn feed_config() -> HttpConfig {
    HttpConfig {
        events: EventSettings {
            heartbeat_interval: Duration::from_millis(300),
            idle_timeout: Duration::from_secs(30),
            housekeeping: Duration::from_millis(150),
            ..EventSettings::default()
        },
        ..HttpConfig::default()
    }
}

/// [`feed_config`] where a subscription without a heartbeat expires after 1.2 s.
pub fn expiring_config() -> HttpConfig {
    let mut config = feed_config();
    config.events.idle_timeout = Duration::from_millis(1200);
    config
}

/// Two instances on one fresh database, seeded with [`seed`].
pub async fn two_instances(config: HttpConfig) -> (TestDb, TestApp, TestApp, Users) {
    let db = TestDb::new().await;
    let users = seed(&db.pool).await;
    let a = TestApp::builder()
        .on(&db)
        .http_config(config.clone())
        .spawn()
        .await;
    let b = TestApp::builder().on(&db).http_config(config).spawn().await;
    (db, a, b, users)
}

/// One frame: `id: N` and `data: [channel@]selector body`.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<i64>,
    pub channel: Option<String>,
    /// `cmd.onConnect`, `cmd.SessionChanged`, ...
    pub selector: String,
    pub body: Value,
}

/// What reading a stream gave.
#[derive(Debug)]
pub enum Read {
    Frame(Frame),
    /// The server ended the response.
    Ended,
    TimedOut,
}

/// A stream being read frame by frame.
pub struct Stream {
    res: reqwest::Response,
    buf: Vec<u8>,
}

impl Stream {
    /// Opens the stream; panics unless it is a 200 `text/event-stream`.
    pub async fn open(call: Call) -> Stream {
        let res = call
            .into_request()
            .send()
            .await
            .expect("the server answers");
        assert_eq!(res.status(), 200, "{:?}", res.headers());
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        assert_eq!(res.headers()["cache-control"], "no-cache");
        assert_eq!(res.headers()["x-accel-buffering"], "no");
        Stream {
            res,
            buf: Vec::new(),
        }
    }

    pub async fn read(&mut self, within: Duration) -> Read {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let text = String::from_utf8(self.buf.drain(..end + 2).collect()).unwrap();
                return Read::Frame(parse(&text));
            }
            match tokio::time::timeout_at(deadline, self.res.chunk()).await {
                Err(_) => return Read::TimedOut,
                Ok(Ok(Some(chunk))) => self.buf.extend_from_slice(&chunk),
                Ok(Ok(None)) | Ok(Err(_)) => return Read::Ended,
            }
        }
    }

    /// The next frame; panics when none comes within 5 s.
    pub async fn next(&mut self) -> Frame {
        match self.read(Duration::from_secs(5)).await {
            Read::Frame(f) => f,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame with this selector, skipping others (heartbeats, joins).
    pub async fn next_of(&mut self, selector: &str) -> Frame {
        loop {
            let f = self.next().await;
            if f.selector == selector {
                return f;
            }
        }
    }

    /// Every frame with this selector until nothing comes for `quiet`.
    pub async fn all_of(&mut self, selector: &str, quiet: Duration) -> Vec<Frame> {
        let mut out = Vec::new();
        loop {
            match self.read(quiet).await {
                Read::Frame(f) if f.selector == selector => out.push(f),
                Read::Frame(_) => {}
                Read::TimedOut | Read::Ended => return out,
            }
        }
    }

    /// Whether the server ends the stream within `within` (frames before the end are skipped).
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Read::Frame(_) => {}
                Read::Ended => return true,
                Read::TimedOut => return false,
            }
        }
    }
}

fn parse(text: &str) -> Frame {
    let mut id = None;
    let mut data = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.parse().unwrap_or_else(|_| panic!("id {v}")));
        } else if let Some(v) = line.strip_prefix("data: ") {
            assert!(data.is_none(), "one data line per frame: {text:?}");
            data = Some(v.to_string());
        } else {
            assert!(line.is_empty(), "unexpected line {line:?} in {text:?}");
        }
    }
    let data = data.unwrap_or_else(|| panic!("no data line in {text:?}"));
    let (selector, body) = data.split_once(' ').unwrap_or((&data, ""));
    let (channel, selector) = match selector.split_once('@') {
        Some((c, s)) => (Some(c.to_string()), s.to_string()),
        None => (None, selector.to_string()),
    };
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("body of {text:?}: {e}"));
    Frame {
        id,
        channel,
        selector,
        body,
    }
}

/// `GET /event-stream?channels=...` (no channels: the user's accounts).
pub fn stream_call(app: &TestApp, channels: Option<&str>) -> Call {
    match channels {
        Some(c) => app.get(&format!("/event-stream?channels={c}")),
        None => app.get("/event-stream"),
    }
}

/// A stream of `user` on `app`, read past `cmd.onConnect` (returned) and its own `cmd.onJoin`:
/// everything committed before it subscribed is behind it (a stream starts where its instance
/// is in the log, which may be a little behind the newest event).
pub async fn subscribe(app: &TestApp, user: &User, channels: Option<&str>) -> (Stream, Frame) {
    let mut s = Stream::open(stream_call(app, channels).signed_in_as(user)).await;
    let connect = s.next().await;
    assert_eq!(connect.selector, "cmd.onConnect", "{connect:?}");
    loop {
        let f = s.next().await;
        if f.selector == "cmd.onJoin"
            && f.body["createdAt"] == connect.body["createdAt"]
            && f.body["userId"] == connect.body["userId"]
        {
            break;
        }
    }
    (s, connect)
}

/// PATCHes SESSION as ADA on `app` and answers the whole SessionInfo it returned.
pub async fn patch_as_ada(app: &TestApp, console: &str) -> Value {
    let res = app
        .patch_session(SESSION, &serde_json::json!({ "consoleData": console }))
        .signed_in_as(&ADA)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.json()
}

/// Session changes logged after `id`.
pub async fn logged_after(pool: &sqlx::PgPool, id: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM event_log WHERE id > $1 AND kind IN ('changed', 'deleted')",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Resumes from `seen` on `app` while nobody listens and a write that decided not to log is in
/// progress on `pool`: the subscription waits for that write to commit (so the subscriber
/// cannot miss it), and the client is then told to reload (what it missed is not in the log).
/// Answers the stream, live.
pub async fn resume_behind_an_unlogged_write(
    pool: &sqlx::PgPool,
    app: &TestApp,
    seen: i64,
) -> Stream {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("UPDATE sessions SET console_data = 'in progress' WHERE id = $1")
        .bind(SESSION)
        .execute(&mut *tx)
        .await
        .unwrap();
    let call = stream_call(app, None)
        .signed_in_as(&ADA)
        .header("Last-Event-ID", &seen.to_string());
    let opening = tokio::spawn(async move {
        let mut s = Stream::open(call).await;
        let connect = s.next().await;
        (s, connect)
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !opening.is_finished(),
        "a subscription began while an unlogged write was in progress"
    );
    tx.commit().await.unwrap();
    let (mut s, connect) = tokio::time::timeout(Duration::from_secs(5), opening)
        .await
        .expect("the subscription goes on once the write ends")
        .unwrap();
    assert_eq!(connect.selector, "cmd.onConnect");
    let reset = s.next().await;
    assert_eq!(reset.selector, "cmd.onReset", "{reset:?}");
    assert_eq!(
        reset.body,
        serde_json::json!({
            "lastEventId": seen.to_string(),
            "reason": "older than the events this feed keeps"
        })
    );
    s
}
