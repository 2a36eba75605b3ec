//! Hardening (issue 12): slow and idle connections, the connection cap and shutdown; one
//! normalisation of user names with an atomic throttle across instances; the exemption for
//! credentials verified before, across restarts and instances; `too many clients` as 503; a
//! 503 only when nothing was applied; HEAD and cross-site logins; the periodic sweep.
//!
//! Every test has its own database. Whole ResponseStatus bodies are compared; time is asserted
//! only with generous bounds that detect a hang.

use crate::helpers::binary::ServerProcess;
use crate::helpers::{TestApp, TestDb, internals};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use voice_api::auth::AuthConfig;
use voice_api::server::ConnectionLimits;
use voice_api::storage::PoolSettings;
use voice_api::storage::auth::ThrottlePolicy;
use voice_api::{AppState, HttpConfig};

mod connections;

const ACCOUNT: &str = "acc0acc0acc0acc0acc0acc0";
const SESSION: &str = "5e55100000000000000000aa";
const EMAIL: &str = "alice@acme.test";
const PASSWORD: &str = "Alice-Secret-42";

fn status_json(code: &str, message: &str) -> Value {
    json!({"responseStatus": {"errorCode": code, "message": message, "errors": []}})
}

async fn fixture(pool: &PgPool) {
    internals::add_user(pool, ACCOUNT, EMAIL, PASSWORD, None, &["User"]).await;
    let doc = json!([{"id": SESSION, "accountId": ACCOUNT, "consoleData": "orig"}]);
    voice_api::import::import_json(pool, &doc.to_string())
        .await
        .unwrap();
}

async fn stored_console_data(pool: &PgPool) -> Option<String> {
    sqlx::query_scalar("SELECT console_data FROM sessions WHERE id = $1")
        .bind(SESSION)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn body(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

// ---------------------------------------------------------------------------------------------
// User names and the throttle
// ---------------------------------------------------------------------------------------------

fn throttle(max_failures: i32, lockout_secs: u64) -> AuthConfig {
    AuthConfig::default().with_throttle(ThrottlePolicy {
        max_failures,
        window: Duration::from_secs(120),
        lockout: Duration::from_secs(lockout_secs),
    })
}

async fn login(http: &reqwest::Client, base: &str, user: &str, password: &str) -> StatusCode {
    http.post(format!("{base}/auth/credentials"))
        .json(&json!({"userName": user, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

/// The exemption is bound to the client address it was earned from: while the name is locked,
/// the right password from anywhere else is refused exactly like a wrong one, so the lock
/// answers no guess (were it accepted, a locked name would be an oracle at request speed).
#[tokio::test]
async fn during_a_lock_the_right_password_from_another_address_is_refused_like_a_guess() {
    let db = TestDb::new().await;
    fixture(&db.pool).await;
    let app = TestApp::builder()
        .on(&db)
        .auth(throttle(3, 120))
        .spawn()
        .await;
    // The integration on 127.0.0.1, a stranger on 127.0.0.2 (both loopback).
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(Some(ip.parse().unwrap()))
            .build()
            .unwrap()
    };
    let (integration, stranger) = (from("127.0.0.1"), from("127.0.0.2"));
    let get = |http: &reqwest::Client, password: &str| {
        http.get(app.url(&format!("/sessions/{SESSION}")))
            .basic_auth(EMAIL, Some(password))
            .send()
    };
    assert_eq!(
        get(&integration, PASSWORD).await.unwrap().status(),
        StatusCode::OK
    );
    for _ in 0..3 {
        let res = get(&stranger, "guess").await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked: the stranger's wrong and right guesses get the same answer.
    let wrong = body(get(&stranger, "another guess").await.unwrap()).await;
    let right = body(get(&stranger, PASSWORD).await.unwrap()).await;
    assert_eq!(wrong.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.0, wrong.0);
    assert_eq!(
        right.1["responseStatus"]["errorCode"],
        wrong.1["responseStatus"]["errorCode"]
    );
    assert_eq!(
        login(&stranger, &app.base_url, EMAIL, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The integration goes on working, from the cache and from the stored evidence alike.
    assert_eq!(
        get(&integration, PASSWORD).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&integration, &app.base_url, EMAIL, PASSWORD).await,
        StatusCode::OK
    );

    // Someone sharing the integration's address (NAT, an unlisted proxy) gets no more guesses
    // than anyone: on an instance without the cached verification, the stored evidence is
    // checked at most `max_failures` times per window for that name and address.
    let fresh = TestApp::builder()
        .on(&db)
        .auth(throttle(3, 120))
        .spawn()
        .await;
    let on_fresh = |password: &str| {
        integration
            .get(fresh.url(&format!("/sessions/{SESSION}")))
            .basic_auth(EMAIL, Some(password))
            .send()
    };
    for guess in ["g1", "g2", "g3"] {
        let res = on_fresh(guess).await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{guess}");
    }
    let right = on_fresh(PASSWORD).await.unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// A success takes back only its own attempt: an attacker's earlier failures still count, so
/// the integration's verifications do not reset the guesses a stranger has left.
#[tokio::test]
async fn a_success_takes_back_its_own_attempt_not_the_failures_before_it() {
    let db = TestDb::new().await;
    fixture(&db.pool).await;
    let app = TestApp::builder()
        .on(&db)
        .auth(throttle(4, 120))
        .spawn()
        .await;
    let http = reqwest::Client::new();
    let base = app.base_url.clone();
    let unauthorized = StatusCode::UNAUTHORIZED;
    for _ in 0..2 {
        assert_eq!(login(&http, &base, EMAIL, "guess").await, unauthorized);
    }
    assert_eq!(login(&http, &base, EMAIL, PASSWORD).await, StatusCode::OK);
    // Two failures left over (the success took back only its own attempt): two more reach
    // the limit of four, and the next attempt is refused.
    assert_eq!(login(&http, &base, EMAIL, "guess").await, unauthorized);
    assert_eq!(login(&http, &base, EMAIL, "guess").await, unauthorized);
    assert_eq!(
        login(&http, &base, EMAIL, "guess").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_unicode_variant_guesses_on_two_instances_stay_within_the_limit() {
    let db = TestDb::new().await;
    fixture(&db.pool).await;
    let a = TestApp::builder()
        .on(&db)
        .http_config(HttpConfig::default())
        .auth(throttle(3, 120))
        .spawn()
        .await;
    let b = TestApp::builder()
        .on(&db)
        .http_config(HttpConfig::default())
        .auth(throttle(3, 120))
        .spawn()
        .await;
    // Spellings of alice's name (case, full width, compatibility forms) and of a different
    // name that PostgreSQL's lower() and Rust's to_lowercase() disagree about.
    let same = [
        "ALICE@ACME.TEST",
        "Alice@Acme.Test",
        "ａｌｉｃｅ@acme.test",
        "alice@ＡＣＭＥ.test",
        EMAIL,
    ];
    let dotted = ["alİce@acme.test", "ALİCE@acme.test", "alİcE@acme.test"];
    let http = reqwest::Client::new();
    let mut guesses = Vec::new();
    for i in 0..40 {
        let base = if i % 2 == 0 { &a.base_url } else { &b.base_url };
        let user = if i % 4 == 3 {
            dotted[i % dotted.len()]
        } else {
            same[i % same.len()]
        };
        let (http, base) = (http.clone(), base.clone());
        guesses.push(tokio::spawn(async move {
            let status = login(&http, &base, user, &format!("guess-{i}")).await;
            (user, status)
        }));
    }
    let mut verified_same = 0;
    let mut verified_dotted = 0;
    for g in guesses {
        let (user, status) = g.await.unwrap();
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "{user}: {status}"
        );
        if status == StatusCode::UNAUTHORIZED {
            if dotted.contains(&user) {
                verified_dotted += 1;
            } else {
                verified_same += 1;
            }
        }
    }
    assert!(
        verified_same <= 3,
        "{verified_same} guesses at alice verified"
    );
    assert!(
        verified_dotted <= 3,
        "{verified_dotted} guesses at alİce verified"
    );
    // The dotted name is another name: alice's password does not log it in as alice, on
    // either instance.
    for base in [&a.base_url, &b.base_url] {
        let res = http
            .post(format!("{base}/auth/credentials"))
            .json(&json!({"userName": "alİce@acme.test", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let (status, body) = body(res).await;
        assert_ne!(status, StatusCode::OK, "{body}");
        assert!(body["userId"].is_null(), "{body}");
    }
    // Alice is locked everywhere, whatever the spelling.
    for (base, user) in [(&a.base_url, "ALICE@acme.test"), (&b.base_url, EMAIL)] {
        assert_eq!(
            login(&http, base, user, PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // (Rows keyed by name and address, `name U+0001 address`, throttle the lock exemption.)
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM login_throttle WHERE strpos(user_key, chr(1)) = 0",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows, 2, "one throttle row per normalised name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credentials_verified_before_pass_a_strangers_lock_after_a_restart_and_on_another_instance()
{
    let db = TestDb::new().await;
    fixture(&db.pool).await;
    let get = |base: String, password: &'static str| async move {
        // A client per request: no keep-alive connection outlives a stopped instance.
        reqwest::Client::new()
            .get(format!("{base}/sessions/{SESSION}"))
            .basic_auth(EMAIL, Some(password))
            .send()
            .await
            .unwrap()
            .status()
    };
    // The integration verifies once on the first instance, which then stops.
    let first = TestApp::builder()
        .on(&db)
        .http_config(HttpConfig::default())
        .auth(throttle(3, 120))
        .spawn()
        .await;
    assert_eq!(get(first.base_url.clone(), PASSWORD).await, StatusCode::OK);
    first.stop().await;
    // A stranger locks the name through a second instance.
    let other = TestApp::builder()
        .on(&db)
        .http_config(HttpConfig::default())
        .auth(throttle(3, 120))
        .spawn()
        .await;
    for _ in 0..3 {
        assert_eq!(
            get(other.base_url.clone(), "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        get(other.base_url.clone(), "guess").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The restarted first instance and the other one both let the integration through, and
    // still refuse the stranger.
    let restarted = TestApp::builder()
        .on(&db)
        .http_config(HttpConfig::default())
        .auth(throttle(3, 120))
        .spawn()
        .await;
    for base in [&restarted.base_url, &other.base_url] {
        assert_eq!(get(base.clone(), PASSWORD).await, StatusCode::OK, "{base}");
        assert_eq!(
            get(base.clone(), "guess").await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // A credentials login with the verified password passes the lock too; a password change
    // ends the exemption.
    let http = reqwest::Client::new();
    assert_eq!(
        login(&http, &restarted.base_url, "Alice@ACME.test", PASSWORD).await,
        StatusCode::OK
    );
    let hash = voice_api::auth::hash_secret("New-Password-1").unwrap();
    assert!(
        voice_api::storage::auth::set_password(&db.pool, EMAIL, &hash)
            .await
            .unwrap()
    );
    let fresh = TestApp::builder()
        .on(&db)
        .http_config(HttpConfig::default())
        .auth(throttle(3, 120))
        .spawn()
        .await;
    assert_eq!(
        get(fresh.base_url.clone(), PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

// ---------------------------------------------------------------------------------------------
// The database refusing connections: 53300
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn too_many_clients_is_503_with_a_response_status_on_every_route() {
    let db = TestDb::new().await;
    fixture(&db.pool).await;
    // A role of its own (superusers are exempt from connection limits), allowed in this
    // database, whose connection limit then drops to zero: PostgreSQL answers every new
    // connection with SQLSTATE 53300 "too many connections for role".
    let role = format!("voice_api_limited_{}", uuid::Uuid::new_v4().simple());
    for sql in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"),
    ] {
        sqlx::query(&sql).execute(&db.pool).await.unwrap();
    }
    let url = format!(
        "{}/{}",
        crate::helpers::app::database_base().replacen("postgres@", &format!("{role}@"), 1),
        db.name
    );
    let settings = PoolSettings {
        acquire_timeout: Duration::from_millis(300),
        ..PoolSettings::default()
    };
    // Not storage::open: the role may not create the migrations table (nor need to).
    let connect = || {
        sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(settings.acquire_timeout)
            .connect(&url)
    };
    let pool = connect().await.unwrap();
    let server = TestApp::builder().on_pool(pool.clone(), &url).spawn().await;
    // Warm the credential cache and the session connection while connections are allowed.
    let get = server
        .http
        .get(server.url(&format!("/sessions/{SESSION}")))
        .basic_auth(EMAIL, Some(PASSWORD));
    assert_eq!(get.send().await.unwrap().status(), StatusCode::OK);

    sqlx::query(&format!("ALTER ROLE {role} CONNECTION LIMIT 0"))
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
        .bind(&role)
        .execute(&db.pool)
        .await
        .unwrap();
    // PostgreSQL really refuses with 53300.
    let refused = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap_err();
    let code = refused.as_database_error().and_then(|d| d.code());
    assert_eq!(code.as_deref(), Some("53300"), "{refused}");

    let unavailable = status_json(
        "ServiceUnavailable",
        "The database is unavailable; retry shortly",
    );
    let session = server.url(&format!("/sessions/{SESSION}"));
    let requests = [
        (
            "PATCH",
            server
                .http
                .patch(&session)
                .json(&json!({"consoleData": "x"})),
        ),
        ("GET", server.http.get(&session)),
        ("GET xml", server.http.get(format!("{session}.json"))),
        (
            "predefined",
            server
                .http
                .post(server.url("/json/reply/GetSession"))
                .json(&json!({"sessionId": SESSION})),
        ),
    ];
    for (what, req) in requests {
        let res = req.basic_auth(EMAIL, Some(PASSWORD)).send().await.unwrap();
        assert_eq!(
            body(res).await,
            (StatusCode::SERVICE_UNAVAILABLE, unavailable.clone()),
            "{what}"
        );
    }
    // A login on a fresh name needs the pool, which cannot connect either.
    let res = server
        .http
        .post(server.url("/auth/credentials"))
        .json(&json!({"userName": "someone@acme.test", "password": "pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(res).await,
        (StatusCode::SERVICE_UNAVAILABLE, unavailable.clone())
    );
    let res = server
        .http
        .get(server.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(res).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            status_json("ServiceUnavailable", "not ready")
        )
    );
    assert_eq!(stored_console_data(&db.pool).await.as_deref(), Some("orig"));

    server.stop().await;
    pool.close().await;
    for sql in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
        let _ = sqlx::query(&sql).execute(&db.pool).await;
    }
}

// ---------------------------------------------------------------------------------------------
// A 503 means nothing was applied
// ---------------------------------------------------------------------------------------------

/// PATCHes while another connection holds the session's row until `hold` has passed, in
/// several trials around the request limit; every 503 must leave the row as it was and every
/// 200 must have changed it.
async fn locked_row_trials(statement_timeout: Option<Duration>) -> (usize, usize) {
    let limit = Duration::from_millis(600);
    let config = HttpConfig {
        request_timeout: limit,
        ..HttpConfig::default()
    };
    let db = TestDb::with_settings(&PoolSettings {
        statement_timeout,
        ..PoolSettings::default()
    })
    .await;
    fixture(&db.pool).await;
    let server = TestApp::builder().on(&db).http_config(config).spawn().await;
    let locker = db.another_pool(&PoolSettings::default()).await;
    let url = server.url(&format!("/sessions/{SESSION}"));
    // Warm the credential cache: the statement then starts right after the request.
    let warm = server.http.get(&url).basic_auth(EMAIL, Some(PASSWORD));
    assert_eq!(warm.send().await.unwrap().status(), StatusCode::OK);
    let timer_503 = status_json(
        "ServiceUnavailable",
        &format!(
            "The request did not complete within {} ms",
            limit.as_millis()
        ),
    );
    let cancelled_503 = status_json(
        "ServiceUnavailable",
        "The request took too long and was cancelled",
    );
    let (mut ok, mut unavailable) = (0, 0);
    let holds = [200, 450, 520, 560, 590, 600, 610, 630, 660, 720];
    for (trial, hold) in holds.into_iter().enumerate() {
        let before = stored_console_data(&db.pool).await;
        let tx = crate::faults::lock_session(&locker, SESSION).await;
        let value = format!("trial-{trial}");
        let patch = server
            .http
            .patch(&url)
            .basic_auth(EMAIL, Some(PASSWORD))
            .json(&json!({"consoleData": value}))
            .send();
        let patch = tokio::spawn(async move { body(patch.await.unwrap()).await });
        tokio::time::sleep(Duration::from_millis(hold)).await;
        tx.commit().await.unwrap();
        let (status, answer) = tokio::time::timeout(Duration::from_secs(5), patch)
            .await
            .expect("answered")
            .unwrap();
        // Let anything still in PostgreSQL finish before looking.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = stored_console_data(&db.pool).await;
        match status {
            StatusCode::OK => {
                ok += 1;
                assert_eq!(answer["consoleData"], value, "hold {hold}: {answer}");
                assert_eq!(after.as_deref(), Some(value.as_str()), "hold {hold}");
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                unavailable += 1;
                assert!(
                    answer == timer_503 || answer == cancelled_503,
                    "hold {hold}: {answer}"
                );
                assert_eq!(after, before, "hold {hold}: a 503 PATCH was applied");
            }
            other => panic!("hold {hold}: {other} {answer}"),
        }
    }
    server.stop().await;
    locker.close().await;
    (ok, unavailable)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_503_leaves_a_row_locked_past_the_limit_unchanged_and_a_200_changed_it() {
    // As the server configures it: statement_timeout a tenth under the request timeout.
    let configured = HttpConfig {
        request_timeout: Duration::from_millis(600),
        ..HttpConfig::default()
    }
    .statement_timeout();
    let (ok, unavailable) = locked_row_trials(Some(configured)).await;
    assert!(ok >= 1 && unavailable >= 1, "{ok} OK, {unavailable} 503");
    // As the original did (equal timeouts), and with no statement timeout at all: only the
    // time limit's cancel stands between a 503 and a late commit.
    for timeout in [Some(Duration::from_millis(600)), None] {
        let (ok, unavailable) = locked_row_trials(timeout).await;
        assert!(
            ok >= 1 && unavailable >= 1,
            "{timeout:?}: {ok} OK, {unavailable} 503"
        );
    }
}

/// The fixture behind a server whose request time limit is `limit` (on a database it must
/// not outlive), and the session's consoleData before anything ran.
async fn limited(limit: Duration) -> (TestDb, TestApp, Option<String>) {
    let config = HttpConfig {
        request_timeout: limit,
        ..HttpConfig::default()
    };
    let db = TestDb::new().await;
    fixture(&db.pool).await;
    let server = TestApp::builder().on(&db).http_config(config).spawn().await;
    let before = stored_console_data(&db.pool).await;
    (db, server, before)
}

/// The fixture's user as an `Authorization: Basic` value.
pub(super) fn basic_credentials() -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{EMAIL}:{PASSWORD}"),
    )
}

/// The head of a `method` request to the fixture's session, as its user, with a `body` of
/// `content_type` to follow; the server closes the connection after answering.
fn session_head(method: &str, content_type: &str, body: &str) -> String {
    format!(
        "{method} /sessions/{SESSION} HTTP/1.1\r\nHost: t\r\nAuthorization: Basic {}\r\n\
         Connection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        basic_credentials(),
        body.len()
    )
}

/// Sends `head` and the first ten bytes of `body`, then nothing: the server's answer, checked
/// to be the time limit's 408 for a body that stopped arriving, and how long it took.
async fn stalled_body(server: &TestApp, head: &str, body: &str) -> Duration {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&body.as_bytes()[..10]).await.unwrap();
    let started = Instant::now();
    let (_, got) = connections::closed_within(&mut tcp, Duration::from_secs(5)).await;
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );
    let (_, json) = text.split_once("\r\n\r\n").expect("a body");
    assert_eq!(
        serde_json::from_str::<Value>(json).unwrap(),
        status_json(
            "RequestTimeout",
            "The request's body did not arrive within 600 ms"
        )
    );
    took
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_408_at_the_time_limit_and_changes_nothing() {
    // The head and part of the body, then nothing: the server waits for the client, so the
    // time limit's answer is the client's 408, not the server's 503. A request whose body has
    // all come and that then waits for the database is still 503 (the trials above).
    let limit = Duration::from_millis(600);
    let (db, server, before) = limited(limit).await;
    let json = r#"{"consoleData":"never all of it"}"#;
    let took = stalled_body(
        &server,
        &session_head("PATCH", "application/json", json),
        json,
    )
    .await;
    assert!(took >= limit, "answered after {took:?}");
    // A form POST whose method override is in its body, read before routing: the same.
    let form = "consoleData=never+all+of+it&X-HTTP-Method-Override=PATCH";
    let form_head = session_head("POST", "application/x-www-form-urlencoded", form);
    stalled_body(&server, &form_head, form).await;
    assert_eq!(stored_console_data(&db.pool).await, before);
}

#[tokio::test]
async fn a_form_posts_time_limit_counts_from_its_arrival_not_from_its_routing() {
    // A 1 s limit; the form's body (read before routing, for its method override) is all in
    // at 0.9 s; the session's row is held elsewhere until 1.5 s. One limit for the whole
    // request runs out 0.1 s after the body, while the patch waits for the row: 503, nothing
    // applied. (A limit counted again from the routing would run to 1.9 s, and the patch would
    // be applied at 1.5 s and answered 200.)
    let limit = Duration::from_millis(1000);
    let (db, server, before) = limited(limit).await;
    let locker = db.another_pool(&PoolSettings::default()).await;
    let tx = crate::faults::lock_session(&locker, SESSION).await;
    let form = "consoleData=too+late&X-HTTP-Method-Override=PATCH";
    let head = session_head("POST", "application/x-www-form-urlencoded", form);
    let started = Instant::now();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tx.commit().await.unwrap();
    });
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&form.as_bytes()[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(900).saturating_sub(started.elapsed())).await;
    tcp.write_all(&form.as_bytes()[5..]).await.unwrap();
    let (_, got) = connections::closed_within(&mut tcp, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
    let (_, json) = text.split_once("\r\n\r\n").expect("a body");
    let answer: Value = serde_json::from_str(json).unwrap();
    assert_eq!(
        answer["responseStatus"]["errorCode"], "ServiceUnavailable",
        "{answer}"
    );
    release.await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(stored_console_data(&db.pool).await, before);
    locker.close().await;
}

// ---------------------------------------------------------------------------------------------
// Logins: HEAD, cross-site
// ---------------------------------------------------------------------------------------------

async fn session_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM auth_sessions")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_head_login_with_the_password_in_the_url_is_refused_without_cookies() {
    let app = TestApp::spawn().await;
    fixture(app.pool()).await;
    let query = format!("/auth/credentials?userName={EMAIL}&password={PASSWORD}");
    for path in [
        query.clone(),
        format!("/auth?provider=credentials&{}", &query[19..]),
    ] {
        let res = app.http.head(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert!(res.headers().get("set-cookie").is_none(), "{path}");
        // The GET that HEAD stands for, with its body.
        let res = app.http.get(app.url(&path)).send().await.unwrap();
        assert!(res.headers().get("set-cookie").is_none());
        assert_eq!(
            body(res).await,
            (
                StatusCode::METHOD_NOT_ALLOWED,
                status_json(
                    "NotImplementedException",
                    "GET Authenticate requests are disabled; use POST"
                )
            )
        );
    }
    assert_eq!(session_rows(app.pool()).await, 0);
}

#[tokio::test]
async fn a_cross_site_login_is_refused_unless_its_origin_is_allowed() {
    const ALLOWED: &str = "https://app.acme.test";
    let app = TestApp::builder()
        .http_config(HttpConfig {
            cors_origins: vec![ALLOWED.into()],
            ..HttpConfig::default()
        })
        .spawn()
        .await;
    fixture(app.pool()).await;
    let form = format!("userName={EMAIL}&password={PASSWORD}");
    let refused = status_json(
        "Forbidden",
        "Cross-site logins are refused (origin not allowed)",
    );
    let attempts: [(&str, &[(&str, &str)]); 4] = [
        (
            "form from another site",
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        ),
        ("origin only", &[("origin", "https://evil.example")]),
        ("fetch metadata only", &[("sec-fetch-site", "cross-site")]),
        (
            "a sibling subdomain",
            &[
                ("origin", "https://x.acme.test"),
                ("sec-fetch-site", "same-site"),
            ],
        ),
    ];
    for (what, headers) in attempts {
        for path in [
            "/auth/credentials",
            "/auth/login",
            "/json/reply/Authenticate?provider=credentials",
        ] {
            let mut req = app
                .http
                .post(app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone());
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let res = req.send().await.unwrap();
            assert!(res.headers().get("set-cookie").is_none(), "{what} {path}");
            assert_eq!(
                body(res).await,
                (StatusCode::FORBIDDEN, refused.clone()),
                "{what} {path}"
            );
        }
    }
    assert_eq!(session_rows(app.pool()).await, 0);
    // The allowed origin and a client that is no browser log in.
    for headers in [
        vec![("origin", ALLOWED), ("sec-fetch-site", "cross-site")],
        vec![],
    ] {
        let mut req = app
            .http
            .post(app.url("/auth/credentials"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let res = req.send().await.unwrap();
        assert!(res.headers().get("set-cookie").is_some());
        let (status, answer) = body(res).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["userName"], EMAIL);
    }
    assert_eq!(session_rows(app.pool()).await, 2);
}

// ---------------------------------------------------------------------------------------------
// The sweep
// ---------------------------------------------------------------------------------------------

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn expired_rows(pool: &PgPool, user_id: &str, n: i64, tag: &str) {
    sqlx::query(
        "INSERT INTO login_throttle (user_key, failures, window_start, locked_until)
         SELECT $2 || g, 3, now() - interval '1 hour', CASE WHEN g % 2 = 0 THEN now() - interval '1 minute' END
         FROM generate_series(1, $1) g",
    )
    .bind(n)
    .bind(tag)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO auth_sessions (id_hash, user_id, remember_me, expires_at)
         SELECT $3 || g, $2, false, now() - interval '1 second' FROM generate_series(1, $1) g",
    )
    .bind(n)
    .bind(user_id)
    .bind(tag)
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_sweep_deletes_expired_throttle_rows_and_sessions_in_bounded_batches() {
    let db = TestDb::new().await;
    fixture(&db.pool).await;
    let user_id: String = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    expired_rows(&db.pool, &user_id, 25, "old-").await;
    // Rows that still matter: a name locked now, one within its window, a live session.
    sqlx::query(
        "INSERT INTO login_throttle (user_key, failures, window_start, locked_until) VALUES
         ('locked', 0, now() - interval '1 hour', now() + interval '1 hour'),
         ('counting', 2, now(), NULL)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO auth_sessions (id_hash, user_id, remember_me, expires_at)
         VALUES ('live', $1, true, now() + interval '1 day')",
    )
    .bind(&user_id)
    .execute(&db.pool)
    .await
    .unwrap();
    let state = AppState::new(
        db.pool.clone(),
        HttpConfig {
            sweep_batch: 10,
            ..HttpConfig::default()
        },
    );
    let mut per_run = Vec::new();
    for _ in 0..4 {
        let s = voice_api::sweep::once(&state).await.unwrap();
        per_run.push((s.throttle, s.sessions));
    }
    assert_eq!(per_run, [(10, 10), (10, 10), (5, 5), (0, 0)]);
    let keys: Vec<String> = sqlx::query_scalar("SELECT user_key FROM login_throttle ORDER BY 1")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(keys, ["counting", "locked"]);
    let sessions: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM auth_sessions")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(sessions, ["live"]);

    // The server runs it by itself, every interval.
    expired_rows(&db.pool, &user_id, 30, "later-").await;
    let server = TestApp::builder()
        .on(&db)
        .http_config(HttpConfig {
            sweep_interval: Some(Duration::from_millis(100)),
            sweep_batch: 7,
            ..HttpConfig::default()
        })
        .spawn()
        .await;
    let started = Instant::now();
    while count(&db.pool, "auth_sessions").await > 1 || count(&db.pool, "login_throttle").await > 2
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the sweep did not run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&db.pool, "login_throttle").await, 2);
    server.stop().await;
}

/// A process's resident memory, in bytes (Linux).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Measured on the real binary in its own process, so the other tests running in this one
/// cannot move the figure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_huge_unterminated_heads_costs_bounded_memory() {
    let db = TestDb::new().await;
    // (With a 400 KB head limit instead, this measured 62 MB of growth.)
    let server = ServerProcess::command(&db.url)
        .env("VOICE_API_HEADER_READ_TIMEOUT_MS", "5000")
        .env("VOICE_API_KEEPALIVE_IDLE_MS", "5000")
        .env("VOICE_API_MAX_CONNECTIONS", "1024")
        .spawn()
        .await;
    let pid = server.child.id().expect("the server runs");
    let addr: std::net::SocketAddr = server
        .base_url
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let before = rss_bytes(pid);
    // 200 connections each sending 300 KB of a head that never ends (hyper's default buffer
    // would keep ~400 KB of each: 80 MB).
    let chunk = std::sync::Arc::new(format!(
        "GET / HTTP/1.1\r\nX-Big: {}",
        "a".repeat(300 * 1024)
    ));
    let mut floods = Vec::new();
    for _ in 0..200 {
        let chunk = chunk.clone();
        floods.push(tokio::spawn(async move {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            let _ = tcp.write_all(chunk.as_bytes()).await;
            connections::closed_within(&mut tcp, Duration::from_secs(5))
                .await
                .0
        }));
    }
    // While the flood is on (hyper's default buffer would still hold every head now).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let grown = rss_bytes(pid).saturating_sub(before);
    assert!(
        grown < 40 * 1024 * 1024,
        "resident memory grew by {} MB",
        grown / (1024 * 1024)
    );
    for f in floods {
        let closed = f.await.unwrap();
        assert!(closed.is_some(), "a flooding connection stayed open");
    }
    let res = reqwest::get(format!("{}/health/live", server.base_url)).await;
    assert_eq!(res.unwrap().status(), StatusCode::OK);
    server.stop().await;
}
