//! Requests a browser could be tricked into sending with a user's cookies must not change
//! data, and credentials of absurd size are refused before any database work.

mod common;

use common::{TestApp, add_user, spawn_app_with};
use serde_json::{Value, json};
use voice_api::HttpConfig;

const EMAIL: &str = "agent@example.com";
const PASSWORD: &str = "agent-pw";
const ALLOWED: &str = "https://app.example.com";

async fn app() -> TestApp {
    let app = spawn_app_with(HttpConfig {
        cors_origins: vec![ALLOWED.into()],
        ..HttpConfig::default()
    })
    .await;
    add_user(app.pool(), "acct-1", EMAIL, PASSWORD, &["Manager"]).await;
    let doc = json!([{"id": "s1", "accountId": "acct-1", "consoleData": "before"}]);
    voice_api::import::import_json(app.pool(), &doc.to_string())
        .await
        .unwrap();
    app
}

/// A login session id, as the browser's cookie would carry it.
async fn login(app: &TestApp) -> String {
    let res = app
        .http
        .post(app.url("/auth/credentials"))
        .json(&json!({"userName": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn console_data(app: &TestApp) -> Option<String> {
    voice_api::storage::sessions::load(app.pool(), "s1")
        .await
        .unwrap()
        .unwrap()
        .console_data
}

#[tokio::test]
async fn a_get_cannot_patch_through_a_predefined_route_or_a_query_method_override() {
    let app = app().await;
    let sid = login(&app).await;
    let cookie = format!("ss-id={sid}");

    let predefined = app
        .http
        .get(app.url("/json/reply/PatchSession?sessionId=s1&consoleData=csrf"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    let overridden = app
        .http
        .get(app.url("/sessions/s1?X-Http-Method-Override=PATCH&consoleData=csrf2"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();

    assert_eq!(predefined.status(), 405);
    assert_eq!(
        predefined.json::<Value>().await.unwrap(),
        json!({"responseStatus": {"errorCode": "NotImplementedException",
            "message": "PatchSession changes data: send it with PATCH, POST or PUT", "errors": []}})
    );
    // The override is ignored on a GET: it stays a GetSession.
    assert_eq!(overridden.status(), 200);
    assert_eq!(
        overridden.json::<Value>().await.unwrap()["consoleData"],
        "before"
    );
    assert_eq!(console_data(&app).await.as_deref(), Some("before"));
}

#[tokio::test]
async fn a_cross_site_patch_is_refused_unless_its_origin_is_allowed() {
    let app = app().await;
    let sid = login(&app).await;
    let patch = |value: &str| {
        app.http
            .patch(app.url("/sessions/s1"))
            .header("Cookie", format!("ss-id={sid}"))
            .json(&json!({"consoleData": value}))
    };

    let evil = patch("evil")
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    let sibling = patch("sibling")
        .header("Sec-Fetch-Site", "same-site")
        .header("Origin", "https://other.example.com")
        .send()
        .await
        .unwrap();
    let evil_status = evil.status();
    let evil_body: Value = evil.json().await.unwrap();
    let after_refusals = console_data(&app).await;
    let allowed = patch("allowed")
        .header("Origin", ALLOWED)
        .send()
        .await
        .unwrap();
    let same_origin = patch("same")
        .header("Origin", app.base_url.as_str())
        .send()
        .await
        .unwrap();
    let no_browser = patch("plain").send().await.unwrap();

    assert_eq!(evil_status, 403);
    assert_eq!(
        evil_body,
        json!({"responseStatus": {"errorCode": "Forbidden",
            "message": "Cross-site requests may not change sessions (origin not allowed)",
            "errors": []}})
    );
    assert_eq!(sibling.status(), 403);
    assert_eq!(after_refusals.as_deref(), Some("before"));
    assert_eq!(allowed.status(), 200);
    assert_eq!(same_origin.status(), 200);
    assert_eq!(no_browser.status(), 200);
    assert_eq!(console_data(&app).await.as_deref(), Some("plain"));
}

#[tokio::test]
async fn an_absurdly_long_user_name_or_password_is_refused_as_invalid_credentials() {
    let app = app().await;
    let long_name = format!("{}@example.com", "a".repeat(8000));
    let long_password = "p".repeat(5000);
    let invalid = json!({"responseStatus": {"errorCode": "Unauthorized",
        "message": "Invalid Username or Password", "errors": []}});

    let login = app
        .http
        .post(app.url("/auth/credentials"))
        .json(&json!({"userName": long_name, "password": "x"}))
        .send()
        .await
        .unwrap();
    let basic = app
        .http
        .get(app.url("/sessions/s1"))
        .basic_auth(&long_name, Some("x"))
        .send()
        .await
        .unwrap();
    let long_pw = app
        .http
        .get(app.url("/sessions/s1"))
        .basic_auth(EMAIL, Some(&long_password))
        .send()
        .await
        .unwrap();

    for res in [login, basic, long_pw] {
        assert_eq!(res.status(), 401);
        assert_eq!(res.json::<Value>().await.unwrap(), invalid);
    }
    let throttled: i64 = sqlx::query_scalar("SELECT count(*) FROM login_throttle")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(throttled, 0, "refused before any database work");
}
