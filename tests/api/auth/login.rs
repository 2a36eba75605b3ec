//! Credentials login on every route and format, and its cookies.

use super::*;

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
                r#"<ResponseStatus i:nil="true" />"#,
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
