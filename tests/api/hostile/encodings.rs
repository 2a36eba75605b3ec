//! Bytes that are not what they claim: text that is not UTF-8 in forms, queries and multipart
//! parts, a form in ISO-8859-1, and bodies in a content or transfer coding the server does not
//! decode. Each is refused naming what is wrong (or, for a declared charset, decoded from it),
//! and a refused request changes nothing.

use super::*;
use serde_json::json;

/// A multipart/form-data body of one text field, its part's headers as given.
fn multipart(part_headers: &str, value: &[u8]) -> (String, Vec<u8>) {
    let boundary = "xYzBoundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"consoleData\"\r\n{part_headers}\r\n"
    )
    .into_bytes();
    body.extend_from_slice(value);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Text that is not UTF-8 used to be stored with U+FFFD in place of its bytes (the path alone
/// refused it): now every input refuses it with a 400 naming the field, and stores nothing.
#[tokio::test]
async fn text_that_is_not_utf8_is_refused_in_every_input_naming_the_field() {
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    let (mp_type, mp_body) = multipart("", b"mp\xff\xfe");
    let cases: Vec<(&str, String, Option<String>, Vec<u8>)> = vec![
        (
            "form escape",
            path.clone(),
            Some(FORM.into()),
            b"consoleData=%FF%FE".to_vec(),
        ),
        (
            "form raw byte",
            path.clone(),
            Some(FORM.into()),
            b"consoleData=raw\xff".to_vec(),
        ),
        (
            "query",
            format!("{path}?consoleData=q%FFq"),
            Some("application/json".into()),
            b"{}".to_vec(),
        ),
        ("multipart", path.clone(), Some(mp_type), mp_body),
    ];
    for (what, path, ct, body) in cases {
        let reply = app
            .request(Method::PATCH, &path)
            .body_as(ct.as_deref(), body)
            .signed_in_as(&AGENT)
            .await
            .reply();
        let message = "Invalid UTF-8 in 'consoleData'";
        let errors = json!([{"errorCode": "SerializationException", "fieldName": "consoleData", "message": message}]);
        assert_eq!(
            reply,
            Reply::error(400, "SerializationException", message, errors),
            "{what}"
        );
    }
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
    assert_intact(&app, 1).await;
}

/// A form or multipart part that declares ISO-8859-1 is read in it (as ASP.NET reads a form
/// in its declared charset): `%E9` is `é`, not a byte to refuse or replace.
#[tokio::test]
async fn a_form_or_part_in_iso_8859_1_is_decoded_from_it() {
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    let (mp_type, mp_body) = multipart(
        "Content-Type: text/plain; charset=iso-8859-1\r\n",
        b"caf\xe9 2",
    );
    let cases: Vec<(&str, String, Vec<u8>, &str)> = vec![
        (
            "form",
            format!("{FORM}; charset=ISO-8859-1"),
            b"consoleData=caf%E9+1".to_vec(),
            "café 1",
        ),
        ("multipart", mp_type, mp_body, "café 2"),
    ];
    for (what, ct, body, want) in cases {
        let res = app
            .request(Method::PATCH, &path)
            .body(&ct, body)
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(res.status, 200, "{what}: {}", res.text);
        assert_eq!(res.json()["consoleData"], want, "{what}");
        assert_eq!(
            stored(app.pool(), SESSION).await["consoleData"],
            want,
            "{what}"
        );
    }
}

/// A body in a coding the server does not decode was read as it is (plain JSON labelled so was
/// applied). Now a Content-Encoding other than gzip, deflate, br or identity is 415 and a
/// transfer coding other than chunked 501 (RFC 9112), both with a ResponseStatus, before the
/// body is read; identity is as good as none.
#[tokio::test]
async fn bodies_in_a_coding_the_server_does_not_decode_are_refused_and_change_nothing() {
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    let body = r#"{"consoleData":"coded"}"#;
    for value in ["zstd", "identity, br", "compress"] {
        let reply = app
            .request(Method::PATCH, &path)
            .header("Content-Encoding", value)
            .body("application/json", body)
            .signed_in_as(&AGENT)
            .await
            .reply();
        let message = format!(
            "Content-Encoding '{value}' is not supported; use gzip, deflate or br, or send the body uncompressed"
        );
        assert_eq!(
            reply,
            Reply::error(415, "UnsupportedMediaType", &message, json!([])),
            "{value}"
        );
    }
    // A transfer coding needs the raw request: an HTTP client frames the body itself.
    let basic = base64_basic();
    let chunk = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let raw = raw_request(
        &app,
        &format!(
            "PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {basic}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\
             Connection: close\r\n\r\n{chunk}"
        ),
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 501 "), "{raw}");
    assert!(
        raw.ends_with(r#"{"responseStatus":{"errorCode":"NotImplemented","message":"Transfer-Encoding 'gzip, chunked' is not supported","errors":[]}}"#),
        "{raw}"
    );
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
    let res = app
        .request(Method::PATCH, &path)
        .header("Content-Encoding", "identity")
        .body("application/json", body)
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], "coded");
    assert_intact(&app, 1).await;
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// What ServiceStack's .NET clients send with `RequestCompressionType` (GZip, Deflate, Brotli:
/// the body compressed, `Content-Encoding` naming it) is decoded and applied, JSON and XML, as
/// ServiceStack decompresses it; before, it was refused as a body that does not parse.
#[tokio::test]
async fn compressed_request_bodies_are_decoded_as_servicestack_decodes_them() {
    use std::io::Write;
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    let deflate = |b: &[u8]| {
        // HTTP's "deflate" is zlib-wrapped (RFC 9110), as ServiceStack's ZLibCompressor (its
        // "deflate" on .NET 6 and later) writes it.
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    let br = |b: &[u8]| {
        let mut out = Vec::new();
        brotli::BrotliCompress(&mut &b[..], &mut out, &Default::default()).unwrap();
        out
    };
    let open = patch_session_open();
    // JSON in each coding (RFC 9110: x-gzip is gzip; a coding's name in any case), then XML
    // and a form in one.
    let mut cases: Vec<(&str, &str, String, &str)> = [
        ("gzip", "gz"),
        ("deflate", "df"),
        ("br", "br"),
        ("x-gzip", "xgz"),
        ("GZip", "GZ"),
    ]
    .into_iter()
    .map(|(coding, v)| {
        (
            coding,
            "application/json",
            format!(r#"{{"consoleData":"{v}"}}"#),
            v,
        )
    })
    .collect();
    cases.push((
        "gzip",
        "application/xml",
        format!("{open}<ConsoleData>gz-xml</ConsoleData></PatchSession>"),
        "gz-xml",
    ));
    cases.push(("gzip", FORM, "consoleData=gz-form".into(), "gz-form"));
    for (coding, ct, plain, want) in cases {
        let body = match coding {
            "deflate" => deflate(plain.as_bytes()),
            "br" => br(plain.as_bytes()),
            _ => gzip(plain.as_bytes()),
        };
        let res = app
            .request(Method::PATCH, &path)
            .header("Content-Encoding", coding)
            .body(ct, body)
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(res.status, 200, "{coding} {ct}: {}", res.text);
        assert_eq!(
            stored(app.pool(), SESSION).await["consoleData"],
            want,
            "{coding} {ct}"
        );
    }
    // A POST overridden to PATCH by its compressed form body: the override reads it decoded.
    let res = app
        .request(Method::POST, &path)
        .header("Content-Encoding", "gzip")
        .body(
            FORM,
            gzip(b"consoleData=overridden&X-Http-Method-Override=PATCH"),
        )
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        stored(app.pool(), SESSION).await["consoleData"],
        "overridden"
    );
    assert_intact(&app, 1).await;
}

/// The body limit counts decoded bytes: a small gzip body that inflates past it (a bomb) is
/// 413 without being inflated further, and a body that is not the gzip it claims is a 400;
/// neither changes anything.
#[tokio::test]
async fn a_compressed_body_is_bounded_decoded_and_a_corrupt_one_refused() {
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    let limit = crate::helpers::internals::limits::max_body_bytes();
    let huge = format!(r#"{{"consoleData":"{}"}}"#, "a".repeat(64 * limit));
    let bomb = gzip(huge.as_bytes());
    assert!(bomb.len() < limit / 4, "the bomb is small: {}", bomb.len());
    let res = app
        .request(Method::PATCH, &path)
        .header("Content-Encoding", "gzip")
        .body("application/json", bomb)
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&res, 413, "gzip bomb");
    let res = app
        .request(Method::PATCH, &path)
        .header("Content-Encoding", "gzip")
        .body("application/json", r#"{"consoleData":"not gzip"}"#)
        .signed_in_as(&AGENT)
        .await;
    assert_refused(&res, 400, "not gzip");
    assert_eq!(res.error_code(), "SerializationException");
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
    assert_intact(&app, 1).await;
}

/// Every gzip member is decoded (as .NET's GZipStream and Python's gzip read them), and a body
/// with bytes after its compressed end is a 400, not a shorter body; an empty body labelled
/// with a coding is an empty body. Found by a review: only the first member was read, and the
/// rest dropped without a word.
#[tokio::test]
async fn a_compressed_body_is_decoded_whole_or_refused() {
    use std::io::Write;
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    let mut two = gzip(b"consoleData=first");
    two.extend(gzip(b"&callState=Hold"));
    let res = app
        .request(Method::PATCH, &path)
        .header("Content-Encoding", "gzip")
        .body(FORM, two)
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let s = stored(app.pool(), SESSION).await;
    assert_eq!(
        (&s["consoleData"], &s["callState"]),
        (&json!("first"), &json!("Hold"))
    );

    let json_body = br#"{"consoleData":"tail"}"#;
    let mut zlib = {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(json_body).unwrap();
        e.finish().unwrap()
    };
    zlib.extend_from_slice(b"junk");
    let mut br = Vec::new();
    brotli::BrotliCompress(&mut &json_body[..], &mut br, &Default::default()).unwrap();
    br.extend_from_slice(b"junk");
    let mut gz = gzip(json_body);
    gz.extend_from_slice(b"junk");
    for (coding, body) in [("deflate", zlib), ("br", br), ("gzip", gz)] {
        let res = app
            .request(Method::PATCH, &path)
            .header("Content-Encoding", coding)
            .body("application/json", body)
            .signed_in_as(&AGENT)
            .await;
        assert_refused(&res, 400, coding);
    }
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], "first");

    let res = app
        .get(&path)
        .header("Content-Encoding", "gzip")
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(res.status, 200, "an empty gzip body: {}", res.text);
    assert_intact(&app, 1).await;
}

/// A compressed body is bounded as it arrives, not only once decoded: a chunked body (no
/// Content-Length to refuse up front) of more than the limit in bytes that decode to nothing
/// is a 413, where it used to be read until the request's time limit.
#[tokio::test]
async fn a_chunked_compressed_body_over_the_limit_is_413() {
    let app = world().await;
    let limit = crate::helpers::internals::limits::max_body_bytes();
    // A gzip header with a file name that never ends: no output at all.
    let mut junk = vec![0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0, 0, 0x03];
    junk.resize(limit + 4096, b'a');
    let chunk = format!(
        "{:x}\r\n{}\r\n0\r\n\r\n",
        junk.len(),
        String::from_utf8_lossy(&junk)
    );
    let raw = raw_request(
        &app,
        &format!(
            "PATCH /sessions/{SESSION} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\
             Content-Type: application/json\r\nContent-Encoding: gzip\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}",
            base64_basic()
        ),
    )
    .await;
    assert!(
        raw.starts_with("HTTP/1.1 413 "),
        "{}",
        &raw[..raw.len().min(300)]
    );
    assert_intact(&app, 1).await;
}

/// A multipart part is read in the charset it declares, strictly: one that is not UTF-8 or
/// ISO-8859-1 is a 415, and bytes that are not its UTF-8 a 400 (multer's own decoding put
/// U+FFFD in their place, or guessed the charset from a BOM).
#[tokio::test]
async fn a_multipart_part_is_read_strictly_in_its_declared_charset() {
    let app = world().await;
    let path = format!("/sessions/{SESSION}");
    for (headers, status) in [
        ("Content-Type: text/plain; charset=utf8\r\n", 400),
        ("Content-Type: text/plain; charset=bogus\r\n", 415),
    ] {
        let (ct, body) = multipart(headers, b"ab\xff\x80cd");
        let res = app
            .request(Method::PATCH, &path)
            .body(&ct, body)
            .signed_in_as(&AGENT)
            .await;
        assert_refused(&res, status, headers);
    }
    // 0x80 in ISO-8859-1 is U+0080 (as .NET reads Latin-1), not windows-1252's euro sign.
    let (ct, body) = multipart("Content-Type: text/plain; charset=ISO-8859-1\r\n", b"x\x80");
    let res = app
        .request(Method::PATCH, &path)
        .body(&ct, body)
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], "x\u{80}");
}
