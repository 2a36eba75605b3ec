//! Hostile JSON.

use super::*;

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn hostile_json_is_400() {
    let app = world().await;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "deep objects in a field",
            format!(
                "{{\"consoleData\":{}1{}}}",
                "{\"a\":".repeat(10_000),
                "}".repeat(10_000)
            )
            .into_bytes(),
        ),
        ("deep arrays at the top", "[".repeat(500_000).into_bytes()),
        ("-1e400 enum", br#"{"callState":-1e400}"#.to_vec()),
        (
            "u64 overflow enum",
            br#"{"callState":18446744073709551616}"#.to_vec(),
        ),
        (
            "duplicate key",
            br#"{"consoleData":"a","consoleData":"b"}"#.to_vec(),
        ),
        (
            "duplicate key in another case",
            br#"{"consoleData":"a","CONSOLEDATA":"b"}"#.to_vec(),
        ),
        ("trailing garbage", br#"{"consoleData":"a"} x"#.to_vec()),
        (
            "two documents",
            br#"{"consoleData":"a"}{"consoleData":"b"}"#.to_vec(),
        ),
        ("lone surrogate", br#"{"consoleData":"\ud800"}"#.to_vec()),
        ("NUL escape", br#"{"consoleData":"a\u0000b"}"#.to_vec()),
        (
            "raw control character",
            b"{\"consoleData\":\"a\x01b\"}".to_vec(),
        ),
        ("not an object", br#"["consoleData","a"]"#.to_vec()),
        ("a string", br#""consoleData""#.to_vec()),
        ("unterminated", br#"{"consoleData":"a"#.to_vec()),
        ("array value", br#"{"consoleData":["a"]}"#.to_vec()),
        ("NaN", br#"{"consoleData":NaN}"#.to_vec()),
        ("single quotes", br#"{'consoleData':'a'}"#.to_vec()),
        ("comment", br#"{"consoleData":"a" /* x */}"#.to_vec()),
    ];
    let mut invalid_utf8 = br#"{"consoleData":""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xFF, 0xC0, 0xAF, 0xED, 0xA0, 0x80]);
    invalid_utf8.extend_from_slice(br#""}"#);
    cases.push(("invalid UTF-8 in a string", invalid_utf8));
    cases.push(("invalid UTF-8 in a key", b"{\"\xFF\":1}".to_vec()));
    let count = cases.len();
    for (what, body) in cases {
        let a = app
            .patch_session_text(SESSION, body)
            .signed_in_as(&AGENT)
            .await;
        eprintln!("{what}: {} in {:?}", a.status, a.took);
        assert_refused(&a, 400, what);
        assert!(
            a.text.len() < 4096,
            "{what}: a {} byte answer",
            a.text.len()
        );
    }
    eprintln!("{count} hostile JSON bodies refused");
    let s = stored(app.pool(), SESSION).await;
    assert_eq!(s["consoleData"], ORIG);
    assert_eq!(s["callState"], "Ringing");
    assert_intact(&app, 1).await;
}

/// Deep nesting is refused wherever it is, including under a key the DTO does not have; far
/// deeper nesting there is skipped without recursion, in linear time: neither a crash nor a
/// hang. (Merged: `deep_json_nesting_under_an_unknown_key_neither_crashes_nor_hangs`.)
#[tokio::test]
async fn deep_json_nesting_under_an_unknown_key_is_400_and_never_a_crash_or_a_hang() {
    let app = world().await;
    for depth in [200, 100_000] {
        let body = format!(
            "{{\"x\":{}{},\"consoleData\":\"deep\"}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let a = app
            .patch_session_text(SESSION, body)
            .signed_in_as(&AGENT)
            .await;
        assert_refused(
            &a,
            400,
            &format!("arrays {depth} deep under an unknown key"),
        );
        let body = format!(
            "{{\"x\":{}1{}}}",
            "{\"a\":".repeat(depth),
            "}".repeat(depth)
        );
        let a = app
            .patch_session_text(SESSION, body)
            .signed_in_as(&AGENT)
            .await;
        assert_refused(
            &a,
            400,
            &format!("objects {depth} deep under an unknown key"),
        );
    }
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);

    let body = format!(
        "{{\"x\":{}{},\"consoleData\":\"deep\"}}",
        "[".repeat(400_000),
        "]".repeat(400_000)
    );
    let a = app
        .patch_session_text(SESSION, body)
        .signed_in_as(&AGENT)
        .await;
    assert!(a.status == 200 || a.status == 400, "{}", a.text);
    assert!(a.took < HANG_BOUND, "took {:?}", a.took);
    assert_intact(&app, 1).await;
}

/// A number sent for a text member is stored as the literal the client wrote (ServiceStack
/// binds the JSON token's text): no digit is lost to a float, `1.50` stays `1.50`.
#[tokio::test]
async fn numbers_sent_for_text_keep_their_literal_digits() {
    let app = world().await;
    let long = "9".repeat(500);
    for literal in [
        "12345678901234567890123",
        "1.50",
        "-0.0",
        "1e999",
        long.as_str(),
    ] {
        let a = app
            .patch_session_text(SESSION, format!("{{\"consoleData\":{literal}}}"))
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(a.status, 200, "{literal}: {}", a.text);
        assert_eq!(a.json()["consoleData"], literal);
        assert_eq!(stored(app.pool(), SESSION).await["consoleData"], literal);
    }
    assert_intact(&app, 1).await;
}

/// A UTF-8 byte order mark before a JSON body is skipped, as before an XML one.
#[tokio::test]
async fn a_json_body_with_a_utf8_bom_is_read_like_one_without() {
    let app = world().await;
    let a = app
        .patch_session_text(SESSION, "\u{FEFF}{\"consoleData\":\"after a BOM\"}")
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["consoleData"], "after a BOM");
    assert_eq!(
        stored(app.pool(), SESSION).await["consoleData"],
        "after a BOM"
    );
}
