//! Credentials login on every route and format, and its cookies.

use super::*;

// ---------------------------------------------------------------------------------------------
// Login: routes, formats, cookies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn credentials_login_on_every_json_route_answers_the_whole_authenticate_response() {
    let (app, users) = seeded_app().await;
    let (email, password) = (ADA.email, ADA.password);
    let routes: [(&str, Value); 4] = [
        (
            "/auth/credentials",
            json!({"userName": email, "password": password}),
        ),
        (
            "/auth",
            json!({"provider": "credentials", "userName": email, "password": password}),
        ),
        (
            "/api/Authenticate",
            json!({"provider": "credentials", "userName": email, "password": password, "rememberMe": false}),
        ),
        (
            "/json/reply/Authenticate",
            json!({"provider": "credentials", "userName": email, "password": password}),
        ),
    ];
    for (route, body) in routes {
        let l = app.authenticate(route).json(&body).login().await;
        assert_eq!(l.status(), 200, "{route}: {}", l.body());
        assert_eq!(l.response.content_type(), JSON_UTF8, "{route}");
        let sid = l.json()["sessionId"].as_str().unwrap().to_string();
        assert!(is_session_id(&sid), "{route}: session id {sid:?}");
        assert_eq!(l.cookie("ss-opt").value, "temp", "{route}");
        assert_eq!(
            l.cookie("ss-id").value,
            sid,
            "{route}: ss-id is the session"
        );
        assert_eq!(
            l.body(),
            ada_authenticate_response(&users.ada, &sid),
            "{route}"
        );
    }
}

#[tokio::test]
async fn login_cookies_are_httponly_lax_root_path_and_only_ss_id_is_a_browser_session_cookie() {
    let (app, _) = seeded_app().await;
    let l = app.login(&ADA, false).await;
    assert_eq!(l.status(), 200);
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

    let l = app.login(&ADA, true).await;
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
        let l = app
            .authenticate("/auth/credentials")
            .header("X-Forwarded-Proto", "https")
            .json(&json!({"userName": ADA.email, "password": ADA.password, "rememberMe": remember_me}))
            .login()
            .await;
        assert_eq!(l.status(), 200);
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
    let l = app.login(&ADA, true).await;
    assert!(l.cookies.iter().all(|c| !c.attrs.contains("secure")));
}

#[tokio::test]
async fn xml_login_in_the_servicestack_namespace_answers_an_xml_authenticate_response() {
    let (app, users) = seeded_app().await;
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><Authenticate xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.servicestack.net/types"><provider>credentials</provider><UserName>{}</UserName><Password>{}</Password><RememberMe>true</RememberMe></Authenticate>"#,
        ADA.email, ADA.password
    );
    for route in ["/auth/credentials", "/auth", "/xml/reply/Authenticate"] {
        let l = app
            .authenticate(route)
            .body(XML, body.clone())
            .login()
            .await;
        assert_eq!(l.status(), 200, "{route}: {}", l.body());
        assert_eq!(l.response.content_type(), XML, "{route}");
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
            email = ADA.email,
            name = ADA.name.unwrap()
        );
        assert_eq!(l.body(), want, "{route}");
    }
}

#[tokio::test]
async fn form_login_answers_json_and_sets_the_cookies() {
    let (app, users) = seeded_app().await;
    let (email, password) = (ADA.email, ADA.password);
    for (route, form) in [
        (
            "/auth/credentials",
            vec![
                ("userName", email),
                ("password", password),
                ("rememberMe", "true"),
            ],
        ),
        (
            "/auth",
            vec![
                ("provider", "credentials"),
                ("userName", email),
                ("password", password),
                ("rememberMe", "true"),
            ],
        ),
        (
            "/api/Authenticate",
            vec![
                ("provider", "credentials"),
                ("userName", email),
                ("password", password),
                ("rememberMe", "true"),
            ],
        ),
    ] {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let l = app.authenticate(route).body(FORM, body).login().await;
        assert_eq!(l.status(), 200, "{route}: {}", l.body());
        assert_eq!(l.response.content_type(), JSON_UTF8, "{route}");
        assert_eq!(l.cookie("ss-opt").value, "perm", "{route}");
        let sid = l.cookie("ss-pid").value.clone();
        assert_eq!(
            l.body(),
            ada_authenticate_response(&users.ada, &sid),
            "{route}"
        );
    }
}

#[tokio::test]
async fn remember_me_puts_the_live_id_in_ss_pid_and_ss_id_is_no_session() {
    let (app, users) = seeded_app().await;
    let l = app.login(&ADA, true).await;
    assert_eq!(l.cookie("ss-opt").value, "perm");
    let sid = l.cookie("ss-pid").value.clone();
    assert_eq!(l.body(), ada_authenticate_response(&users.ada, &sid));
    let decoy = l.cookie("ss-id").value.clone();
    assert!(
        is_session_id(&decoy) && decoy != sid,
        "ss-id is a fresh id, not the session"
    );

    let res = app.get_session(SESSION).with_login(&l).await;
    assert_eq!(res.status, 200, "{}", res.text);
    // The ss-id of a remembered login is not a session.
    app.get_session(SESSION)
        .cookie(&format!("ss-id={decoy}; ss-opt=temp"))
        .await
        .assert_401(&not_authenticated());
    // Without ss-opt=perm the server reads ss-id, which is no session.
    app.get_session(SESSION)
        .cookie(&format!("ss-id={decoy}; ss-pid={sid}"))
        .await
        .assert_401(&not_authenticated());
}

#[tokio::test]
async fn without_remember_me_the_live_id_is_ss_id_and_ss_pid_is_no_session() {
    let (app, users) = seeded_app().await;
    let l = app.login(&ADA, false).await;
    assert_eq!(l.cookie("ss-opt").value, "temp");
    let sid = l.cookie("ss-id").value.clone();
    assert_eq!(l.body(), ada_authenticate_response(&users.ada, &sid));
    let decoy = l.cookie("ss-pid").value.clone();
    assert!(is_session_id(&decoy) && decoy != sid);

    let res = app.get_session(SESSION).with_login(&l).await;
    assert_eq!(res.status, 200, "{}", res.text);
    app.get_session(SESSION)
        .cookie(&format!("ss-pid={decoy}; ss-opt=perm"))
        .await
        .assert_401(&not_authenticated());
}

#[tokio::test]
async fn a_patch_with_the_login_cookies_only_patches_the_session() {
    let (app, users) = seeded_app().await;
    let before = stored(app.pool(), SESSION).await;
    for remember_me in [false, true] {
        let l = app.login(&ADA, remember_me).await;
        let before = stored(app.pool(), SESSION).await;
        let patch =
            json!({"consoleData": format!("cookie patch {remember_me}"), "callState": "Hold"});
        let res = app.patch_session(SESSION, &patch).with_login(&l).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.content_type(), JSON_UTF8);
        assert!(res.header("set-cookie").is_none(), "a patch sets no cookie");
        assert_eq!(
            res.json(),
            patched(&before, &patch, &users.ada, &res.json())
        );
        assert_eq!(res.json(), stored(app.pool(), SESSION).await);
    }
    assert_ne!(before, stored(app.pool(), SESSION).await);
}

#[tokio::test]
async fn x_ss_headers_work_instead_of_cookies() {
    let (app, users) = seeded_app().await;
    let temp = app.login(&ADA, false).await;
    let perm = app.login(&ADA, true).await;
    let cases: [(&str, Vec<(&str, String)>); 2] = [
        ("X-ss-id", vec![("X-ss-id", temp.live_id())]),
        (
            "X-ss-pid + X-ss-opt: perm",
            vec![("X-ss-pid", perm.live_id()), ("X-ss-opt", "perm".into())],
        ),
    ];
    let with_headers = |mut call: Call, hdrs: &[(&str, String)]| {
        for (k, v) in hdrs {
            call = call.header(k, v);
        }
        call
    };
    for (label, hdrs) in cases {
        let before = stored(app.pool(), SESSION).await;
        let patch = json!({"consoleData": format!("via {label}")});
        let res = with_headers(app.patch_session(SESSION, &patch), &hdrs).await;
        assert_eq!(res.status, 200, "{label}: {}", res.text);
        assert_eq!(
            res.json(),
            patched(&before, &patch, &users.ada, &res.json())
        );

        let got = with_headers(
            app.api(Method::GET, &format!("GetSession?sessionId={SESSION}")),
            &hdrs,
        )
        .await;
        assert_eq!(got.status, 200, "{label}");
        assert_eq!(got.json(), res.json(), "{label}");
    }
    // A header wins over a cookie: a valid X-ss-id with a bogus ss-id cookie is accepted.
    let res = app
        .get_session(SESSION)
        .header("X-ss-id", &temp.live_id())
        .cookie("ss-id=bogus")
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}
