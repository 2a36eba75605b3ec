//! Login sessions: logout, shared by instances, surviving restarts, expiry, `/auth/status`.

use super::*;

// ---------------------------------------------------------------------------------------------
// Logout, shared sessions, restarts, expiry
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn after_logout_the_session_is_refused_with_401() {
    let (app, _) = seeded_app().await;
    for (method, remember_me) in [(Method::POST, true), (Method::GET, false)] {
        let l = app.login(&ADA, remember_me).await;
        assert_eq!(app.get_session(SESSION).with_login(&l).await.status, 200);

        let res = app
            .request(method.clone(), "/auth/logout")
            .with_login(&l)
            .await;
        assert_eq!(res.status, 200, "{method} /auth/logout: {}", res.text);
        assert_eq!(
            res.text, "{}",
            "{method}: ServiceStack answers an empty AuthenticateResponse"
        );
        let cleared = res.cookies();
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

        app.get_session(SESSION)
            .with_login(&l)
            .await
            .assert_401(&not_authenticated());
        app.patch_session(SESSION, &json!({"consoleData": "after logout"}))
            .with_login(&l)
            .await
            .assert_401(&not_authenticated());
    }
    assert_eq!(
        count(app.pool(), "SELECT count(*) FROM auth_sessions").await,
        0
    );
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
}

#[tokio::test]
async fn a_session_created_on_one_instance_is_accepted_and_ended_by_another() {
    let db = TestDb::new().await;
    let users = seed(&db.pool).await;
    let a = TestApp::builder().on(&db).spawn().await;
    let b = TestApp::builder().on(&db).spawn().await;

    let l = a.login(&ADA, true).await;
    let before = stored(&db.pool, SESSION).await;
    let patch = json!({"consoleData": "patched on B"});
    let res = b.patch_session(SESSION, &patch).with_login(&l).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.json(),
        patched(&before, &patch, &users.ada, &res.json())
    );

    // /auth/status on B knows the session made on A.
    let res = b.auth_status().with_login(&l).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["isAuthenticated"], true, "{}", res.text);

    // Logout on B ends it on A too.
    assert_eq!(b.logout().with_login(&l).await.status, 200);
    a.get_session(SESSION)
        .with_login(&l)
        .await
        .assert_401(&not_authenticated());
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_session_survives_a_server_restart() {
    let db = TestDb::new().await;
    let users = seed(&db.pool).await;
    let first = TestApp::builder().on(&db).spawn().await;
    let l = first.login(&ADA, true).await;
    let temp = first.login(&ADA, false).await;
    first.stop().await;

    let second = TestApp::builder().on(&db).spawn().await;
    let before = stored(&db.pool, SESSION).await;
    let patch = json!({"consoleData": "after restart", "queueState": "Queued"});
    let res = second.patch_session(SESSION, &patch).with_login(&l).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.json(),
        patched(&before, &patch, &users.ada, &res.json())
    );
    let res = second.get_session(SESSION).with_login(&temp).await;
    assert_eq!(
        res.status, 200,
        "a session without rememberMe survives too: {}",
        res.text
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
    let temp = app.login(&ADA, false).await;
    let perm = app.login(&ADA, true).await;
    assert_eq!((temp.status(), perm.status()), (200, 200));
    // Valid at first (the TTL is short, not zero): checked on the later login.
    assert_eq!(app.get_session(SESSION).with_login(&perm).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for l in [&temp, &perm] {
        app.get_session(SESSION)
            .with_login(l)
            .await
            .assert_401(&not_authenticated());
        let res = app.auth_status().with_login(l).await;
        assert_eq!(
            (res.status, res.text.as_str()),
            (200, r#"{"isAuthenticated":false}"#)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// /auth/status
// ---------------------------------------------------------------------------------------------

pub(super) fn ada_user_info(user_id: &str) -> String {
    format!(
        r#"{{"id":"{user_id}","isAuthenticated":true,"firstName":"Ada","lastName":"Lovelace","name":"{}","emailAddress":"{}","roles":["Manager"],"accountIds":["{ACCOUNT}"],"accountNames":["Account {ACCOUNT}"]}}"#,
        ADA.name.unwrap(),
        ADA.email
    )
}

#[tokio::test]
async fn auth_status_of_a_logged_in_user_is_the_whole_user_info() {
    let (app, users) = seeded_app().await;
    let l = app.login(&ADA, true).await;
    let by_cookie = app.auth_status().with_login(&l);
    let by_basic = app.auth_status().signed_in_as(&ADA);
    for (label, call) in [("cookie", by_cookie), ("basic", by_basic)] {
        let res = call.await;
        assert_eq!(res.status, 200, "{label}");
        assert_eq!(res.content_type(), JSON_UTF8, "{label}");
        assert_eq!(res.text, ada_user_info(&users.ada), "{label}");
    }
    // A user without a display name: name is the e-mail, no first or last name.
    let res = app.auth_status().signed_in_as(&GRACE).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.text,
        format!(
            r#"{{"id":"{}","isAuthenticated":true,"name":"{email}","emailAddress":"{email}","roles":["User"],"accountIds":["{OTHER_ACCOUNT}"],"accountNames":["Account {OTHER_ACCOUNT}"]}}"#,
            users.grace,
            email = GRACE.email
        )
    );
}

#[tokio::test]
async fn auth_status_of_an_anonymous_caller_is_not_authenticated_without_a_401() {
    let (app, _) = seeded_app().await;
    let res = app.auth_status().await;
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type(), JSON_UTF8);
    assert!(res.header("www-authenticate").is_none());
    assert_eq!(res.text, r#"{"isAuthenticated":false}"#);
}

#[tokio::test]
async fn auth_status_with_bad_credentials_is_not_authenticated_without_a_401() {
    let (app, _) = seeded_app().await;
    let cases = [
        ("wrong password", app.auth_status().basic(ADA.email, "nope")),
        (
            "unknown user",
            app.auth_status().basic("nobody@example.com", "x"),
        ),
        (
            "bogus session cookie",
            app.auth_status().cookie("ss-id=AAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
        (
            "bogus X-ss-pid",
            app.auth_status()
                .header("X-ss-pid", "AAAA")
                .header("X-ss-opt", "perm"),
        ),
        (
            "bogus bearer key",
            app.auth_status().bearer("vk_0000000000000000_00"),
        ),
        (
            "undecodable basic",
            app.auth_status().authorization("Basic !!!"),
        ),
    ];
    for (label, call) in cases {
        let res = call.await;
        assert_eq!(res.status, 200, "{label}: {}", res.text);
        assert!(res.header("www-authenticate").is_none(), "{label}");
        assert_eq!(res.text, r#"{"isAuthenticated":false}"#, "{label}");
    }
}
