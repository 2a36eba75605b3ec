//! Observability: one log line per request (method, matched route, status, latency, request
//! id), `X-Request-Id` generated when absent, kept when given and echoed back on every answer,
//! and internal errors answered generically with their cause in the log only.

use crate::helpers::*;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

const EMAIL: &str = AGENT.email;
const PASSWORD: &str = AGENT.password;

/// Everything logged by this test binary once an observability test has started (one global
/// subscriber, which every module's servers then log to; tests tell their lines apart by
/// request id).
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("voice_api=info"))
            .with_ansi(false)
            .event_format(voice_api::logging::Lines)
            .with_writer(move || Capture(writer.clone()))
            .init();
        buf
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_lines_with(needle: &str) -> Vec<String> {
    let logs = logs();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

async fn world() -> TestApp {
    logs();
    let app = TestApp::spawn().await;
    add_user(app.pool(), &AGENT).await;
    import(app.pool(), &[simple_session(SESSION, ACCOUNT)]).await;
    app
}

fn request_id(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-request-id")
        .expect("every answer carries X-Request-Id")
        .to_str()
        .unwrap()
        .to_string()
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

#[tokio::test]
async fn a_request_id_is_generated_when_absent_and_echoed_on_every_answer() {
    let app = world().await;
    let mut seen = Vec::new();
    let requests = [
        app.http.get(app.url("/health/live")),
        app.http.get(app.url(&format!("/sessions/{SESSION}"))), // 401
        app.http.get(app.url("/nowhere")),                      // 404
        app.http
            .patch(app.url(&format!("/sessions/{SESSION}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .header("Content-Type", "application/json")
            .body("{"), // 400
        app.http
            .patch(app.url(&format!("/sessions/{SESSION}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .header("Content-Type", "application/json")
            .body(vec![b' '; 2 * 1024 * 1024]), // 413
    ];
    for req in requests {
        let res = req.send().await.unwrap();
        let id = request_id(&res);
        assert!(is_uuid(&id), "{} got {id:?}", res.status());
        seen.push(id);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5, "each request gets its own id");
}

#[tokio::test]
async fn a_client_request_id_is_kept_when_short_visible_ascii_and_replaced_otherwise() {
    let app = world().await;
    for given in ["client-abc-123", "a", &"x".repeat(128), "{trace:7/8}"] {
        let res = app
            .http
            .get(app.url("/health/live"))
            .header("X-Request-Id", given)
            .send()
            .await
            .unwrap();
        assert_eq!(request_id(&res), given);
    }
    for bad in [
        "".to_string(),
        "has space".into(),
        "x".repeat(129),
        "tab\there".into(),
    ] {
        let res = app
            .http
            .get(app.url("/health/live"))
            .header("X-Request-Id", bad.as_str())
            .send()
            .await
            .unwrap();
        let id = request_id(&res);
        assert!(is_uuid(&id), "{bad:?} → {id:?}");
    }
    // Non-UTF-8 bytes in the header.
    let res = app
        .http
        .get(app.url("/health/live"))
        .header(
            "X-Request-Id",
            reqwest::header::HeaderValue::from_bytes(b"caf\xE9").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(is_uuid(&request_id(&res)));
}

#[tokio::test]
async fn each_request_is_logged_once_with_method_route_status_latency_and_id() {
    let app = world().await;
    let id = format!("obs-{}", uuid::Uuid::new_v4().simple());
    let res = app
        .http
        .patch(app.url(&format!("/Sessions/{SESSION}.json?format=json")))
        .basic_auth(EMAIL, Some(PASSWORD))
        .header("X-Request-Id", &id)
        .json(&json!({"consoleData": "logged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(request_id(&res), id);
    let lines = log_lines_with(&id);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    for part in [
        "method=PATCH",
        "/sessions/{sessionId}",
        "status=200",
        "latency_ms=",
        "INFO",
    ] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    let latency: f64 = line
        .split("latency_ms=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("latency is a number: {line}"));
    assert!((0.0..60_000.0).contains(&latency));
    // Credentials never reach the log.
    let all = log_lines_with("");
    assert!(!all.iter().any(|l| l.contains(PASSWORD)));

    // Unmatched routes, 401s and rejected bodies are logged too.
    for (method, path, status) in [
        (reqwest::Method::GET, "/no/such/route".to_string(), 404),
        (reqwest::Method::GET, format!("/sessions/{SESSION}"), 401),
        (reqwest::Method::DELETE, format!("/sessions/{SESSION}"), 405),
    ] {
        let id = format!("obs-{}", uuid::Uuid::new_v4().simple());
        let res = app
            .http
            .request(method.clone(), app.url(&path))
            .header("X-Request-Id", &id)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status);
        let lines = log_lines_with(&id);
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].contains(&format!("method={method}"))
                && lines[0].contains(&format!("status={status}")),
            "{}",
            lines[0]
        );
    }
    let lines = log_lines_with("/no/such/route");
    assert!(
        lines.is_empty(),
        "the raw path is not the route: {lines:#?}"
    );
}

#[tokio::test]
async fn an_internal_error_is_answered_generically_and_its_cause_is_logged_with_the_request_id() {
    let app = world().await;
    sqlx::query("DROP TABLE sessions CASCADE")
        .execute(app.pool())
        .await
        .unwrap();
    for (path, xml) in [
        (format!("/sessions/{SESSION}"), false),
        (format!("/sessions/{SESSION}.xml"), true),
    ] {
        let id = format!("obs-{}", uuid::Uuid::new_v4().simple());
        let res = app
            .http
            .patch(app.url(&path))
            .basic_auth(EMAIL, Some(PASSWORD))
            .header("X-Request-Id", &id)
            .json(&json!({"consoleData": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(request_id(&res), id);
        let text = res.text().await.unwrap();
        if xml {
            assert!(
                text.contains("<ErrorCode>InternalServerError</ErrorCode>"),
                "{text}"
            );
        } else {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                body,
                json!({"responseStatus": {"errorCode": "InternalServerError",
                    "message": "An internal error occurred; it has been logged", "errors": []}})
            );
        }
        for leak in ["sessions", "relation", "does not exist", "sqlx", "SELECT"] {
            assert!(!text.contains(leak), "{leak} leaked: {text}");
        }
        // One access line for the request (the cause, logged in its span, carries the id too).
        let lines: Vec<String> = log_lines_with(&id)
            .into_iter()
            .filter(|l| l.contains("latency_ms="))
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("status=500"), "{}", lines[0]);
        // The cause can be told apart from other requests' causes: it carries the same id.
        let lines = log_lines_with(&id);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("internal error") && l.contains("does not exist")),
            "{lines:#?}"
        );
    }
    let causes = log_lines_with("internal error");
    assert!(
        causes
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("\"sessions\" does not exist")),
        "{causes:#?}"
    );
}
