//! No secret reaches the logs; a stranger cannot lock out a verified client.

use super::*;

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_logs_never_contain_a_password_api_key_session_id_or_basic_header() {
    let db = TestDb::new().await;
    seed(&db.pool).await;
    let (key, _) = add_api_key(&db.url, EMAIL, "log check");
    let server = ServerProcess::command(&db.url)
        .env("RUST_LOG", "debug")
        .spawn()
        .await;
    let http = reqwest::Client::new();
    let base = server.base_url.clone();

    let l = login_ok(&base, true).await;
    let temp = login_ok(&base, false).await;
    let failed = login_at(&base, EMAIL, "Wr0ng-Secret-Guess", false).await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    let session_url = format!("{base}/sessions/{SESSION_A}");
    let basic = basic_header(EMAIL, PASSWORD);
    let key_basic = basic_header(&key, "");
    let requests = [
        http.get(&session_url).header("Authorization", &basic),
        http.patch(&session_url)
            .header("Authorization", &basic)
            .json(&json!({"consoleData": "basic"})),
        http.get(&session_url).bearer_auth(&key),
        http.get(&session_url).header("Authorization", &key_basic),
        http.get(&session_url).header("Cookie", l.cookie_header()),
        http.patch(&session_url)
            .header("Cookie", temp.cookie_header())
            .json(&json!({"consoleData": "cookie"})),
        http.get(&session_url)
            .header("X-ss-pid", l.live_id())
            .header("X-ss-opt", "perm"),
        http.get(format!("{base}/auth/status"))
            .header("Cookie", l.cookie_header()),
        http.post(format!("{base}/auth/logout"))
            .header("Cookie", l.cookie_header()),
    ];
    for req in requests {
        let (status, _, body) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    drop(http);
    let (status, logs) = server.stop().await;
    assert!(status.success(), "the server exited with {status}:\n{logs}");
    assert!(logs.contains("listening on"), "the capture works:\n{logs}");
    assert!(
        logs.to_ascii_lowercase().contains("debug"),
        "RUST_LOG=debug took effect:\n{logs}"
    );

    let basic_value = basic.trim_start_matches("Basic ").to_string();
    let key_basic_value = key_basic.trim_start_matches("Basic ").to_string();
    let secrets = [
        ("password", PASSWORD.to_string()),
        ("failed password", "Wr0ng-Secret-Guess".to_string()),
        ("API key", key.clone()),
        (
            "API key secret",
            key.rsplit('_').next().unwrap().to_string(),
        ),
        ("remembered session id", l.live_id()),
        ("session id", temp.live_id()),
        ("Basic header value", basic_value),
        ("Basic header with the API key", key_basic_value),
    ];
    for (what, secret) in secrets {
        assert!(secret.len() >= 16, "{what} is long enough to search for");
        assert!(
            !logs.contains(&secret),
            "the logs contain the {what}:\n{logs}"
        );
    }
}

#[tokio::test]
async fn a_stranger_locking_a_user_name_does_not_lock_out_a_client_that_already_verified() {
    // Arrange: the integration verified its credentials once; their cache entry then expires.
    let auth = quick_throttle().with_cache_ttl(Duration::from_millis(200));
    let app = TestApp::builder().auth(auth).spawn().await;
    seed(app.pool()).await;
    let get = |password: &str| {
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .basic_auth(EMAIL, Some(password))
            .send()
    };
    assert_eq!(get(PASSWORD).await.unwrap().status(), StatusCode::OK);
    // A stranger guesses until the name is locked.
    for _ in 0..3 {
        assert_eq!(
            get("guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        get("guess").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Act: the integration's next request must verify again (its entry expired).
    let integration = get(PASSWORD).await.unwrap().status();
    let stranger = get("guess").await.unwrap().status();

    // Assert
    assert_eq!(integration, StatusCode::OK);
    assert_eq!(stranger, StatusCode::TOO_MANY_REQUESTS);
}
