//! Slow and idle connections, the connection cap and shutdown (issue 12).

use super::*;

fn limits(header_ms: u64, idle_ms: u64, max: usize) -> HttpConfig {
    HttpConfig {
        connections: ConnectionLimits {
            header_read_timeout: Duration::from_millis(header_ms),
            keepalive_idle: Duration::from_millis(idle_ms),
            max_connections: max,
            max_header_bytes: 8 * 1024,
            max_headers: 20,
            connection_wait: Duration::from_millis(100),
            ..ConnectionLimits::default()
        },
        ..HttpConfig::default()
    }
}

/// A server with `config` on a database of its own (which it must not outlive).
async fn serve(config: HttpConfig) -> (TestDb, TestApp) {
    let db = TestDb::new().await;
    let server = TestApp::builder().on(&db).http_config(config).spawn().await;
    (db, server)
}

const GET_LIVE: &[u8] = b"GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n";

/// Reads until the server closes the connection; how long that took, or None if it stayed
/// open for `within`. Response bytes on the way are returned too.
pub(super) async fn closed_within(
    tcp: &mut TcpStream,
    within: Duration,
) -> (Option<Duration>, Vec<u8>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Err(_) => return (None, got),
            Ok(Ok(0)) | Ok(Err(_)) => return (Some(started.elapsed()), got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let (_db, server) = serve(limits(5_000, 300, 64)).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(GET_LIVE).await.unwrap();
    let (closed, got) = closed_within(&mut tcp, Duration::from_secs(4)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.ends_with(r#"{"status":"live"}"#), "{text}");
    let closed = closed.expect("the idle connection is closed by the server");
    assert!(
        closed >= Duration::from_millis(250),
        "closed early: {closed:?}"
    );
}

#[tokio::test]
async fn a_silent_or_half_sent_request_is_dropped_after_the_header_read_timeout() {
    let db = TestDb::new().await;
    // The idle timeout is long: only the header timeout can close these.
    let server = TestApp::builder()
        .on(&db)
        .http_config(limits(400, 30_000, 64))
        .spawn()
        .await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /health/live HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    // A slow loris: one more header byte every 100 ms, never the blank line.
    let mut loris = TcpStream::connect(server.addr).await.unwrap();
    let drip = tokio::spawn(async move {
        loris
            .write_all(b"GET /health/live HTTP/1.1\r\n")
            .await
            .unwrap();
        let started = Instant::now();
        let mut n = 0u32;
        while started.elapsed() < Duration::from_secs(4) {
            if loris
                .write_all(format!("X-{n}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                return Some(started.elapsed());
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    });
    for (what, tcp) in [("silent", &mut silent), ("half-sent", &mut half)] {
        let (closed, got) = closed_within(tcp, Duration::from_secs(4)).await;
        assert!(closed.is_some(), "{what} connection still open");
        assert!(got.is_empty(), "{what}: {}", String::from_utf8_lossy(&got));
    }
    let dripped = drip.await.unwrap();
    assert!(dripped.is_some(), "the slow loris was never cut off");
    // The server still answers a complete request.
    let res = server.http.get(server.url("/health/live")).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn the_connection_cap_holds_and_a_normal_request_is_still_answered() {
    let db = TestDb::new().await;
    let max = 8;
    let server = TestApp::builder()
        .on(&db)
        .http_config(limits(30_000, 30_000, max))
        .spawn()
        .await;
    // Twice the cap of connections that send nothing, held open by the client.
    let mut held = Vec::new();
    for _ in 0..2 * max {
        held.push(TcpStream::connect(server.addr).await.unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let res = server.http.get(server.url("/health/live")).send().await;
    let (status, body) = body(res.expect("the server answers at the cap")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "live"})));
    let mut closed = 0;
    for tcp in &mut held {
        if closed_within(tcp, Duration::from_millis(300))
            .await
            .0
            .is_some()
        {
            closed += 1;
        }
    }
    // At most `max` connections are open at once, one of them the client's.
    assert!(
        closed > 2 * max - max,
        "only {closed} of {} idle connections were closed with a cap of {max}",
        2 * max
    );
}

/// A response as a client reads it, its `date` line (the only one that changes) left out.
fn without_date(response: &[u8]) -> String {
    String::from_utf8_lossy(response)
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with("date: "))
        .collect()
}

/// What the server answers a head it refuses before routing: the status, and a ServiceStack
/// error body (JSON: a head that could not be read cannot name another format).
fn refusal(status: &str, code: &str, message: &str) -> String {
    let body = format!(
        r#"{{"responseStatus":{{"errorCode":"{code}","message":"{message}","errors":[]}}}}"#
    );
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn oversized_or_too_many_headers_get_431_with_a_response_status_and_the_connection_closes() {
    let (_db, server) = serve(limits(5_000, 5_000, 64)).await;
    let big = format!(
        "GET /health/live HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let many = format!(
        "GET /health/live HTTP/1.1\r\nHost: t\r\n{}\r\n",
        (0..50).map(|n| format!("X-{n}: y\r\n")).collect::<String>()
    );
    // A head that never ends, bigger than the limit: refused without waiting for its end.
    let endless = format!(
        "GET /health/live HTTP/1.1\r\nX-Big: {}",
        "a".repeat(32 * 1024)
    );
    let want = refusal(
        "431 Request Header Fields Too Large",
        "RequestHeaderFieldsTooLarge",
        "The request's head is over 8192 bytes or 20 header fields",
    );
    for (what, request) in [("big", big), ("many", many), ("endless", endless)] {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        let _ = tcp.write_all(request.as_bytes()).await;
        let (closed, got) = closed_within(&mut tcp, Duration::from_secs(3)).await;
        assert_eq!(without_date(&got), want, "{what}");
        assert!(closed.is_some(), "{what}: connection left open");
    }
}

#[tokio::test]
async fn a_head_that_is_not_http_gets_400_with_a_response_status_and_the_connection_closes() {
    let (_db, server) = serve(limits(5_000, 5_000, 64)).await;
    let want = refusal(
        "400 Bad Request",
        "BadRequest",
        "The request is not well-formed HTTP/1.1",
    );
    let heads: [&[u8]; 5] = [
        b"GARBAGE\r\n\r\n",
        b"GET /health/live HTTP/9.9\r\nHost: t\r\n\r\n",
        b"GET /health/\x01 HTTP/1.1\r\nHost: t\r\n\r\n",
        b"PATCH /sessions/x HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
        b"GET /health/live HTTP/1.1\r\nHost t\r\n\r\n",
    ];
    for head in heads {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        let _ = tcp.write_all(head).await;
        let (closed, got) = closed_within(&mut tcp, Duration::from_secs(3)).await;
        let what = String::from_utf8_lossy(head);
        assert_eq!(without_date(&got), want, "{what}");
        assert!(closed.is_some(), "{what}: connection left open");
    }
    // A kept-alive connection whose second head is garbage: the first answer is the server's
    // own, the refusal follows it.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(GET_LIVE).await.unwrap();
    // Read the whole first answer, however the reads split it.
    let (mut first, mut buf) = (Vec::new(), [0u8; 4096]);
    while !first.ends_with(br#"{"status":"live"}"#) {
        let n = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf))
            .await
            .expect("the first answer in time")
            .unwrap();
        assert!(n > 0, "closed after {}", String::from_utf8_lossy(&first));
        first.extend_from_slice(&buf[..n]);
    }
    assert!(
        first.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&first)
    );
    tcp.write_all(b"NOT HTTP\r\n\r\n").await.unwrap();
    let (closed, got) = closed_within(&mut tcp, Duration::from_secs(3)).await;
    assert_eq!(without_date(&got), want);
    assert!(closed.is_some(), "connection left open");
}

#[tokio::test]
async fn shutdown_closes_idle_and_half_sent_connections_at_once() {
    let db = TestDb::new().await;
    let config = HttpConfig {
        drain_timeout: Duration::from_secs(20),
        ..limits(30_000, 30_000, 64)
    };
    let server = TestApp::builder().on(&db).http_config(config).spawn().await;
    let mut conns = Vec::new();
    for n in 0..10 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        if n % 2 == 0 {
            tcp.write_all(b"GET /health/live HTTP/1.1\r\nHost:")
                .await
                .unwrap();
        } else {
            tcp.write_all(GET_LIVE).await.unwrap();
        }
        conns.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), server.stop())
        .await
        .expect("shutdown does not wait for idle or half-sent connections");
    assert!(started.elapsed() < Duration::from_secs(5));
    for tcp in &mut conns {
        let (closed, _) = closed_within(tcp, Duration::from_secs(2)).await;
        assert!(closed.is_some(), "a connection outlived the server");
    }
}

#[tokio::test]
async fn connections_over_the_cap_wait_side_by_side_and_the_accept_loop_is_never_held() {
    let db = TestDb::new().await;
    fixture(&db.pool).await;
    let wait = Duration::from_millis(500);
    let mut config = limits(30_000, 30_000, 2);
    config.connections.connection_wait = wait;
    let server = TestApp::builder().on(&db).http_config(config).spawn().await;
    // Both slots held by requests in progress (authenticated PATCHes whose bodies never
    // come): nothing can be evicted.
    let basic = super::basic_credentials();
    let head = format!(
        "PATCH /sessions/{SESSION} HTTP/1.1\r\nHost: t\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(head.as_bytes()).await.unwrap();
        busy.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Eight more at once: each waits for a slot on its own and is closed when none frees.
    let started = Instant::now();
    let mut waiting = Vec::new();
    for _ in 0..8 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(GET_LIVE).await.unwrap();
        waiting.push(tcp);
    }
    for tcp in &mut waiting {
        let (closed, got) = closed_within(tcp, Duration::from_secs(10)).await;
        assert!(closed.is_some(), "a connection over the cap was left open");
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    }
    // One after the other they would take 8 × 500 ms; side by side about one wait.
    let took = started.elapsed();
    assert!(
        took < wait * 4,
        "closing 8 waiting connections took {took:?}"
    );
    drop(busy);
}
