//! Login sessions: logout, shared by instances, surviving restarts, expiry, `/auth/status`.

use super::*;

// ---------------------------------------------------------------------------------------------
// Logout, shared sessions, restarts, expiry
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn after_logout_the_session_is_refused_with_401() {
    let (app, _) = seeded_app().await;
    for (method, remember_me) in [(reqwest::Method::POST, true), (reqwest::Method::GET, false)] {
        let l = login(&app, EMAIL, PASSWORD, remember_me).await;
        let get = || {
            app.http
                .get(app.url(&format!("/sessions/{SESSION_A}")))
                .header("Cookie", l.cookie_header())
        };
        assert_eq!(send(get()).await.0, StatusCode::OK);

        let (status, headers, body) = send(
            app.http
                .request(method.clone(), app.url("/auth/logout"))
                .header("Cookie", l.cookie_header()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{method} /auth/logout: {body}");
        assert_eq!(
            body, "{}",
            "{method}: ServiceStack answers an empty AuthenticateResponse"
        );
        let cleared = set_cookies(&headers);
        for name in ["ss-id", "ss-pid"] {
            let c = cleared
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{method}: {name} is deleted: {cleared:?}"));
            assert_eq!(c.value, "");
            assert!(
                c.attrs.contains("max-age=0") && c.attrs.contains("path=/"),
                "{c:?}"
            );
        }

        let (status, headers, body) = send(get()).await;
        assert_401(status, &headers, &body, &not_authenticated());
        let (status, headers, body) = send(
            app.http
                .patch(app.url(&format!("/sessions/{SESSION_A}")))
                .header("Cookie", l.cookie_header())
                .json(&json!({"consoleData": "after logout"})),
        )
        .await;
        assert_401(status, &headers, &body, &not_authenticated());
    }
    assert_eq!(
        count(app.pool(), "SELECT count(*) FROM auth_sessions").await,
        0
    );
    assert_eq!(
        stored_session(&app.base_url, SESSION_A).await["consoleData"],
        ORIG
    );
}

#[tokio::test]
async fn a_session_created_on_one_instance_is_accepted_and_ended_by_another() {
    let db = TestDb::new().await;
    let users = seed(&db.pool).await;
    let a = TestApp::builder().on(&db).spawn().await;
    let b = TestApp::builder().on(&db).spawn().await;
    let http = reqwest::Client::new();

    let l = login_ok(&a.base_url, true).await;
    let before = stored_session(&b.base_url, SESSION_A).await;
    let patch = json!({"consoleData": "patched on B"});
    let (status, _, body) = send(
        http.patch(b.url(&format!("/sessions/{SESSION_A}")))
            .header("Cookie", l.cookie_header())
            .json(&patch),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_patched(&before, &parse(&body), &patch, &users.ada);

    // /auth/status on B knows the session made on A.
    let (status, _, body) = send(
        http.get(b.url("/auth/status"))
            .header("Cookie", l.cookie_header()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parse(&body)["isAuthenticated"], true, "{body}");

    // Logout on B ends it on A too.
    let (status, _, _) = send(
        http.post(b.url("/auth/logout"))
            .header("Cookie", l.cookie_header()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, body) = send(
        http.get(a.url(&format!("/sessions/{SESSION_A}")))
            .header("Cookie", l.cookie_header()),
    )
    .await;
    assert_401(status, &headers, &body, &not_authenticated());
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_session_survives_a_server_restart() {
    let db = TestDb::new().await;
    let users = seed(&db.pool).await;
    let first = TestApp::builder().on(&db).spawn().await;
    let l = login_ok(&first.base_url, true).await;
    let temp = login_ok(&first.base_url, false).await;
    first.stop().await;

    let second = TestApp::builder().on(&db).spawn().await;
    let before = stored_session(&second.base_url, SESSION_A).await;
    let patch = json!({"consoleData": "after restart", "queueState": "Queued"});
    let (status, _, body) = send(
        reqwest::Client::new()
            .patch(second.url(&format!("/sessions/{SESSION_A}")))
            .header("Cookie", l.cookie_header())
            .json(&patch),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_patched(&before, &parse(&body), &patch, &users.ada);
    let (status, _, body) = send(
        reqwest::Client::new()
            .get(second.url(&format!("/sessions/{SESSION_A}")))
            .header("Cookie", temp.cookie_header()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a session without rememberMe survives too: {body}"
    );
    second.stop().await;
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let mut auth = AuthConfig::default();
    auth.login_session_ttl = Duration::from_millis(1000);
    auth.remember_ttl = Duration::from_millis(1000);
    let app = TestApp::builder().auth(auth).spawn().await;
    seed(app.pool()).await;
    let temp = login(&app, EMAIL, PASSWORD, false).await;
    let perm = login(&app, EMAIL, PASSWORD, true).await;
    assert_eq!((temp.status, perm.status), (StatusCode::OK, StatusCode::OK));
    let get = |l: &Login| {
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .header("Cookie", l.cookie_header())
    };
    // Valid at first (the TTL is short, not zero): checked on the later login.
    assert_eq!(send(get(&perm)).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for l in [&temp, &perm] {
        let (status, headers, body) = send(get(l)).await;
        assert_401(status, &headers, &body, &not_authenticated());
        let (status, _, body) = send(
            app.http
                .get(app.url("/auth/status"))
                .header("Cookie", l.cookie_header()),
        )
        .await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, r#"{"isAuthenticated":false}"#)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// /auth/status
// ---------------------------------------------------------------------------------------------

pub(super) fn ada_user_info(user_id: &str) -> String {
    format!(
        r#"{{"id":"{user_id}","isAuthenticated":true,"firstName":"Ada","lastName":"Lovelace","name":"{NAME}","emailAddress":"{EMAIL}","roles":["Manager"],"accountIds":["{ACCOUNT_A}"],"accountNames":["Account {ACCOUNT_A}"]}}"#
    )
}

#[tokio::test]
async fn auth_status_of_a_logged_in_user_is_the_whole_user_info() {
    let (app, users) = seeded_app().await;
    let l = login(&app, EMAIL, PASSWORD, true).await;
    let by_cookie = app
        .http
        .get(app.url("/auth/status"))
        .header("Cookie", l.cookie_header());
    let by_basic = app
        .http
        .get(app.url("/auth/status"))
        .basic_auth(EMAIL, Some(PASSWORD));
    for (label, req) in [("cookie", by_cookie), ("basic", by_basic)] {
        let (status, headers, body) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{label}");
        assert_eq!(content_type(&headers), JSON, "{label}");
        assert_eq!(body, ada_user_info(&users.ada), "{label}");
    }
    // A user without a display name: name is the e-mail, no first or last name.
    let (status, _, body) = send(
        app.http
            .get(app.url("/auth/status"))
            .basic_auth(OTHER_EMAIL, Some(OTHER_PASSWORD)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        format!(
            r#"{{"id":"{}","isAuthenticated":true,"name":"{OTHER_EMAIL}","emailAddress":"{OTHER_EMAIL}","roles":["User"],"accountIds":["{ACCOUNT_B}"],"accountNames":["Account {ACCOUNT_B}"]}}"#,
            users.grace
        )
    );
}

#[tokio::test]
async fn auth_status_of_an_anonymous_caller_is_not_authenticated_without_a_401() {
    let (app, _) = seeded_app().await;
    let (status, headers, body) = send(app.http.get(app.url("/auth/status"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), JSON);
    assert!(headers.get("www-authenticate").is_none());
    assert_eq!(body, r#"{"isAuthenticated":false}"#);
}

#[tokio::test]
async fn auth_status_with_bad_credentials_is_not_authenticated_without_a_401() {
    let (app, _) = seeded_app().await;
    let status_url = app.url("/auth/status");
    let cases = [
        (
            "wrong password",
            app.http.get(&status_url).basic_auth(EMAIL, Some("nope")),
        ),
        (
            "unknown user",
            app.http
                .get(&status_url)
                .basic_auth("nobody@example.com", Some("x")),
        ),
        (
            "bogus session cookie",
            app.http
                .get(&status_url)
                .header("Cookie", "ss-id=AAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
        (
            "bogus X-ss-pid",
            app.http
                .get(&status_url)
                .header("X-ss-pid", "AAAA")
                .header("X-ss-opt", "perm"),
        ),
        (
            "bogus bearer key",
            app.http
                .get(&status_url)
                .bearer_auth("vk_0000000000000000_00"),
        ),
        (
            "undecodable basic",
            app.http
                .get(&status_url)
                .header("Authorization", "Basic !!!"),
        ),
    ];
    for (label, req) in cases {
        let (status, headers, body) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{label}: {body}");
        assert!(headers.get("www-authenticate").is_none(), "{label}");
        assert_eq!(body, r#"{"isAuthenticated":false}"#, "{label}");
    }
}
