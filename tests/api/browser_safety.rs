//! Requests a browser could be tricked into sending with a user's cookies must not change
//! data, and credentials of absurd size are refused before any database work.

use crate::helpers::*;
use serde_json::{Value, json};

const ALLOWED: &str = "https://app.example.com";

/// A server that allows ALLOWED, with ADA and her session SESSION (a [`simple_session`]).
async fn app() -> TestApp {
    let app = TestApp::builder().cors_origins(&[ALLOWED]).spawn().await;
    add_user(app.pool(), &ADA).await;
    import(app.pool(), &[simple_session(SESSION, ACCOUNT)]).await;
    app
}

/// A login session id, as the browser's cookie would carry it.
async fn login(app: &TestApp) -> String {
    app.login(&ADA, false).await.json()["sessionId"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn console_data(app: &TestApp) -> Value {
    stored(app.pool(), SESSION).await["consoleData"].clone()
}

#[tokio::test]
async fn a_get_cannot_patch_through_a_predefined_route_or_a_query_method_override() {
    let app = app().await;
    let cookie = format!("ss-id={}", login(&app).await);

    let predefined = app
        .get(&format!(
            "/json/reply/PatchSession?sessionId={SESSION}&consoleData=csrf"
        ))
        .header("Cookie", &cookie)
        .await;
    let overridden = app
        .get(&format!(
            "/sessions/{SESSION}?X-Http-Method-Override=PATCH&consoleData=csrf2"
        ))
        .header("Cookie", &cookie)
        .await;

    assert_eq!(predefined.status, 405);
    assert_eq!(
        predefined.json(),
        json!({"responseStatus": {"errorCode": "NotImplementedException",
            "message": "PatchSession changes data: send it with PATCH, POST or PUT", "errors": []}})
    );
    // The override is ignored on a GET: it stays a GetSession.
    assert_eq!(overridden.status, 200);
    assert_eq!(overridden.json()["consoleData"], ORIG);
    assert_eq!(console_data(&app).await, ORIG);
}

#[tokio::test]
async fn a_cross_site_patch_is_refused_unless_its_origin_is_allowed() {
    let app = app().await;
    let cookie = format!("ss-id={}", login(&app).await);
    let patch = |value: &str| {
        app.patch_session(SESSION, &json!({"consoleData": value}))
            .header("Cookie", &cookie)
    };

    let evil = patch("evil").header("Origin", "https://evil.example").await;
    let sibling = patch("sibling")
        .header("Sec-Fetch-Site", "same-site")
        .header("Origin", "https://other.example.com")
        .await;
    let after_refusals = console_data(&app).await;
    let allowed = patch("allowed").header("Origin", ALLOWED).await;
    let same_origin = patch("same").header("Origin", &app.base_url).await;
    let no_browser = patch("plain").await;

    assert_eq!(evil.status, 403);
    assert_eq!(
        evil.json(),
        json!({"responseStatus": {"errorCode": "Forbidden",
            "message": "Cross-site requests may not change sessions (origin not allowed)",
            "errors": []}})
    );
    assert_eq!(sibling.status, 403);
    assert_eq!(after_refusals, ORIG);
    assert_eq!(allowed.status, 200);
    assert_eq!(same_origin.status, 200);
    assert_eq!(no_browser.status, 200);
    assert_eq!(console_data(&app).await, "plain");
}

/// A link on another site used to end the visitor's login (the Lax cookies go along on a
/// top-level GET): a cross-site logout is refused like a cross-site login, and the login lives.
#[tokio::test]
async fn a_cross_site_logout_is_refused_and_the_login_stays() {
    let app = app().await;
    let cookie = format!("ss-id={}", login(&app).await);
    let logout = |site: &str| {
        app.get("/auth/logout")
            .header("Cookie", &cookie)
            .header("Sec-Fetch-Site", site)
            .header("Sec-Fetch-Mode", "navigate")
    };
    let status = || app.get_session(SESSION).header("Cookie", &cookie);

    let evil = logout("cross-site").await;
    assert_eq!(
        (evil.status, evil.json()),
        (
            403,
            json!({"responseStatus": {"errorCode": "Forbidden",
                "message": "Cross-site logouts are refused (origin not allowed)", "errors": []}})
        )
    );
    assert_eq!(status().await.status, 200, "the login survived");
    // A link from another, not allowed, page is refused too; one from an allowed origin's page
    // (a navigation has no Origin, its Referer names the page) ends the login.
    let foreign = logout("cross-site")
        .header("Referer", "https://evil.example/page")
        .await;
    assert_eq!(foreign.status, 403);
    let allowed = logout("cross-site")
        .header("Referer", &format!("{ALLOWED}/account?x=1"))
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    assert_eq!(
        status().await.status,
        401,
        "a logout from an allowed page ends it"
    );
}

/// A same-origin logout ends the login.
#[tokio::test]
async fn a_same_origin_logout_ends_the_login() {
    let app = app().await;
    let cookie = format!("ss-id={}", login(&app).await);
    let res = app
        .get("/auth/logout")
        .header("Cookie", &cookie)
        .header("Sec-Fetch-Site", "same-origin")
        .await;
    assert_eq!(res.status, 200);
    let after = app.get_session(SESSION).header("Cookie", &cookie).await;
    assert_eq!(after.status, 401);
}

#[tokio::test]
async fn an_absurdly_long_user_name_or_password_is_refused_as_invalid_credentials() {
    let app = app().await;
    let long_name = format!("{}@example.com", "a".repeat(8000));
    let long_password = "p".repeat(5000);

    let login = app.try_login(&long_name, "x", false).await.response;
    let basic = app.get_session(SESSION).basic(&long_name, "x").await;
    let long_pw = app
        .get_session(SESSION)
        .basic(ADA.email, &long_password)
        .await;

    for res in [login, basic, long_pw] {
        assert_eq!(res.status, 401);
        assert_eq!(
            res.json(),
            serde_json::from_str::<Value>(&invalid_credentials()).unwrap()
        );
    }
    let throttled: i64 = sqlx::query_scalar("SELECT count(*) FROM login_throttle")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(throttled, 0, "refused before any database work");
}
