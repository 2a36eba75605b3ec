//! Hostile DataContract XML.

use super::*;
use tokio::io::AsyncWriteExt;

// ---------------------------------------------------------------------------------------------
// XML
// ---------------------------------------------------------------------------------------------

/// A loopback listener that records whether anything connected to it (for external entities).
struct Trap {
    url: String,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn trap() -> Trap {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nPWNED")
                .await;
        }
    });
    Trap { url, hits }
}

fn billion_laughs() -> String {
    let open = patch_session_open();
    let mut dtd = String::from("<!DOCTYPE PatchSession [\n<!ENTITY lol0 \"lol\">\n");
    for i in 1..10 {
        let refs = format!("&lol{};", i - 1).repeat(10);
        dtd.push_str(&format!("<!ENTITY lol{i} \"{refs}\">\n"));
    }
    dtd.push(']');
    dtd.push('>');
    format!("{dtd}{open}<ConsoleData>&lol9;</ConsoleData></PatchSession>")
}

#[tokio::test]
async fn hostile_xml_is_400_quickly_with_nothing_fetched_or_expanded() {
    let open = patch_session_open();
    let app = world().await;
    let trap = trap().await;
    let t = &trap.url;
    let bad_utf8 = {
        let mut b = format!("{open}<ConsoleData>").into_bytes();
        b.extend_from_slice(&[0xFF, 0xFE, 0xC0, 0xAF]);
        b.extend_from_slice(b"</ConsoleData></PatchSession>");
        b
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("DOCTYPE", format!("<!DOCTYPE PatchSession>{open}</PatchSession>")),
        (
            "internal entity",
            format!("<!DOCTYPE p [<!ENTITY x \"Hold\">]>{open}<CallState>&x;</CallState></PatchSession>"),
        ),
        ("billion laughs", billion_laughs()),
        (
            "quadratic blowup",
            format!(
                "<!DOCTYPE p [<!ENTITY a \"{}\">]>{open}<ConsoleData>{}</ConsoleData></PatchSession>",
                "a".repeat(10_000),
                "&a;".repeat(10_000)
            ),
        ),
        (
            "external entity (file)",
            format!("<!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{open}<ConsoleData>&x;</ConsoleData></PatchSession>"),
        ),
        (
            "external entity (http)",
            format!("<!DOCTYPE p [<!ENTITY x SYSTEM \"{t}/x\">]>{open}<ConsoleData>&x;</ConsoleData></PatchSession>"),
        ),
        (
            "parameter entity",
            format!("<!DOCTYPE p [<!ENTITY % p SYSTEM \"{t}/p\"> %p;]>{open}</PatchSession>"),
        ),
        (
            "external DTD",
            format!("<!DOCTYPE PatchSession SYSTEM \"{t}/dtd\">{open}</PatchSession>"),
        ),
        (
            "undeclared entity",
            format!("{open}<ConsoleData>&x;</ConsoleData></PatchSession>"),
        ),
        (
            "processing instruction before the root",
            format!("<?xml-stylesheet href=\"{t}/s.xsl\"?>{open}</PatchSession>"),
        ),
        (
            "processing instruction inside a field",
            format!("{open}<ConsoleData>a<?php system('id'); ?>b</ConsoleData></PatchSession>"),
        ),
        (
            "declaration not at the start",
            format!(" {open}<?xml version=\"1.0\"?></PatchSession>"),
        ),
        ("NUL by reference", format!("{open}<ConsoleData>a&#x0;b</ConsoleData></PatchSession>")),
        (
            "raw control character",
            format!("{open}<ConsoleData>a\u{1}b</ConsoleData></PatchSession>"),
        ),
        (
            "nesting 40 deep",
            format!("{open}{}{}</PatchSession>", "<a>".repeat(40), "</a>".repeat(40)),
        ),
        (
            "nesting 100 000 deep",
            format!("{open}{}{}</PatchSession>", "<a>".repeat(100_000), "</a>".repeat(100_000)),
        ),
        (
            "unclosed nesting 200 000 deep",
            format!("{open}{}", "<a>".repeat(200_000)),
        ),
        (
            "element name of 257 bytes",
            format!("{open}<{0}>x</{0}></PatchSession>", "N".repeat(257)),
        ),
        (
            "element name of 500 KB",
            format!("{open}<{0}>x</{0}></PatchSession>", "N".repeat(250_000)),
        ),
        (
            "129 namespace declarations",
            format!(
                "<PatchSession xmlns=\"http://schemas.datacontract.org/2004/07/Voice.Api.Sessions\" {}></PatchSession>",
                (0..129).map(|i| format!("xmlns:p{i}=\"urn:{i}\"")).collect::<Vec<_>>().join(" ")
            ),
        ),
        ("unbound prefix", format!("{open}<x:ConsoleData>a</x:ConsoleData></PatchSession>")),
        ("truncated", format!("{open}<ConsoleData>a</Cons")),
        ("two roots", format!("{open}</PatchSession>{open}</PatchSession>")),
        ("wrong root", "<SessionInfo xmlns=\"http://schemas.datacontract.org/2004/07/Voice.Api.Sessions\"/>".into()),
        ("no root", "<!-- nothing -->".into()),
        ("mixed content", format!("{open}<ConsoleData>a<b/>c</ConsoleData></PatchSession>")),
        ("invalid enum", format!("{open}<CallState>Lunch</CallState></PatchSession>")),
        (
            "character reference out of range",
            format!("{open}<ConsoleData>&#x110000;</ConsoleData></PatchSession>"),
        ),
    ]
    .into_iter()
    .map(|(w, s)| (w, s.into_bytes()))
    .chain(std::iter::once(("invalid UTF-8", bad_utf8)))
    .collect();
    let count = cases.len();
    for (what, body) in cases {
        let a = app
            .patch_session_xml(SESSION, body)
            .signed_in_as(&AGENT)
            .await;
        eprintln!("{what}: {} in {:?}", a.status, a.took);
        assert_refused(&a, 400, what);
        assert!(
            !a.text.contains("PWNED") && !a.text.contains("root:"),
            "{what}: {}",
            a.text
        );
        assert!(!a.text.contains("lollol"), "{what}: expanded");
        assert!(
            a.text.len() < 4096,
            "{what}: a {} byte answer",
            a.text.len()
        );
    }
    // An XInclude element is just an unknown element: skipped, never followed.
    let a = app.patch_session_xml(SESSION, format!(
            "{open}<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"{t}/inc\" parse=\"text\"/><ConsoleData>ok</ConsoleData></PatchSession>"
        ),
    ).signed_in_as(&AGENT)
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        trap.hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "something was fetched"
    );
    eprintln!("{} hostile XML bodies refused", count);
    assert_eq!(stored(app.pool(), SESSION).await["callState"], "Ringing");
    assert_intact(&app, 1).await;
}
