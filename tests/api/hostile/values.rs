//! Quotes, SQL, NUL and unicode in values and ids.

use super::*;
use crate::helpers::internals::read_session_info_xml;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Quotes, SQL, NUL, unicode
// ---------------------------------------------------------------------------------------------

const NASTY_VALUES: &[&str] = &[
    "'; DROP TABLE sessions; --",
    "\"; DROP TABLE sessions; --",
    "' OR '1'='1",
    "1; SELECT pg_sleep(10); --",
    "$1 $2 %s %d {0} ${x}",
    "\\'\\\"\\\\",
    "</ConsoleData><CallState>Hold</CallState><ConsoleData>",
    "<![CDATA[x]]> &amp; &lt; &#x41;",
    "\"},\"callState\":\"Hold\",\"x\":{\"",
    "😀 \u{202E}RTL\u{202C} zero\u{200B}width \u{FEFF}BOM",
    "line1\nline2\r\nline3\rtab\t",
    "\u{7F}\u{80}\u{9F}\u{FFFD}\u{10FFFF}",
    "日本語 ключ Ærø",
    "",
    " ",
];

#[tokio::test]
async fn values_with_quotes_sql_and_unicode_round_trip_through_json_and_xml() {
    let app = world().await;
    for value in NASTY_VALUES {
        let a = app
            .patch_session_text(SESSION, json!({"consoleData": value}).to_string())
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(a.status, 200, "{value:?}: {}", a.text);
        assert_eq!(a.json()["consoleData"], *value, "{value:?}");
        assert_eq!(a.json()["callState"], "Ringing", "{value:?}: injected");
        assert_eq!(stored(app.pool(), SESSION).await["consoleData"], *value);
        // The XML answer escapes it so that it reads back the same.
        let a = app
            .request(Method::GET, &format!("/sessions/{SESSION}.xml"))
            .raw_body("")
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(a.status, 200);
        let back = read_session_info_xml(a.text.as_bytes())
            .unwrap_or_else(|e| panic!("{value:?}: {e}: {}", a.text));
        assert_eq!(back["consoleData"], *value);
        assert_eq!(back["callState"], "Ringing");
    }
    // Through the form binder as well.
    for value in NASTY_VALUES.iter().filter(|v| !v.is_empty()) {
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("consoleData", value)
            .finish();
        let a = app
            .request(Method::PATCH, &format!("/sessions/{SESSION}"))
            .body(FORM, form)
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(a.status, 200, "{value:?}: {}", a.text);
        assert_eq!(stored(app.pool(), SESSION).await["consoleData"], *value);
    }
    assert_intact(&app, 1).await;
}

#[tokio::test]
async fn nul_bytes_are_refused_cleanly_in_every_input() {
    let open = patch_session_open();
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    // In JSON beside a valid field: a binding error naming the field, like an unknown enum
    // name, and the valid field is not applied either. (Merged from the former
    // `a_console_data_with_a_nul_character_is_refused_with_400_and_changes_nothing`.)
    let reply = app
        .patch_session(
            SESSION,
            &json!({"consoleData": "before\u{0}after", "callState": "Connected"}),
        )
        .signed_in_as(&AGENT)
        .await
        .reply();
    let message = reply.body["responseStatus"]["errors"][0]["message"].clone();
    let errors = json!([{"errorCode": "SerializationException", "fieldName": "consoleData", "message": message}]);
    assert_eq!(
        reply,
        Reply::error(
            400,
            "SerializationException",
            "Unable to bind to request 'PatchSession'",
            errors
        )
    );
    let cases: Vec<(&str, String, Option<&str>, String)> = vec![
        (
            "json",
            path.clone(),
            Some("application/json"),
            r#"{"consoleData":"a\u0000"}"#.into(),
        ),
        (
            "xml",
            path.clone(),
            Some("application/xml"),
            format!("{open}<ConsoleData>&#0;</ConsoleData></PatchSession>"),
        ),
        ("form", path.clone(), Some(FORM), "consoleData=a%00b".into()),
        (
            "query",
            format!("{path}?consoleData=a%00b"),
            None,
            String::new(),
        ),
        ("path id", "/sessions/a%00b".into(), None, String::new()),
        (
            "enum",
            path.clone(),
            Some("application/json"),
            r#"{"callState":"Hold\u0000"}"#.into(),
        ),
    ];
    for (what, path, ct, body) in cases {
        let a = app
            .request(Method::PATCH, &path)
            .body_as(ct, body)
            .signed_in_as(&AGENT)
            .await;
        assert_refused(&a, 400, what);
    }
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
    assert_eq!(stored(app.pool(), SESSION).await["callState"], "Ringing");
    assert_intact(&app, 1).await;
}

/// A NUL where the server looks something up by it (a Basic user name, a subscription id) is
/// no such thing, not a database error leaking PostgreSQL's message as a 400.
#[tokio::test]
async fn a_nul_in_a_credential_or_a_subscription_id_finds_nothing() {
    use base64::Engine;
    let app = world().await;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for user in [format!("{}\0", AGENT.email), "\0\n\0".into()] {
        let basic = format!("Basic {}", b64(&format!("{user}:{}", AGENT.password)));
        let res = app.get_session(SESSION).authorization(&basic).await;
        res.assert_401(&status_json(
            "Unauthorized",
            "Invalid BasicAuth Credentials",
        ));
    }
    // A channel name that is not UTF-8 is refused, not subscribed to with U+FFFD in it.
    let res = app
        .get("/event-stream?channels=a%FF")
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert_eq!(res.error_code(), "SerializationException");
    for path in ["/event-heartbeat?id=%00", "/event-unregister?id=a%00b"] {
        let res = app.post(path).signed_in_as(&AGENT).await;
        assert_eq!(res.status, 404, "{path}: {}", res.text);
        assert_eq!(res.error_code(), "NotFound", "{path}");
    }
    assert_intact(&app, 1).await;
}

#[tokio::test]
async fn ids_with_quotes_sql_and_unicode_address_exactly_their_session() {
    let app = world().await;
    let ids = [
        "'; DROP TABLE sessions; --",
        "quote\"d'id",
        "back\\slash",
        "sp ace",
        "セッション-😀",
        "a/b",
        "percent%41",
        "semi;colon&amp=",
        "%",
        "+plus+",
    ];
    import(
        app.pool(),
        &ids.iter()
            .map(|id| simple_session(id, ACCOUNT))
            .collect::<Vec<_>>(),
    )
    .await;
    for id in ids {
        let value = format!("for {id}");
        let a = app
            .patch_session_text(&encode(id), json!({"consoleData": value}).to_string())
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(a.status, 200, "{id:?}: {}", a.text);
        assert_eq!(a.json()["id"], id);
        assert_eq!(stored(app.pool(), id).await["consoleData"], value.as_str());
        let a = app
            .request(Method::GET, &format!("/sessions/{}", encode(id)))
            .raw_body("")
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(a.status, 200, "{id:?}: {}", a.text);
        assert_eq!(a.json()["consoleData"], value.as_str());
    }
    // Ids that look like SQL but match nothing are a plain 404.
    for id in ["' OR '1'='1", "x' OR 1=1 --", "*", "%25", "_"] {
        let a = app
            .patch_session_text(&encode(id), r#"{"consoleData":"x"}"#)
            .signed_in_as(&AGENT)
            .await;
        assert_refused(&a, 404, id);
    }
    // No other session was touched.
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
    assert_intact(&app, 1 + ids.len() as i64).await;
}

/// Text XML 1.0 cannot carry (C0 controls but tab, LF and CR; U+FFFE; U+FFFF) could be stored
/// from JSON and then never read back by an XML client: it is refused in every input format
/// with a 400 naming the member, nothing changes, and no error body carries it raw.
#[tokio::test]
async fn text_xml_cannot_carry_is_refused_in_every_input_naming_the_member() {
    let open = patch_session_open();
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    let cases: Vec<(&str, String, Option<&str>, String, &str)> = vec![
        (
            "json U+0001",
            path.clone(),
            Some("application/json"),
            r#"{"consoleData":"\u0001x"}"#.into(),
            "consoleData",
        ),
        (
            "json U+FFFE",
            path.clone(),
            Some("application/json"),
            r#"{"consoleData":"a\uFFFEb"}"#.into(),
            "consoleData",
        ),
        (
            "json U+001F",
            path.clone(),
            Some("application/json"),
            r#"{"consoleData":"\u001F"}"#.into(),
            "consoleData",
        ),
        (
            "xml reference",
            path.clone(),
            Some("application/xml"),
            format!("{open}<ConsoleData>&#x1;</ConsoleData></PatchSession>"),
            "consoleData",
        ),
        (
            "form",
            path.clone(),
            Some(FORM),
            "consoleData=a%01b".into(),
            "consoleData",
        ),
        (
            "query",
            format!("{path}?consoleData=a%0Bb"),
            None,
            String::new(),
            "consoleData",
        ),
        (
            "path id",
            "/sessions/a%01b".into(),
            None,
            String::new(),
            "sessionId",
        ),
    ];
    for (what, path, ct, body, member) in cases {
        let a = app
            .request(Method::PATCH, &path)
            .body_as(ct, body)
            .signed_in_as(&AGENT)
            .await;
        assert_refused(&a, 400, what);
        // The XML request is answered in XML, the others in JSON: the same ResponseError.
        let field = format!("<FieldName>{member}</FieldName>");
        let json_field = format!("\"fieldName\":\"{member}\"");
        assert!(
            a.text.contains(&field) || a.text.contains(&json_field),
            "{what}: {}",
            a.text
        );
        assert!(
            a.text.contains("XML 1.0 cannot carry"),
            "{what}: {}",
            a.text
        );
    }
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
    assert_intact(&app, 1).await;

    // Error bodies that quote such input stay well-formed XML: the answer of a GET of an id
    // with U+0001, and of an enum name with one, read back with the server's own reader.
    for path in [
        "/sessions/a%01b.xml".to_string(),
        format!("/sessions/{SESSION}.xml?callState=Hold%01"),
    ] {
        let method = if path.contains('?') {
            Method::PATCH
        } else {
            Method::GET
        };
        let a = app
            .request(method, &path)
            .raw_body("")
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(a.status, 400, "{path}: {}", a.text);
        assert!(
            a.text
                .chars()
                .all(|c| !c.is_control() || "\t\n\r".contains(c)),
            "{path}: {:?}",
            a.text
        );
        assert!(!a.text.contains("&#x1;"), "{path}: {}", a.text);
        crate::helpers::internals::read_error_response_xml(a.text.as_bytes())
            .unwrap_or_else(|e| panic!("{path}: {e}: {}", a.text));
    }
}
