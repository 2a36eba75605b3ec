//! Authorization across accounts, 401 bodies, CORS, session id strength.

use super::*;

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

/// Every route that reads or patches session `id`, as (label, call, expects XML).
fn every_session_route(app: &TestApp, id: &str) -> Vec<(&'static str, Call, bool)> {
    let body = json!({"sessionId": id, "consoleData": "intruder", "callState": "Hold"});
    let get = format!("GetSession?sessionId={id}");
    vec![
        ("GET /sessions/{id}", app.get_session(id), false),
        ("PATCH /sessions/{id}", app.patch_session(id, &body), false),
        (
            "GET /sessions/{id} Accept xml",
            app.get_session_xml(id),
            true,
        ),
        ("GET /api/GetSession", app.api(Method::GET, &get), false),
        (
            "PATCH /api/PatchSession",
            app.api(Method::PATCH, "PatchSession").json(&body),
            false,
        ),
        (
            "POST /api/PatchSession (override)",
            app.api(Method::POST, "PatchSession")
                .header("X-Http-Method-Override", "PATCH")
                .json(&body),
            false,
        ),
        (
            "GET /json/reply/GetSession",
            app.json_reply(Method::GET, &get),
            false,
        ),
        (
            "PATCH /json/reply/PatchSession",
            app.json_reply(Method::PATCH, "PatchSession").json(&body),
            false,
        ),
        (
            "GET /xml/reply/GetSession",
            app.xml_reply(Method::GET, &get),
            true,
        ),
        (
            "PATCH /xml/reply/PatchSession",
            app.xml_reply(Method::PATCH, "PatchSession")
                .body(XML, patch_xml(id, "intruder")),
            true,
        ),
    ]
}

/// The stored row of session `id`, every column, as text.
async fn row(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT row_to_json(s)::text FROM sessions s WHERE id = $1")
        .bind(id)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_of_another_account_whatever_its_role_gets_403_on_every_route_and_nothing_changes() {
    let (app, _) = seeded_app().await;
    let l = app.login(&ADA, true).await;
    let before = stored(app.pool(), FOREIGN_SESSION).await;
    let rows_before = row(&app, FOREIGN_SESSION).await;
    for (label, call, xml) in every_session_route(&app, FOREIGN_SESSION) {
        let res = call.with_login(&l).await;
        assert_eq!(res.status, 403, "{label}: {}", res.text);
        if xml {
            assert_eq!(res.content_type(), XML, "{label}");
            assert_eq!(res.text, forbidden_xml(), "{label}");
        } else {
            assert_eq!(res.content_type(), JSON_UTF8, "{label}");
            assert_eq!(
                res.text,
                status_json("Forbidden", FORBIDDEN_MESSAGE),
                "{label}"
            );
        }
        assert!(res.header("www-authenticate").is_none(), "{label}");
    }
    // The same with Basic credentials.
    let res = app
        .patch_session(FOREIGN_SESSION, &json!({"consoleData": "intruder"}))
        .signed_in_as(&ADA)
        .await;
    assert_eq!(
        (res.status, res.text),
        (403, status_json("Forbidden", FORBIDDEN_MESSAGE))
    );

    // A User of another account is refused the same way, PATCH and GET with Basic, and the
    // refused patch changes nothing. (Merged from the sessions tests'
    // `a_session_in_another_account_is_403_for_patch_and_get`,
    // `a_manager_of_another_account_is_refused_like_any_other_user` and
    // `a_forbidden_patch_changes_nothing`.)
    let forbidden = Reply::error(403, "Forbidden", FORBIDDEN_MESSAGE, json!([]));
    let before_a = stored(app.pool(), SESSION).await;
    let body = json!({"consoleData": "must not land", "callState": "Connected"});
    let patched = app.patch_session(SESSION, &body).signed_in_as(&GRACE).await;
    assert_eq!(patched.reply(), forbidden);
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&GRACE).await.reply(),
        forbidden
    );
    assert_eq!(stored(app.pool(), SESSION).await, before_a);

    assert_eq!(
        row(&app, FOREIGN_SESSION).await,
        rows_before,
        "the refused patches changed nothing"
    );
    assert_eq!(stored(app.pool(), FOREIGN_SESSION).await, before);

    // Its own account still works on the same routes.
    for (label, call, _) in every_session_route(&app, SESSION) {
        let res = call.with_login(&l).await;
        assert_eq!(res.status, 200, "{label} on its own account: {}", res.text);
    }
}

#[tokio::test]
async fn a_system_administrator_acts_on_sessions_of_every_account() {
    let (app, users) = seeded_app().await;
    let l = app.try_login(ADMIN.email, ADMIN.password, false).await;
    assert_eq!(l.status(), 200, "{}", l.body());
    assert_eq!(
        l.json()["roles"],
        json!(["SystemAdministrator"]),
        "{}",
        l.body()
    );
    for (label, call, _) in every_session_route(&app, FOREIGN_SESSION) {
        let res = call.with_login(&l).await;
        assert_eq!(res.status, 200, "{label}: {}", res.text);
    }
    let after = stored(app.pool(), FOREIGN_SESSION).await;
    assert_eq!(after["consoleData"], "intruder");
    assert_eq!(after["callState"], "Hold");
    assert_eq!(after["lastModifiedBy"], json!(users.admin));
    // Grace (account B) sees the administrator's change; Ada (account A) still may not.
    let res = app.get_session(FOREIGN_SESSION).signed_in_as(&GRACE).await;
    assert_eq!((res.status, res.json()), (200, after));
    // With Basic credentials too: PATCH answers the whole patched session, GET the same.
    // (Merged from `a_system_administrator_of_another_account_may_patch_and_get_any_session`.)
    let before = stored(app.pool(), FOREIGN_SESSION).await;
    let change = json!({"consoleData": "by admin"});
    let res = app
        .patch_session(FOREIGN_SESSION, &change)
        .signed_in_as(&ADMIN)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.json(),
        patched(&before, &change, &users.admin, &res.json())
    );
    assert_eq!(
        app.get_session(FOREIGN_SESSION)
            .signed_in_as(&ADMIN)
            .await
            .reply(),
        Reply::ok(res.json())
    );
}

// ---------------------------------------------------------------------------------------------
// 401 bodies, CORS, session id strength
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_credentials_is_401_with_the_challenge_and_a_response_status_in_json_and_in_xml()
 {
    let (app, _) = seeded_app().await;
    app.get_session(SESSION)
        .await
        .assert_401(&not_authenticated());

    let want_xml = concat!(
        r#"<?xml version="1.0" encoding="utf-8"?><ErrorResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.servicestack.net/types">"#,
        "<ResponseStatus><ErrorCode>Unauthorized</ErrorCode><Message>Not Authenticated</Message>",
        r#"<StackTrace i:nil="true" /><Errors /><Meta xmlns:d3p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" i:nil="true" /></ResponseStatus></ErrorResponse>"#
    );
    for call in [
        app.get_session_xml(SESSION),
        app.xml_reply(Method::GET, &format!("GetSession?sessionId={SESSION}")),
        app.patch_session_xml(SESSION, patch_xml(SESSION, "anonymous"))
            .accept(XML),
    ] {
        let res = call.await;
        assert_eq!(res.status, 401, "{}", res.text);
        assert_eq!(res.header("www-authenticate"), Some(CHALLENGE));
        assert_eq!(res.content_type(), XML);
        assert_eq!(res.text, want_xml);
    }
    // GET /auth without a session: ServiceStack's "Not Authenticated".
    app.get("/auth").await.assert_401(&not_authenticated());
    // PATCH and GET, on the custom and a predefined route: the same 401, and nothing changes.
    // (Merged from `a_request_without_credentials_is_401_with_a_basic_challenge`.)
    for res in [
        app.patch_session(SESSION, &json!({"consoleData": "x"}))
            .await,
        app.get_session(SESSION).await,
        app.api(Method::PATCH, "PatchSession")
            .json(&json!({"sessionId": SESSION, "consoleData": "x"}))
            .await,
    ] {
        assert_eq!(res.reply(), Reply::unauthorized("Not Authenticated"));
    }
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
}

const ORIGIN: &str = "https://console.example.com";

async fn cors_app() -> TestApp {
    let app = TestApp::builder().cors_origins(&[ORIGIN]).spawn().await;
    seed(app.pool()).await;
    app
}

/// A browser's preflight for a credentialed PATCH of SESSION from `origin`.
fn preflight(app: &TestApp, origin: &str) -> Call {
    app.request(Method::OPTIONS, &format!("/sessions/{SESSION}"))
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
    let res = preflight(&app, ORIGIN).await;
    assert!((200..300).contains(&res.status), "{}", res.status);
    assert_eq!(res.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    let methods = res
        .header("access-control-allow-methods")
        .unwrap_or("")
        .to_ascii_uppercase();
    assert!(methods.split(',').any(|m| m.trim() == "PATCH"), "{methods}");
    let allowed = res
        .header("access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    for h in ["authorization", "content-type", "x-ss-id"] {
        assert!(
            allowed.split(',').any(|a| a.trim() == h),
            "{h} in {allowed}"
        );
    }
    // The actual request from that origin carries the same grant.
    let l = app.login(&ADA, true).await;
    let res = app
        .get_session(SESSION)
        .header("Origin", ORIGIN)
        .with_login(&l)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
}

#[tokio::test]
async fn a_preflight_from_an_unlisted_origin_gets_neither_allow_origin_nor_credentials() {
    let app = cors_app().await;
    for origin in [
        "https://evil.example.com",
        "https://console.example.com.evil.net",
        "null",
    ] {
        let res = preflight(&app, origin).await;
        assert!(
            res.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
        assert!(
            res.header("access-control-allow-credentials").is_none(),
            "{origin}"
        );
        let res = app
            .get_session(SESSION)
            .header("Origin", origin)
            .signed_in_as(&ADA)
            .await;
        assert!(
            res.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
        assert!(
            res.header("access-control-allow-credentials").is_none(),
            "{origin}"
        );
    }
    // Without configured origins no CORS header is ever sent.
    let (app, _) = seeded_app().await;
    let res = preflight(&app, ORIGIN).await;
    assert!(res.header("access-control-allow-origin").is_none());
    assert!(res.header("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn session_ids_have_at_least_128_random_bits_differ_between_logins_and_are_stored_hashed() {
    let (app, _) = seeded_app().await;
    let mut seen = BTreeSet::new();
    for remember_me in [false, true, false, true] {
        let l = app.login(&ADA, remember_me).await;
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
