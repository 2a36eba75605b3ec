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
async fn a_user_of_another_account_whatever_its_role_gets_403_on_every_route_and_nothing_changes() {
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

    // A User of another account is refused the same way, PATCH and GET with Basic, and the
    // refused patch changes nothing. (Merged from the sessions tests'
    // `a_session_in_another_account_is_403_for_patch_and_get`,
    // `a_manager_of_another_account_is_refused_like_any_other_user` and
    // `a_forbidden_patch_changes_nothing`.)
    let forbidden = Reply::error(403, "Forbidden", FORBIDDEN_MESSAGE, json!([]));
    let before_a = stored_session(&app.base_url, SESSION_A).await;
    let body = json!({"consoleData": "must not land", "callState": "Connected"});
    let patched = app
        .patch_session(SESSION_A, &body)
        .signed_in_as(&GRACE)
        .await;
    assert_eq!(patched.reply(), forbidden);
    assert_eq!(
        app.get_session(SESSION_A)
            .signed_in_as(&GRACE)
            .await
            .reply(),
        forbidden
    );
    assert_eq!(stored_session(&app.base_url, SESSION_A).await, before_a);

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
    // With Basic credentials too: PATCH answers the whole patched session, GET the same.
    // (Merged from `a_system_administrator_of_another_account_may_patch_and_get_any_session`.)
    let before = stored_session(&app.base_url, SESSION_B).await;
    let change = json!({"consoleData": "by admin"});
    let res = app
        .patch_session(SESSION_B, &change)
        .signed_in_as(&ADMIN)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_patched(&before, &res.json(), &change, &users.admin);
    assert_eq!(
        app.get_session(SESSION_B)
            .signed_in_as(&ADMIN)
            .await
            .reply(),
        Reply::ok(res.json())
    );
    let _ = users.grace;
}

// ---------------------------------------------------------------------------------------------
// 401 bodies, CORS, session id strength
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_credentials_is_401_with_the_challenge_and_a_response_status_in_json_and_in_xml()
 {
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
    // PATCH and GET, on the custom and a predefined route: the same 401, and nothing changes.
    // (Merged from `a_request_without_credentials_is_401_with_a_basic_challenge`.)
    for res in [
        app.patch_session(SESSION_A, &json!({"consoleData": "x"}))
            .await,
        app.get_session(SESSION_A).await,
        app.patch("/api/PatchSession")
            .json(&json!({"sessionId": SESSION_A, "consoleData": "x"}))
            .await,
    ] {
        assert_eq!(res.reply(), Reply::unauthorized("Not Authenticated"));
    }
    assert_eq!(stored(app.pool(), SESSION_A).await["consoleData"], ORIG);
}

const ORIGIN: &str = "https://console.example.com";

async fn cors_app() -> TestApp {
    let app = TestApp::builder().cors_origins(&[ORIGIN]).spawn().await;
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
