//! Limits on bodies, fields, ids, URLs and headers.

use super::*;
use crate::helpers::internals::limits;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_over_the_limit_is_413_whether_declared_or_streamed() {
    let open = patch_session_open();
    let app = world().await;
    let limit = limits::max_body_bytes();
    let big = format!(r#"{{"consoleData":"{}"}}"#, "x".repeat(limit));
    let a = app
        .patch_session_text(SESSION, big.clone())
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 413, "declared length");
    assert_eq!(a.error_code(), "RequestEntityTooLarge");
    // Chunked, no Content-Length: refused once the limit is crossed.
    let auth = base64_basic();
    let mut request = format!(
        "PATCH /sessions/{SESSION} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    for chunk in big.as_bytes().chunks(64 * 1024) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            std::str::from_utf8(chunk).unwrap()
        ));
    }
    request.push_str("0\r\n\r\n");
    let answer = raw_request(&app, &request).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "streamed: {}",
        first_line(&answer)
    );
    assert!(answer.contains("RequestEntityTooLarge"), "{answer}");
    // The same for XML and form bodies.
    let xml = format!(
        "{open}<ConsoleData>{}</ConsoleData></PatchSession>",
        "x".repeat(limit)
    );
    assert_refused(
        &app.patch_session_xml(SESSION, xml)
            .signed_in_as(&AGENT)
            .await,
        413,
        "xml",
    );
    let form = format!("consoleData={}", "x".repeat(limit));
    let a = app
        .request(Method::PATCH, &format!("/sessions/{SESSION}"))
        .body(FORM, form)
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 413, "form");
    assert_intact(&app, 1).await;
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
}

#[tokio::test]
async fn console_data_is_bounded_at_64_kib_in_every_format() {
    let open = patch_session_open();
    let app = world().await;
    let max = limits::max_console_data_bytes();
    assert_eq!(max, 64 * 1024);
    let a = app
        .patch_session_text(
            SESSION,
            json!({"consoleData": "x".repeat(max + 1)}).to_string(),
        )
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "json over");
    assert_eq!(
        a.json()["responseStatus"]["errors"][0]["fieldName"],
        "consoleData"
    );
    // Multi-byte characters count in bytes.
    let a = app
        .patch_session_text(
            SESSION,
            json!({"consoleData": "é".repeat(max / 2 + 1)}).to_string(),
        )
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "json multibyte over");
    let xml = format!(
        "{open}<ConsoleData>{}</ConsoleData></PatchSession>",
        "x".repeat(max + 1)
    );
    assert_refused(
        &app.patch_session_xml(SESSION, xml)
            .signed_in_as(&AGENT)
            .await,
        400,
        "xml over",
    );
    let a = app
        .request(Method::PATCH, &format!("/sessions/{SESSION}"))
        .body_as(Some(FORM), format!("consoleData={}", "x".repeat(max + 1)))
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "form over");
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
    // Exactly at the bound is accepted and stored whole.
    let a = app
        .patch_session_text(SESSION, json!({"consoleData": "y".repeat(max)}).to_string())
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        stored(app.pool(), SESSION).await["consoleData"]
            .as_str()
            .map(str::len),
        Some(max)
    );
    assert_intact(&app, 1).await;
}

#[tokio::test]
async fn ids_are_bounded_at_128_characters_and_urls_of_any_length_are_answered() {
    let app = world().await;
    let max = limits::max_id_chars();
    let a = app
        .patch_session_text(&"a".repeat(max + 1), "{}")
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "id over");
    assert_eq!(a.error_code(), "InvalidLength");
    let a = app
        .patch_session_text(&"a".repeat(max), "{}")
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 404, "id at the bound, unknown");
    // An id in the body of the predefined route is bounded too.
    let a = app
        .request(Method::PATCH, "/json/reply/PatchSession")
        .body_as(
            Some("application/json"),
            json!({"sessionId": "b".repeat(max + 1)}).to_string(),
        )
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "body id over");
    // Long URLs: 10 KB is an id over the bound (400); beyond what the HTTP parser takes
    // (64 KiB URIs) the answer is hyper's 414. Either way an answer, and the server lives on.
    let a = app
        .patch_session_text(&"c".repeat(10_000), "{}")
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "10 KB id");
    for len in [70_000, 300_000] {
        let answer = raw_request(
            &app,
            &format!(
                "GET /sessions/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "d".repeat(len)
            ),
        )
        .await;
        eprintln!("URL of {len} bytes: {}", first_line(&answer));
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
            "URL of {len} bytes: {}",
            first_line(&answer)
        );
    }
    assert_intact(&app, 1).await;
}

/// Documented behaviour: a header of 8 KiB or 64 KiB is an ordinary header (the request is
/// served); headers beyond hyper's read buffer (~400 KiB) are answered `431 Request Header
/// Fields Too Large` by hyper, and 200 small headers (over hyper's 100-header limit) likewise
/// 431. Never a crash: the server answers the next request.
#[tokio::test]
async fn huge_and_numerous_headers_are_answered_without_harm() {
    let app = world().await;
    let cases: Vec<(String, String)> = vec![
        (
            "8 KiB header".into(),
            format!("X-Big: {}\r\n", "h".repeat(8 * 1024)),
        ),
        (
            "64 KiB header".into(),
            format!("X-Big: {}\r\n", "h".repeat(64 * 1024)),
        ),
        (
            "1 MiB header".into(),
            format!("X-Big: {}\r\n", "h".repeat(1024 * 1024)),
        ),
        (
            "200 headers".into(),
            (0..200).map(|i| format!("X-H{i}: v\r\n")).collect(),
        ),
        (
            "64 KiB request id".into(),
            format!("X-Request-Id: {}\r\n", "r".repeat(64 * 1024)),
        ),
    ];
    for (what, headers) in cases {
        let answer = raw_request(
            &app,
            &format!("GET /health/live HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"),
        )
        .await;
        eprintln!("{what}: {}", first_line(&answer));
        assert!(
            answer.is_empty()
                || answer.starts_with("HTTP/1.1 200")
                || answer.starts_with("HTTP/1.1 4"),
            "{what}: {}",
            first_line(&answer)
        );
        // A 64 KiB client request id is not echoed back (only short ids are kept).
        if what.contains("request id") {
            assert!(answer.len() < 16 * 1024, "{what}: the id was echoed");
        }
    }
    assert_intact(&app, 1).await;
}

#[tokio::test]
async fn more_than_256_query_or_form_fields_are_400() {
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    let fields = |n: usize| -> String {
        std::iter::once("consoleData=many".to_string())
            .chain((1..n).map(|i| format!("f{i}=1")))
            .collect::<Vec<_>>()
            .join("&")
    };
    let form = FORM;
    let a = app
        .request(Method::PATCH, &path)
        .body(form, fields(257))
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "257 form fields");
    let a = app
        .request(Method::PATCH, &format!("{path}?{}", fields(257)))
        .raw_body("")
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "257 query fields");
    let boundary = "XyZ";
    let multipart: String = (0..257)
        .map(|i| {
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n1\r\n")
        })
        .chain(std::iter::once(format!("--{boundary}--\r\n")))
        .collect();
    let a = app
        .request(Method::PATCH, &path)
        .body(
            &format!("multipart/form-data; boundary={boundary}"),
            multipart,
        )
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "257 multipart fields");
    // 100 000 fields: refused as quickly.
    let a = app
        .request(Method::PATCH, &path)
        .body(form, fields(100_000))
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&a, 400, "100 000 form fields");
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
    // 256 is allowed.
    let a = app
        .request(Method::PATCH, &path)
        .body(form, fields(256))
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = app
        .request(Method::PATCH, &format!("{path}?{}", fields(256)))
        .raw_body("")
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], "many");
    assert_intact(&app, 1).await;
}
