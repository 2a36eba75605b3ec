//! Authentication and account authorization, end to end over HTTP: credentials login on every
//! route and format, the ServiceStack session cookies and `X-ss-*` headers, logout, sessions
//! shared by server instances and surviving restarts, expiry, `/auth/status`, identical answers
//! for unknown users and wrong passwords, login throttling, API keys made with the CLI, cached
//! credentials invalidated at once, cross-account 403s, 401 bodies in JSON and XML, CORS, and
//! that no secret reaches the logs or the database.
//!
//! Every test has its own database. Whole bodies are compared; a random value (a session id)
//! is checked on its own and then substituted into the expected text.

mod common;

use base64::Engine;
use common::{TestApp, TestDb, add_named_user, spawn_app, spawn_app_on, spawn_app_with_auth};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use voice_api::HttpConfig;
use voice_api::auth::AuthConfig;
use voice_api::storage::auth::ThrottlePolicy;

const ACCOUNT_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
const ACCOUNT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";
const SESSION_A: &str = "5e5510aa0000000000000001";
const SESSION_B: &str = "5e5510bb0000000000000002";

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "Corr3ct-Horse-Battery";
const NAME: &str = "Ada Lovelace";
const OTHER_EMAIL: &str = "grace@example.com";
const OTHER_PASSWORD: &str = "Gr4ce-Hopper-Cobol";
const ADMIN_EMAIL: &str = "root@example.com";
const ADMIN_PASSWORD: &str = "Adm1n-Everywhere";

const JSON: &str = "application/json; charset=utf-8";
const XML: &str = "application/xml";
const CHALLENGE: &str = "basic realm=\"/auth/basic\"";

/// The default lifetimes (AuthConfig::default()), which the cookies' Max-Age must carry.
const SESSION_TTL_SECS: u64 = 12 * 3600;
const REMEMBER_TTL_SECS: u64 = 30 * 24 * 3600;

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

/// The users of a fixture: a Manager of account A (with a display name), a User of account B,
/// and a SystemAdministrator who belongs to account A only.
struct Users {
    ada: String,
    grace: String,
    admin: String,
}

async fn seed(pool: &sqlx::PgPool) -> Users {
    let ada = add_named_user(pool, ACCOUNT_A, EMAIL, PASSWORD, NAME, &["Manager"]).await;
    let grace = common::add_user(pool, ACCOUNT_B, OTHER_EMAIL, OTHER_PASSWORD, &["User"]).await;
    let admin = common::add_user(
        pool,
        ACCOUNT_A,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        &["SystemAdministrator"],
    )
    .await;
    let sessions = json!([
        {"id": SESSION_A, "accountId": ACCOUNT_A, "accountName": "Account A",
         "consoleData": "initial A", "callState": "Ringing",
         "dateCreated": "2026-03-01T09:15:30.125Z", "dateLastModified": "2026-03-01T09:15:30.125Z"},
        {"id": SESSION_B, "accountId": ACCOUNT_B, "accountName": "Account B",
         "consoleData": "initial B", "callState": "Connected",
         "dateCreated": "2026-03-02T10:00:00.000Z", "dateLastModified": "2026-03-02T10:00:00.000Z"},
    ]);
    voice_api::import::import_json(pool, &sessions.to_string())
        .await
        .expect("the fixture imports");
    Users { ada, grace, admin }
}

async fn seeded_app() -> (TestApp, Users) {
    let app = spawn_app().await;
    let users = seed(app.pool()).await;
    (app, users)
}

/// The stored session as the API answers it, read from the database side of the API (with
/// the administrator's Basic credentials), to compare before and after.
async fn stored_session(base_url: &str, id: &str) -> Value {
    let res = reqwest::Client::new()
        .get(format!("{base_url}/sessions/{id}"))
        .basic_auth(ADMIN_EMAIL, Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the administrator reads {id}");
    res.json().await.unwrap()
}

/// `before` with `patch` applied by `user_id`: dateLastModified is checked to be a new ISO
/// time and then copied, everything else must match exactly.
fn assert_patched(before: &Value, after: &Value, patch: &Value, user_id: &str) {
    let mut want = before.clone();
    for (k, v) in patch.as_object().unwrap() {
        if k != "sessionId" {
            want[k] = v.clone();
        }
    }
    want["lastModifiedBy"] = json!(user_id);
    let modified = after["dateLastModified"].as_str().unwrap_or_default();
    assert!(
        modified.ends_with('Z')
            && modified.len() == 24
            && Some(modified) != before["dateLastModified"].as_str(),
        "dateLastModified must be the new patch time, got {modified:?}"
    );
    want["dateLastModified"] = json!(modified);
    assert_eq!(after, &want);
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------

/// One `Set-Cookie`: name, value, and its attributes with lower-cased names (they are
/// case-insensitive), e.g. `path=/`, `samesite=lax`, `httponly`, `max-age=43200`, `secure`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SetCookie {
    name: String,
    value: String,
    attrs: BTreeSet<String>,
}

fn set_cookies(headers: &HeaderMap) -> Vec<SetCookie> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| {
            let text = v.to_str().unwrap();
            let mut parts = text.split(';').map(str::trim);
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            let attrs = parts
                .filter(|a| !a.is_empty())
                .map(|a| match a.split_once('=') {
                    Some((k, v)) if k.eq_ignore_ascii_case("samesite") => {
                        format!("samesite={}", v.to_ascii_lowercase())
                    }
                    Some((k, v)) => format!("{}={v}", k.to_ascii_lowercase()),
                    None => a.to_ascii_lowercase(),
                })
                .collect();
            SetCookie {
                name: name.into(),
                value: value.into(),
                attrs,
            }
        })
        .collect()
}

fn attrs(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// What a login answered.
struct Login {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    cookies: Vec<SetCookie>,
}

impl Login {
    fn cookie(&self, name: &str) -> &SetCookie {
        self.cookies
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} cookie in {:?}", self.cookies))
    }

    /// The `Cookie` header a browser would send back.
    fn cookie_header(&self) -> String {
        ["ss-id", "ss-pid", "ss-opt"]
            .iter()
            .map(|n| format!("{n}={}", self.cookie(n).value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The live session id: ss-pid when ss-opt is perm, else ss-id.
    fn live_id(&self) -> String {
        if self.cookie("ss-opt").value == "perm" {
            self.cookie("ss-pid").value.clone()
        } else {
            self.cookie("ss-id").value.clone()
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn read_login(res: reqwest::Response) -> Login {
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.text().await.unwrap();
    Login {
        status,
        cookies: set_cookies(&headers),
        headers,
        body,
    }
}

/// `POST {base}/auth/credentials` with a JSON body.
async fn login_at(base_url: &str, email: &str, password: &str, remember_me: bool) -> Login {
    let res = reqwest::Client::new()
        .post(format!("{base_url}/auth/credentials"))
        .json(&json!({"userName": email, "password": password, "rememberMe": remember_me}))
        .send()
        .await
        .unwrap();
    read_login(res).await
}

async fn login(app: &TestApp, email: &str, password: &str, remember_me: bool) -> Login {
    login_at(&app.base_url, email, password, remember_me).await
}

/// A successful login of Ada: asserts 200 and returns it.
async fn login_ok(base_url: &str, remember_me: bool) -> Login {
    let l = login_at(base_url, EMAIL, PASSWORD, remember_me).await;
    assert_eq!(l.status, StatusCode::OK, "login failed: {}", l.body);
    l
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// Sends and returns (status, headers, body text).
async fn send(req: reqwest::RequestBuilder) -> (StatusCode, HeaderMap, String) {
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Ada's whole AuthenticateResponse JSON, members in ServiceStack's DataMember order.
fn ada_authenticate_response(user_id: &str, session_id: &str) -> String {
    format!(
        r#"{{"userId":"{user_id}","sessionId":"{session_id}","userName":"{EMAIL}","displayName":"{NAME}","roles":["Manager"],"permissions":[]}}"#
    )
}

fn status_json(code: &str, message: &str) -> String {
    format!(r#"{{"responseStatus":{{"errorCode":"{code}","message":"{message}","errors":[]}}}}"#)
}

fn not_authenticated() -> String {
    status_json("Unauthorized", "Not Authenticated")
}

fn invalid_credentials() -> String {
    status_json("Unauthorized", "Invalid Username or Password")
}

/// Asserts a 401 with the challenge and the whole JSON ResponseStatus body.
fn assert_401(status: StatusCode, headers: &HeaderMap, body: &str, want_body: &str) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(header(headers, "www-authenticate"), Some(CHALLENGE));
    assert_eq!(content_type(headers), JSON);
    assert_eq!(body, want_body);
}

fn is_session_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// Login: routes, formats, cookies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn credentials_login_on_every_json_route_answers_the_whole_authenticate_response() {
    let (app, users) = seeded_app().await;
    let routes: [(&str, Value); 4] = [
        (
            "/auth/credentials",
            json!({"userName": EMAIL, "password": PASSWORD}),
        ),
        (
            "/auth",
            json!({"provider": "credentials", "userName": EMAIL, "password": PASSWORD}),
        ),
        (
            "/api/Authenticate",
            json!({"provider": "credentials", "userName": EMAIL, "password": PASSWORD, "rememberMe": false}),
        ),
        (
            "/json/reply/Authenticate",
            json!({"provider": "credentials", "userName": EMAIL, "password": PASSWORD}),
        ),
    ];
    for (route, body) in routes {
        let l = read_login(
            app.http
                .post(app.url(route))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(l.status, StatusCode::OK, "{route}: {}", l.body);
        assert_eq!(content_type(&l.headers), JSON, "{route}");
        let sid = l.json()["sessionId"].as_str().unwrap().to_string();
        assert!(is_session_id(&sid), "{route}: session id {sid:?}");
        assert_eq!(l.cookie("ss-opt").value, "temp", "{route}");
        assert_eq!(
            l.cookie("ss-id").value,
            sid,
            "{route}: ss-id is the session"
        );
        assert_eq!(
            l.body,
            ada_authenticate_response(&users.ada, &sid),
            "{route}"
        );
    }
}

#[tokio::test]
async fn login_cookies_are_httponly_lax_root_path_and_only_ss_id_is_a_browser_session_cookie() {
    let (app, _) = seeded_app().await;
    let l = login(&app, EMAIL, PASSWORD, false).await;
    assert_eq!(l.status, StatusCode::OK);
    let names: Vec<&str> = l.cookies.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ss-id", "ss-pid", "ss-opt"]);
    let base = ["path=/", "samesite=lax", "httponly"];
    assert_eq!(
        l.cookie("ss-id").attrs,
        attrs(&base),
        "ss-id lasts the browser session"
    );
    let max_age = format!("max-age={SESSION_TTL_SECS}");
    for name in ["ss-pid", "ss-opt"] {
        let mut want = attrs(&base);
        want.insert(max_age.clone());
        assert_eq!(l.cookie(name).attrs, want, "{name}");
    }

    let l = login(&app, EMAIL, PASSWORD, true).await;
    let max_age = format!("max-age={REMEMBER_TTL_SECS}");
    assert_eq!(l.cookie("ss-id").attrs, attrs(&base));
    for name in ["ss-pid", "ss-opt"] {
        let mut want = attrs(&base);
        want.insert(max_age.clone());
        assert_eq!(
            l.cookie(name).attrs,
            want,
            "{name} lives as long as the remembered session"
        );
    }
}

#[tokio::test]
async fn login_cookies_are_secure_behind_an_https_proxy() {
    let (app, _) = seeded_app().await;
    for remember_me in [false, true] {
        let l = read_login(
            app.http
                .post(app.url("/auth/credentials"))
                .header("X-Forwarded-Proto", "https")
                .json(&json!({"userName": EMAIL, "password": PASSWORD, "rememberMe": remember_me}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(l.status, StatusCode::OK);
        assert_eq!(l.cookies.len(), 3);
        for c in &l.cookies {
            assert!(c.attrs.contains("secure"), "{c:?}");
            assert!(
                c.attrs.contains("httponly") && c.attrs.contains("samesite=lax"),
                "{c:?}"
            );
        }
    }
    // Plain http: never Secure (a browser would drop the cookie).
    let l = login(&app, EMAIL, PASSWORD, true).await;
    assert!(l.cookies.iter().all(|c| !c.attrs.contains("secure")));
}

#[tokio::test]
async fn xml_login_in_the_servicestack_namespace_answers_an_xml_authenticate_response() {
    let (app, users) = seeded_app().await;
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><Authenticate xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.servicestack.net/types"><provider>credentials</provider><UserName>{EMAIL}</UserName><Password>{PASSWORD}</Password><RememberMe>true</RememberMe></Authenticate>"#
    );
    for route in ["/auth/credentials", "/auth", "/xml/reply/Authenticate"] {
        let l = read_login(
            app.http
                .post(app.url(route))
                .header("Content-Type", "application/xml")
                .body(body.clone())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(l.status, StatusCode::OK, "{route}: {}", l.body);
        assert_eq!(content_type(&l.headers), XML, "{route}");
        assert_eq!(
            l.cookie("ss-opt").value,
            "perm",
            "{route}: RememberMe was read"
        );
        let sid = l.cookie("ss-pid").value.clone();
        assert!(is_session_id(&sid));
        let want = format!(
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?>"#,
                r#"<AuthenticateResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.servicestack.net/types">"#,
                "<UserId>{uid}</UserId><SessionId>{sid}</SessionId><UserName>{email}</UserName><DisplayName>{name}</DisplayName>",
                r#"<ReferrerUrl i:nil="true" /><BearerToken i:nil="true" /><RefreshToken i:nil="true" /><RefreshTokenExpiry i:nil="true" /><ProfileUrl i:nil="true" />"#,
                r#"<Roles xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays"><d2p1:string>Manager</d2p1:string></Roles>"#,
                r#"<Permissions xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" />"#,
                r#"<AuthProvider i:nil="true" /><ResponseStatus i:nil="true" />"#,
                r#"<Meta xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" i:nil="true" />"#,
                "</AuthenticateResponse>"
            ),
            uid = users.ada,
            sid = sid,
            email = EMAIL,
            name = NAME
        );
        assert_eq!(l.body, want, "{route}");
    }
}

#[tokio::test]
async fn form_login_answers_json_and_sets_the_cookies() {
    let (app, users) = seeded_app().await;
    for (route, form) in [
        (
            "/auth/credentials",
            vec![
                ("userName", EMAIL),
                ("password", PASSWORD),
                ("rememberMe", "true"),
            ],
        ),
        (
            "/auth",
            vec![
                ("provider", "credentials"),
                ("userName", EMAIL),
                ("password", PASSWORD),
                ("rememberMe", "true"),
            ],
        ),
        (
            "/api/Authenticate",
            vec![
                ("provider", "credentials"),
                ("userName", EMAIL),
                ("password", PASSWORD),
                ("rememberMe", "true"),
            ],
        ),
    ] {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let l = read_login(
            app.http
                .post(app.url(route))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(l.status, StatusCode::OK, "{route}: {}", l.body);
        assert_eq!(content_type(&l.headers), JSON, "{route}");
        assert_eq!(l.cookie("ss-opt").value, "perm", "{route}");
        let sid = l.cookie("ss-pid").value.clone();
        assert_eq!(
            l.body,
            ada_authenticate_response(&users.ada, &sid),
            "{route}"
        );
    }
}

#[tokio::test]
async fn remember_me_puts_the_live_id_in_ss_pid_and_ss_id_is_no_session() {
    let (app, users) = seeded_app().await;
    let l = login(&app, EMAIL, PASSWORD, true).await;
    assert_eq!(l.cookie("ss-opt").value, "perm");
    let sid = l.cookie("ss-pid").value.clone();
    assert_eq!(l.body, ada_authenticate_response(&users.ada, &sid));
    let decoy = l.cookie("ss-id").value.clone();
    assert!(
        is_session_id(&decoy) && decoy != sid,
        "ss-id is a fresh id, not the session"
    );

    let get = |cookie: String| {
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .header("Cookie", cookie)
    };
    let (status, _, body) = send(get(l.cookie_header())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The ss-id of a remembered login is not a session.
    let (status, headers, body) = send(get(format!("ss-id={decoy}; ss-opt=temp"))).await;
    assert_401(status, &headers, &body, &not_authenticated());
    // Without ss-opt=perm the server reads ss-id, which is no session.
    let (status, headers, body) = send(get(format!("ss-id={decoy}; ss-pid={sid}"))).await;
    assert_401(status, &headers, &body, &not_authenticated());
}

#[tokio::test]
async fn without_remember_me_the_live_id_is_ss_id_and_ss_pid_is_no_session() {
    let (app, users) = seeded_app().await;
    let l = login(&app, EMAIL, PASSWORD, false).await;
    assert_eq!(l.cookie("ss-opt").value, "temp");
    let sid = l.cookie("ss-id").value.clone();
    assert_eq!(l.body, ada_authenticate_response(&users.ada, &sid));
    let decoy = l.cookie("ss-pid").value.clone();
    assert!(is_session_id(&decoy) && decoy != sid);

    let get = |cookie: String| {
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .header("Cookie", cookie)
    };
    let (status, _, body) = send(get(l.cookie_header())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, headers, body) = send(get(format!("ss-pid={decoy}; ss-opt=perm"))).await;
    assert_401(status, &headers, &body, &not_authenticated());
}

#[tokio::test]
async fn a_patch_with_the_login_cookies_only_patches_the_session() {
    let (app, users) = seeded_app().await;
    let before = stored_session(&app.base_url, SESSION_A).await;
    for remember_me in [false, true] {
        let l = login(&app, EMAIL, PASSWORD, remember_me).await;
        let before = stored_session(&app.base_url, SESSION_A).await;
        let patch =
            json!({"consoleData": format!("cookie patch {remember_me}"), "callState": "Hold"});
        let (status, headers, body) = send(
            app.http
                .patch(app.url(&format!("/sessions/{SESSION_A}")))
                .header("Cookie", l.cookie_header())
                .json(&patch),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(content_type(&headers), JSON);
        assert!(
            headers.get("set-cookie").is_none(),
            "a patch sets no cookie"
        );
        assert_patched(&before, &parse(&body), &patch, &users.ada);
        assert_eq!(parse(&body), stored_session(&app.base_url, SESSION_A).await);
    }
    assert_ne!(before, stored_session(&app.base_url, SESSION_A).await);
}

#[tokio::test]
async fn x_ss_headers_work_instead_of_cookies() {
    let (app, users) = seeded_app().await;
    let temp = login(&app, EMAIL, PASSWORD, false).await;
    let perm = login(&app, EMAIL, PASSWORD, true).await;
    let cases: [(&str, Vec<(&str, String)>); 2] = [
        ("X-ss-id", vec![("X-ss-id", temp.live_id())]),
        (
            "X-ss-pid + X-ss-opt: perm",
            vec![("X-ss-pid", perm.live_id()), ("X-ss-opt", "perm".into())],
        ),
    ];
    for (label, hdrs) in cases {
        let before = stored_session(&app.base_url, SESSION_A).await;
        let patch = json!({"consoleData": format!("via {label}")});
        let mut req = app
            .http
            .patch(app.url(&format!("/sessions/{SESSION_A}")))
            .json(&patch);
        for (k, v) in &hdrs {
            req = req.header(*k, v);
        }
        let (status, _, body) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{label}: {body}");
        assert_patched(&before, &parse(&body), &patch, &users.ada);

        let mut req = app
            .http
            .get(app.url(&format!("/api/GetSession?sessionId={SESSION_A}")));
        for (k, v) in &hdrs {
            req = req.header(*k, v);
        }
        let (status, _, get_body) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{label}");
        assert_eq!(parse(&get_body), parse(&body), "{label}");
    }
    // A header wins over a cookie: a valid X-ss-id with a bogus ss-id cookie is accepted.
    let (status, _, body) = send(
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .header("X-ss-id", temp.live_id())
            .header("Cookie", "ss-id=bogus"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

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
        "initial A"
    );
}

#[tokio::test]
async fn a_session_created_on_one_instance_is_accepted_and_ended_by_another() {
    let db = TestDb::new().await;
    let users = seed(&db.pool).await;
    let a = spawn_app_on(&db, HttpConfig::default(), AuthConfig::default()).await;
    let b = spawn_app_on(&db, HttpConfig::default(), AuthConfig::default()).await;
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
    let first = spawn_app_on(&db, HttpConfig::default(), AuthConfig::default()).await;
    let l = login_ok(&first.base_url, true).await;
    let temp = login_ok(&first.base_url, false).await;
    first.stop().await;

    let second = spawn_app_on(&db, HttpConfig::default(), AuthConfig::default()).await;
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
    auth.session_ttl = Duration::from_millis(1000);
    auth.remember_ttl = Duration::from_millis(1000);
    let app = spawn_app_with_auth(HttpConfig::default(), auth).await;
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

fn ada_user_info(user_id: &str) -> String {
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

// ---------------------------------------------------------------------------------------------
// Bad credentials, throttling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_identical_answers() {
    let (app, _) = seeded_app().await;
    let answer = |res: (StatusCode, HeaderMap, String)| {
        let (status, headers, body) = res;
        let mut kept: Vec<(String, String)> = headers
            .iter()
            // Per-response values: the date and the request id.
            .filter(|(k, _)| *k != "date" && *k != "content-length" && *k != "x-request-id")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        kept.sort();
        (status, kept, body)
    };
    let login_as = |user: &str, password: &str| {
        app.http
            .post(app.url("/auth/credentials"))
            .json(&json!({"userName": user, "password": password}))
    };
    let wrong = answer(send(login_as(EMAIL, "wrong-password")).await);
    let unknown = answer(send(login_as("nobody@example.com", "wrong-password")).await);
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.2, invalid_credentials());
    assert_eq!(wrong, unknown, "login: wrong password vs unknown user");

    let basic = |user: &str| {
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .basic_auth(user, Some("wrong-password"))
    };
    let wrong = answer(send(basic(EMAIL)).await);
    let unknown = answer(send(basic("nobody@example.com")).await);
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.2, invalid_credentials());
    assert_eq!(wrong, unknown, "Basic: wrong password vs unknown user");
}

#[tokio::test]
async fn a_failed_login_leaves_no_session_row_and_sets_no_cookie() {
    let (app, _) = seeded_app().await;
    for (user, password) in [(EMAIL, "wrong"), ("nobody@example.com", PASSWORD)] {
        let l = login(&app, user, password, true).await;
        assert_eq!(l.status, StatusCode::UNAUTHORIZED);
        assert_eq!(l.body, invalid_credentials());
        assert!(l.cookies.is_empty(), "{:?}", l.cookies);
    }
    assert_eq!(
        count(app.pool(), "SELECT count(*) FROM auth_sessions").await,
        0
    );
}

fn quick_throttle() -> AuthConfig {
    AuthConfig::default().with_throttle(ThrottlePolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(2),
    })
}

#[tokio::test]
async fn repeated_failures_lock_only_that_user_name_until_the_lockout_ends() {
    let app = spawn_app_with_auth(HttpConfig::default(), quick_throttle()).await;
    seed(app.pool()).await;
    for attempt in 1..=2 {
        let l = login(&app, EMAIL, "wrong", false).await;
        assert_eq!(l.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert_eq!(l.body, invalid_credentials());
    }
    // The third failure reaches the limit (its own answer is the subject of another test).
    let third = login(&app, EMAIL.to_uppercase().as_str(), "wrong", false).await;
    assert!(
        [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&third.status),
        "{}",
        third.body
    );

    // Locked: even the right password is refused, with Retry-After and a ResponseStatus.
    let l = login(&app, EMAIL, PASSWORD, false).await;
    assert_eq!(l.status, StatusCode::TOO_MANY_REQUESTS, "{}", l.body);
    let retry_after: u64 = header(&l.headers, "retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(content_type(&l.headers), JSON);
    assert_eq!(
        l.body,
        status_json(
            "TooManyRequests",
            &format!(
                "Too many failed logins for this user name; try again in {retry_after} seconds"
            )
        )
    );
    assert!(l.cookies.is_empty());
    // Basic with the right password is locked as well (same user name).
    let (status, headers, _) = send(
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .basic_auth(EMAIL, Some(PASSWORD)),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.get("retry-after").is_some());

    // Another user is not slowed down.
    let started = std::time::Instant::now();
    let other = login(&app, OTHER_EMAIL, OTHER_PASSWORD, false).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    assert!(started.elapsed() < Duration::from_secs(1));

    // After the lockout the right password works.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let l = login(&app, EMAIL, PASSWORD, false).await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.body);
}

#[tokio::test]
async fn the_failure_that_reaches_the_limit_is_answered_401_and_the_lock_starts_with_the_next_attempt()
 {
    // ServiceStack (RecordInvalidLoginAttempt) locks the account when the failure count reaches
    // MaxLoginAttempts, but that failing attempt is still answered "Invalid Username or
    // Password"; only the following attempts are refused as locked.
    let app = spawn_app_with_auth(HttpConfig::default(), quick_throttle()).await;
    seed(app.pool()).await;
    for attempt in 1..=3 {
        let l = login(&app, EMAIL, "wrong", false).await;
        assert_eq!(
            l.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {}",
            l.body
        );
        assert_eq!(l.body, invalid_credentials(), "attempt {attempt}");
    }
    let l = login(&app, EMAIL, PASSWORD, false).await;
    assert_eq!(
        l.status,
        StatusCode::TOO_MANY_REQUESTS,
        "attempt 4: {}",
        l.body
    );
}

#[tokio::test]
async fn concurrent_failed_logins_cannot_exceed_the_limit() {
    // An attacker who sends guesses in parallel must not get more password verifications per
    // lockout than the policy allows: at most `max_failures` of them may be answered 401.
    let app = spawn_app_with_auth(HttpConfig::default(), quick_throttle()).await;
    seed(app.pool()).await;
    let attempts = (0..20).map(|i| {
        let req = app
            .http
            .post(app.url("/auth/credentials"))
            .json(&json!({"userName": EMAIL, "password": format!("guess-{i}")}));
        async move { req.send().await.unwrap().status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let verified = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let locked = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(verified + locked, statuses.len(), "{statuses:?}");
    assert!(
        verified <= 3,
        "{verified} of 20 parallel guesses were verified with a limit of 3: {statuses:?}"
    );
}

#[tokio::test]
async fn a_failed_xml_login_answers_an_authenticate_response_with_its_response_status() {
    // ServiceStack's AuthenticateService throws inside the service, so the error body is the
    // operation's own response type (notes/servicestack-facts.md §0 and §4); in JSON that is
    // indistinguishable from an ErrorResponse, in DataContract XML the root element differs and
    // the .NET XmlServiceClient reads the ResponseStatus from an AuthenticateResponse.
    let (app, _) = seeded_app().await;
    let body = format!(
        r#"<Authenticate xmlns="http://schemas.servicestack.net/types"><provider>credentials</provider><UserName>{EMAIL}</UserName><Password>wrong</Password></Authenticate>"#
    );
    let (status, headers, body) = send(
        app.http
            .post(app.url("/auth/credentials"))
            .header("Content-Type", "application/xml")
            .body(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(content_type(&headers), XML);
    let want = concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        r#"<AuthenticateResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.servicestack.net/types">"#,
        r#"<UserId i:nil="true" /><SessionId i:nil="true" /><UserName i:nil="true" /><DisplayName i:nil="true" />"#,
        r#"<ReferrerUrl i:nil="true" /><BearerToken i:nil="true" /><RefreshToken i:nil="true" /><RefreshTokenExpiry i:nil="true" /><ProfileUrl i:nil="true" />"#,
        r#"<Roles xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" i:nil="true" />"#,
        r#"<Permissions xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" i:nil="true" />"#,
        r#"<AuthProvider i:nil="true" />"#,
        "<ResponseStatus><ErrorCode>Unauthorized</ErrorCode><Message>Invalid Username or Password</Message>",
        r#"<StackTrace i:nil="true" /><Errors /><Meta xmlns:d3p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" i:nil="true" /></ResponseStatus>"#,
        r#"<Meta xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" i:nil="true" />"#,
        "</AuthenticateResponse>"
    );
    assert_eq!(body, want);
}

#[tokio::test]
async fn a_get_login_with_the_password_in_the_url_is_refused() {
    let (app, _) = seeded_app().await;
    let (status, _, body) = send(app.http.get(app.url(&format!(
        "/auth/credentials?userName={EMAIL}&password={PASSWORD}"
    ))))
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(
        body,
        status_json(
            "NotImplementedException",
            "GET Authenticate requests are disabled; use POST"
        )
    );
    assert_eq!(
        count(app.pool(), "SELECT count(*) FROM auth_sessions").await,
        0
    );
}

// ---------------------------------------------------------------------------------------------
// API keys (through the CLI binary)
// ---------------------------------------------------------------------------------------------

/// Runs `voice-api ARGS` against the test database; returns stdout, failing on a non-zero exit.
fn cli(db_url: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_voice-api"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env_remove("RUST_LOG")
        .output()
        .expect("the voice-api binary runs");
    assert!(
        out.status.success(),
        "voice-api {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `apikey add`: the key (last stdout line) and its public id (from `apikey list`, by label).
fn add_api_key(db_url: &str, email: &str, label: &str) -> (String, String) {
    let out = cli(
        db_url,
        &["apikey", "add", "--email", email, "--name", label],
    );
    let key = out.lines().last().unwrap().trim().to_string();
    assert!(key.len() >= 32, "the key is the last line: {out:?}");
    let list = cli(db_url, &["apikey", "list"]);
    let line = list
        .lines()
        .find(|l| l.split('\t').nth(2) == Some(label))
        .unwrap_or_else(|| panic!("{label} in {list}"));
    let id = line.split('\t').next().unwrap().to_string();
    (key, id)
}

fn basic_header(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn an_api_key_from_the_cli_works_as_bearer_and_as_the_basic_user_name() {
    let (app, users) = seeded_app().await;
    let (key, _) = add_api_key(&app.db.url, EMAIL, "console");
    for (label, auth) in [
        ("bearer", format!("Bearer {key}")),
        ("basic user name", basic_header(&key, "")),
    ] {
        let before = stored_session(&app.base_url, SESSION_A).await;
        let patch = json!({"consoleData": format!("by {label}")});
        let (status, _, body) = send(
            app.http
                .patch(app.url(&format!("/sessions/{SESSION_A}")))
                .header("Authorization", &auth)
                .json(&patch),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{label}: {body}");
        assert_patched(&before, &parse(&body), &patch, &users.ada);
        let (status, _, body) = send(
            app.http
                .get(app.url("/auth/status"))
                .header("Authorization", &auth),
        )
        .await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, ada_user_info(&users.ada)),
            "{label}"
        );
    }
    // The key is bound to its user's accounts.
    let (status, _, _) = send(
        app.http
            .get(app.url(&format!("/sessions/{SESSION_B}")))
            .bearer_auth(&key),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A tampered key is refused.
    let mut tampered = key.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let (status, headers, body) = send(
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .bearer_auth(&tampered),
    )
    .await;
    assert_401(
        status,
        &headers,
        &body,
        &status_json("Unauthorized", "Invalid API Key"),
    );
}

#[tokio::test]
async fn apikey_list_shows_the_key_without_its_secret_and_only_a_hash_is_stored() {
    let (app, _) = seeded_app().await;
    let (key, id) = add_api_key(&app.db.url, EMAIL, "wallboard");
    let list = cli(&app.db.url, &["apikey", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields.len(), 5, "{list}");
    assert_eq!(&fields[..3], [id.as_str(), EMAIL, "wallboard"]);
    assert!(
        chrono::DateTime::parse_from_rfc3339(fields[3]).is_ok(),
        "{list}"
    );
    assert_eq!(fields[4], "active");
    assert_eq!(lines[1], "1 keys");
    let secret_parts: Vec<&str> = key
        .split('_')
        .filter(|p| p.len() >= 16 && *p != id)
        .collect();
    assert!(
        !secret_parts.is_empty(),
        "the key has a secret part besides its id: {key}"
    );
    for part in &secret_parts {
        assert!(!list.contains(part), "the list shows the secret: {list}");
    }
    // The database holds no part of the secret.
    let dump: String =
        sqlx::query_scalar("SELECT string_agg(row_to_json(k)::text, ' ') FROM api_keys k")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert!(!dump.contains(&key));
    for part in &secret_parts {
        assert!(!dump.contains(part), "api_keys stores the secret: {dump}");
    }
    assert!(dump.contains("$argon2id$"), "{dump}");

    cli(&app.db.url, &["apikey", "revoke", &id]);
    let list = cli(&app.db.url, &["apikey", "list"]);
    assert!(
        list.lines()
            .next()
            .unwrap()
            .split('\t')
            .nth(4)
            .unwrap()
            .starts_with("revoked "),
        "{list}"
    );
}

#[tokio::test]
async fn a_revoked_api_key_is_refused_at_once_even_though_the_server_cached_it() {
    let (app, _) = seeded_app().await;
    let (key, id) = add_api_key(&app.db.url, EMAIL, "to revoke");
    let get = |auth: String| {
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .header("Authorization", auth)
    };
    // Verified and cached, in both forms.
    for _ in 0..2 {
        assert_eq!(send(get(format!("Bearer {key}"))).await.0, StatusCode::OK);
        assert_eq!(send(get(basic_header(&key, ""))).await.0, StatusCode::OK);
    }
    let out = cli(&app.db.url, &["apikey", "revoke", &id]);
    assert_eq!(out.lines().last(), Some(format!("revoked {id}").as_str()));
    for auth in [format!("Bearer {key}"), basic_header(&key, "")] {
        let (status, headers, body) = send(get(auth)).await;
        assert_401(
            status,
            &headers,
            &body,
            &status_json("Unauthorized", "Invalid API Key"),
        );
    }
    let (status, headers, body) = send(
        app.http
            .patch(app.url(&format!("/sessions/{SESSION_A}")))
            .bearer_auth(&key)
            .json(&json!({"consoleData": "revoked"})),
    )
    .await;
    assert_401(
        status,
        &headers,
        &body,
        &status_json("Unauthorized", "Invalid API Key"),
    );
    assert_eq!(
        stored_session(&app.base_url, SESSION_A).await["consoleData"],
        "initial A"
    );
    // Revoking twice is an error.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_voice-api"))
        .args(["apikey", "revoke", &id])
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn a_password_change_invalidates_a_cached_basic_credential_at_once() {
    let (app, users) = seeded_app().await;
    let get = |password: &str| {
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .basic_auth(EMAIL, Some(password))
    };
    assert_eq!(send(get(PASSWORD)).await.0, StatusCode::OK);
    assert_eq!(send(get(PASSWORD)).await.0, StatusCode::OK, "now cached");

    let new_password = "N3w-Passw0rd-2026";
    let hash = voice_api::auth::hash_secret(new_password).unwrap();
    sqlx::query("UPDATE users SET password_hash = $1, auth_stamp = auth_stamp + 1 WHERE id = $2")
        .bind(&hash)
        .bind(&users.ada)
        .execute(app.pool())
        .await
        .unwrap();

    let (status, headers, body) = send(get(PASSWORD)).await;
    assert_401(status, &headers, &body, &invalid_credentials());
    let (status, headers, body) = send(
        app.http
            .patch(app.url(&format!("/sessions/{SESSION_A}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .json(&json!({"consoleData": "old password"})),
    )
    .await;
    assert_401(status, &headers, &body, &invalid_credentials());
    assert_eq!(send(get(new_password)).await.0, StatusCode::OK);
    assert_eq!(
        stored_session(&app.base_url, SESSION_A).await["consoleData"],
        "initial A"
    );
}

// ---------------------------------------------------------------------------------------------
// Authorization across accounts
// ---------------------------------------------------------------------------------------------

const FORBIDDEN_MESSAGE: &str = "You do not have access to the account of this session";

fn patch_xml(id: &str, console: &str) -> String {
    format!(
        r#"<PatchSession xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><ConsoleData>{console}</ConsoleData><SessionId>{id}</SessionId></PatchSession>"#
    )
}

fn forbidden_xml() -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?><ErrorResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.servicestack.net/types">"#,
            "<ResponseStatus><ErrorCode>Forbidden</ErrorCode><Message>{}</Message>",
            r#"<StackTrace i:nil="true" /><Errors /><Meta xmlns:d3p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" i:nil="true" /></ResponseStatus></ErrorResponse>"#
        ),
        FORBIDDEN_MESSAGE
    )
}

/// Every route that reads or patches a session, as (label, request, expects XML).
fn every_session_route(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    cookie: &str,
) -> Vec<(String, reqwest::RequestBuilder, bool)> {
    let body = json!({"sessionId": id, "consoleData": "intruder", "callState": "Hold"});
    let with = |r: reqwest::RequestBuilder| r.header("Cookie", cookie);
    vec![
        (
            "GET /sessions/{id}".into(),
            with(http.get(format!("{base}/sessions/{id}"))),
            false,
        ),
        (
            "PATCH /sessions/{id}".into(),
            with(http.patch(format!("{base}/sessions/{id}")).json(&body)),
            false,
        ),
        (
            "GET /sessions/{id} Accept xml".into(),
            with(
                http.get(format!("{base}/sessions/{id}"))
                    .header("Accept", "application/xml"),
            ),
            true,
        ),
        (
            "GET /api/GetSession".into(),
            with(http.get(format!("{base}/api/GetSession?sessionId={id}"))),
            false,
        ),
        (
            "PATCH /api/PatchSession".into(),
            with(http.patch(format!("{base}/api/PatchSession")).json(&body)),
            false,
        ),
        (
            "POST /api/PatchSession (override)".into(),
            with(
                http.post(format!("{base}/api/PatchSession"))
                    .header("X-Http-Method-Override", "PATCH")
                    .json(&body),
            ),
            false,
        ),
        (
            "GET /json/reply/GetSession".into(),
            with(http.get(format!("{base}/json/reply/GetSession?sessionId={id}"))),
            false,
        ),
        (
            "PATCH /json/reply/PatchSession".into(),
            with(
                http.patch(format!("{base}/json/reply/PatchSession"))
                    .json(&body),
            ),
            false,
        ),
        (
            "GET /xml/reply/GetSession".into(),
            with(http.get(format!("{base}/xml/reply/GetSession?sessionId={id}"))),
            true,
        ),
        (
            "PATCH /xml/reply/PatchSession".into(),
            with(
                http.patch(format!("{base}/xml/reply/PatchSession"))
                    .header("Content-Type", "application/xml")
                    .body(patch_xml(id, "intruder")),
            ),
            true,
        ),
    ]
}

#[tokio::test]
async fn a_manager_of_another_account_gets_403_on_every_route_and_nothing_changes() {
    let (app, _) = seeded_app().await;
    let l = login(&app, EMAIL, PASSWORD, true).await;
    let before = stored_session(&app.base_url, SESSION_B).await;
    let rows_before: String =
        sqlx::query_scalar("SELECT row_to_json(s)::text FROM sessions s WHERE id = $1")
            .bind(SESSION_B)
            .fetch_one(app.pool())
            .await
            .unwrap();
    for (label, req, xml) in
        every_session_route(&app.http, &app.base_url, SESSION_B, &l.cookie_header())
    {
        let (status, headers, body) = send(req).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{label}: {body}");
        if xml {
            assert_eq!(content_type(&headers), XML, "{label}");
            assert_eq!(body, forbidden_xml(), "{label}");
        } else {
            assert_eq!(content_type(&headers), JSON, "{label}");
            assert_eq!(body, status_json("Forbidden", FORBIDDEN_MESSAGE), "{label}");
        }
        assert!(headers.get("www-authenticate").is_none(), "{label}");
    }
    // The same with Basic credentials.
    let (status, _, body) = send(
        app.http
            .patch(app.url(&format!("/sessions/{SESSION_B}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .json(&json!({"consoleData": "intruder"})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            status_json("Forbidden", FORBIDDEN_MESSAGE)
        )
    );

    let rows_after: String =
        sqlx::query_scalar("SELECT row_to_json(s)::text FROM sessions s WHERE id = $1")
            .bind(SESSION_B)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(
        rows_after, rows_before,
        "the refused patches changed nothing"
    );
    assert_eq!(stored_session(&app.base_url, SESSION_B).await, before);

    // Its own account still works on the same routes.
    for (label, req, _) in
        every_session_route(&app.http, &app.base_url, SESSION_A, &l.cookie_header())
    {
        let (status, _, body) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{label} on its own account: {body}");
    }
}

#[tokio::test]
async fn a_system_administrator_acts_on_sessions_of_every_account() {
    let (app, users) = seeded_app().await;
    let l = login(&app, ADMIN_EMAIL, ADMIN_PASSWORD, false).await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.body);
    assert_eq!(
        l.json()["roles"],
        json!(["SystemAdministrator"]),
        "{}",
        l.body
    );
    for (label, req, _) in
        every_session_route(&app.http, &app.base_url, SESSION_B, &l.cookie_header())
    {
        let (status, _, body) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{label}: {body}");
    }
    let after = stored_session(&app.base_url, SESSION_B).await;
    assert_eq!(after["consoleData"], "intruder");
    assert_eq!(after["callState"], "Hold");
    assert_eq!(after["lastModifiedBy"], json!(users.admin));
    // Grace (account B) sees the administrator's change; Ada (account A) still may not.
    let (status, _, body) = send(
        app.http
            .get(app.url(&format!("/sessions/{SESSION_B}")))
            .basic_auth(OTHER_EMAIL, Some(OTHER_PASSWORD)),
    )
    .await;
    assert_eq!((status, parse(&body)), (StatusCode::OK, after));
    let _ = users.grace;
}

// ---------------------------------------------------------------------------------------------
// 401 bodies, CORS, session id strength
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_401_has_the_challenge_and_a_response_status_in_json_and_in_xml() {
    let (app, _) = seeded_app().await;
    let (status, headers, body) =
        send(app.http.get(app.url(&format!("/sessions/{SESSION_A}")))).await;
    assert_401(status, &headers, &body, &not_authenticated());

    let want_xml = concat!(
        r#"<?xml version="1.0" encoding="utf-8"?><ErrorResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.servicestack.net/types">"#,
        "<ResponseStatus><ErrorCode>Unauthorized</ErrorCode><Message>Not Authenticated</Message>",
        r#"<StackTrace i:nil="true" /><Errors /><Meta xmlns:d3p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" i:nil="true" /></ResponseStatus></ErrorResponse>"#
    );
    for req in [
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .header("Accept", "application/xml"),
        app.http
            .get(app.url(&format!("/xml/reply/GetSession?sessionId={SESSION_A}"))),
        app.http
            .patch(app.url(&format!("/sessions/{SESSION_A}")))
            .header("Content-Type", "application/xml")
            .header("Accept", "application/xml")
            .body(patch_xml(SESSION_A, "anonymous")),
    ] {
        let (status, headers, body) = send(req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(header(&headers, "www-authenticate"), Some(CHALLENGE));
        assert_eq!(content_type(&headers), XML);
        assert_eq!(body, want_xml);
    }
    // GET /auth without a session: ServiceStack's "Not Authenticated".
    let (status, headers, body) = send(app.http.get(app.url("/auth"))).await;
    assert_401(status, &headers, &body, &not_authenticated());
}

const ORIGIN: &str = "https://console.example.com";

async fn cors_app() -> TestApp {
    let app = spawn_app_with_auth(
        HttpConfig {
            cors_origins: vec![ORIGIN.to_string()],
            ..HttpConfig::default()
        },
        AuthConfig::default(),
    )
    .await;
    seed(app.pool()).await;
    app
}

fn preflight(app: &TestApp, origin: &str) -> reqwest::RequestBuilder {
    app.http
        .request(
            reqwest::Method::OPTIONS,
            app.url(&format!("/sessions/{SESSION_A}")),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "PATCH")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,x-ss-id",
        )
}

#[tokio::test]
async fn a_preflight_from_a_listed_origin_allows_the_origin_with_credentials() {
    let app = cors_app().await;
    let (status, headers, _) = send(preflight(&app, ORIGIN)).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some(ORIGIN)
    );
    assert_eq!(
        header(&headers, "access-control-allow-credentials"),
        Some("true")
    );
    let methods = header(&headers, "access-control-allow-methods")
        .unwrap_or("")
        .to_ascii_uppercase();
    assert!(methods.split(',').any(|m| m.trim() == "PATCH"), "{methods}");
    let allowed = header(&headers, "access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    for h in ["authorization", "content-type", "x-ss-id"] {
        assert!(
            allowed.split(',').any(|a| a.trim() == h),
            "{h} in {allowed}"
        );
    }
    // The actual request from that origin carries the same grant.
    let l = login(&app, EMAIL, PASSWORD, true).await;
    let (status, headers, _) = send(
        app.http
            .get(app.url(&format!("/sessions/{SESSION_A}")))
            .header("Origin", ORIGIN)
            .header("Cookie", l.cookie_header()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some(ORIGIN)
    );
    assert_eq!(
        header(&headers, "access-control-allow-credentials"),
        Some("true")
    );
}

#[tokio::test]
async fn a_preflight_from_an_unlisted_origin_gets_neither_allow_origin_nor_credentials() {
    let app = cors_app().await;
    for origin in [
        "https://evil.example.com",
        "https://console.example.com.evil.net",
        "null",
    ] {
        let (_, headers, _) = send(preflight(&app, origin)).await;
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{origin}"
        );
        assert!(
            headers.get("access-control-allow-credentials").is_none(),
            "{origin}"
        );
        let (_, headers, _) = send(
            app.http
                .get(app.url(&format!("/sessions/{SESSION_A}")))
                .header("Origin", origin)
                .basic_auth(EMAIL, Some(PASSWORD)),
        )
        .await;
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{origin}"
        );
        assert!(
            headers.get("access-control-allow-credentials").is_none(),
            "{origin}"
        );
    }
    // Without configured origins no CORS header is ever sent.
    let (app, _) = seeded_app().await;
    let (_, headers, _) = send(preflight(&app, ORIGIN)).await;
    assert!(headers.get("access-control-allow-origin").is_none());
    assert!(headers.get("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn session_ids_have_at_least_128_random_bits_differ_between_logins_and_are_stored_hashed() {
    let (app, _) = seeded_app().await;
    let mut seen = BTreeSet::new();
    for remember_me in [false, true, false, true] {
        let l = login(&app, EMAIL, PASSWORD, remember_me).await;
        for id in [
            l.cookie("ss-id").value.clone(),
            l.cookie("ss-pid").value.clone(),
        ] {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&id)
                .unwrap_or_else(|e| panic!("{id:?} is base64url: {e}"));
            assert!(bytes.len() >= 16, "{id:?} has {} bytes", bytes.len());
            assert!(seen.insert(id.clone()), "{id} was issued twice");
        }
        let live = l.live_id();
        let dump: String =
            sqlx::query_scalar("SELECT string_agg(row_to_json(a)::text, ' ') FROM auth_sessions a")
                .fetch_one(app.pool())
                .await
                .unwrap();
        assert!(
            !dump.contains(&live),
            "the session id is stored in clear: {dump}"
        );
    }
    assert_eq!(
        count(app.pool(), "SELECT count(*) FROM auth_sessions").await,
        4
    );
}

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

/// A `voice-api serve` process with RUST_LOG=debug, its output collected.
struct ServerProcess {
    child: tokio::process::Child,
    base_url: String,
    output: std::sync::Arc<std::sync::Mutex<String>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

async fn start_server_process(db_url: &str) -> ServerProcess {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_voice-api"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("voice-api serve starts");
    let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (addr_tx, mut addr_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut readers = Vec::new();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let streams: [Box<dyn tokio::io::AsyncRead + Unpin + Send>; 2] =
        [Box::new(stdout), Box::new(stderr)];
    for stream in streams {
        let output = output.clone();
        let addr_tx = addr_tx.clone();
        readers.push(tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(at) = line.find("listening on http://") {
                    let rest = &line[at + "listening on ".len()..];
                    let url = rest.split_whitespace().next().unwrap_or(rest);
                    let _ = addr_tx.send(url.to_string());
                }
                let mut out = output.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        }));
    }
    let base_url = tokio::time::timeout(Duration::from_secs(30), addr_rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no 'listening on' line:\n{}", output.lock().unwrap()))
        .expect("the server printed its address");
    ServerProcess {
        child,
        base_url,
        output,
        readers,
    }
}

impl ServerProcess {
    /// SIGTERM, wait for exit and for the output to be drained; returns everything it printed.
    async fn stop(mut self) -> String {
        let pid = self.child.id().expect("still running").to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("the server exits on SIGTERM")
            .unwrap();
        for r in self.readers.drain(..) {
            let _ = r.await;
        }
        let out = self.output.lock().unwrap().clone();
        assert!(status.success(), "the server exited with {status}:\n{out}");
        out
    }
}

#[tokio::test]
async fn the_logs_never_contain_a_password_api_key_session_id_or_basic_header() {
    let db = TestDb::new().await;
    seed(&db.pool).await;
    let (key, _) = add_api_key(&db.url, EMAIL, "log check");
    let server = start_server_process(&db.url).await;
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
    let logs = server.stop().await;
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
    let app = spawn_app_with_auth(HttpConfig::default(), auth).await;
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
