//! The HTML metadata pages.

use super::*;

#[tokio::test]
async fn the_patch_session_page_in_typescript_reads_exactly_as_the_seed() {
    let app = TestApp::spawn().await;
    let res = get_page(
        &app,
        "/xml/metadata?op=PatchSession&lang=typescript",
        SEED_HOST,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.content_type(), "text/html; charset=utf-8");
    let text = page_text(&res.text);
    let seed = seed_page_text();
    if text.trim() != seed.trim() {
        let diff = text
            .trim()
            .lines()
            .zip(seed.trim().lines())
            .enumerate()
            .find(|(_, (a, b))| a != b);
        panic!(
            "the page differs from the seed; first differing line: {diff:?}\n--- page text\n{text}"
        );
    }
}

/// The part of a page's text between two lines (both excluded).
fn between<'a>(text: &'a str, after: &str, before: &str) -> &'a str {
    let start = text
        .find(after)
        .map(|i| i + after.len())
        .expect("the start marker");
    let end = text[start..]
        .find(before)
        .map(|i| start + i)
        .expect("the end marker");
    &text[start..end]
}

#[tokio::test]
async fn the_json_page_shows_json_samples_written_by_the_json_writer() {
    let app = TestApp::spawn().await;
    let res = get_page(&app, "/json/metadata?op=PatchSession", SEED_HOST).await;
    assert_eq!(res.status, 200);
    let text = page_text(&res.text);
    assert!(text.contains(
        "To override the Content-type in your clients, use the HTTP Accept Header, append the .json suffix or ?format=json\n\nHTTP + JSON\n"
    ));
    let request = between(&text, "actual values.\n\n", "HTTP/1.1 200 OK");
    assert_eq!(
        request,
        "PATCH /sessions/{sessionId} HTTP/1.1 \nHost: team.evovoice.io \nAccept: application/json\n\
         Content-Type: application/json\nContent-Length: length\n\n\
         {\"sessionId\":\"String\",\"consoleData\":\"String\",\"callState\":\"Disconnected\",\
         \"holdReason\":\"None\",\"queueState\":\"None\"}\n"
    );
    let response = between(&text, "HTTP/1.1 200 OK\n", "\n");
    assert_eq!(response, "Content-Type: application/json");
    assert!(text.contains("\"customerBreadcrumb\":[{\"id\":\"String\",\"name\":\"String\"}]"));
    assert!(text.contains("\"applicationData\":{\"String\":\"String\"}"));
}

#[tokio::test]
async fn the_get_session_page_has_no_request_body_and_csharp_is_the_default_language() {
    let app = TestApp::spawn().await;
    let res = get_page(&app, "/xml/metadata?op=GetSession", SEED_HOST).await;
    assert_eq!(res.status, 200);
    let text = page_text(&res.text);
    let request = between(&text, "actual values.\n\n", "HTTP/1.1 200 OK");
    assert_eq!(
        request,
        "GET /sessions/{sessionId} HTTP/1.1 \nHost: team.evovoice.io \nAccept: application/xml\n\n"
    );
    assert!(text.contains("\nC# GetSession DTOs\n"));
    assert!(text.contains(
        "namespace Voice.Api.Sessions\n{\n    public partial class GetSession\n    {\n        public virtual string SessionId { get; set; }\n    }\n"
    ));
}

#[tokio::test]
async fn the_python_listing_is_the_page_of_the_python_language() {
    let app = TestApp::spawn().await;
    let res = get_page(&app, "/xml/metadata?op=GetSession&lang=python", SEED_HOST).await;
    let text = page_text(&res.text);
    assert!(text.contains("\nPython GetSession DTOs\n"));
    assert!(text.contains(
        "@dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)\n@dataclass\nclass GetSession:\n    session_id: Optional[str] = None\n"
    ));
}

#[tokio::test]
async fn the_index_links_every_operation_in_every_format_and_language() {
    let app = TestApp::spawn().await;
    let res = app.get("/metadata").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type(), "text/html; charset=utf-8");
    for op in [
        "PatchSession",
        "GetSession",
        "Authenticate",
        "GetAuthStatus",
    ] {
        for link in [
            format!("href=\"/xml/metadata?op={op}\""),
            format!("href=\"/json/metadata?op={op}\""),
            format!("href=\"/xml/metadata?op={op}&amp;lang=typescript\""),
            format!("href=\"/xml/metadata?op={op}&amp;lang=python\""),
            format!("href=\"/xml/metadata?op={op}&amp;lang=csharp\""),
        ] {
            assert!(res.text.contains(&link), "{link} in\n{}", res.text);
        }
    }
    for link in [
        "/types/typescript",
        "/types/python",
        "/types/csharp",
        "/types/metadata",
    ] {
        assert!(res.text.contains(&format!("href=\"{link}\"")));
    }
}

#[tokio::test]
async fn an_unknown_operation_or_language_is_a_404_in_the_negotiated_format() {
    let app = TestApp::spawn().await;
    let res = app.get("/json/metadata?op=Nope").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.content_type(), JSON_UTF8);
    assert_eq!(
        res.text,
        status_json("NotFound", "Operation 'Nope' does not exist")
    );

    let res = app.get("/xml/metadata?op=PatchSession&lang=cobol").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.content_type(), XML);
    assert_eq!(
        res.text,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><ErrorResponse xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns=\"http://schemas.servicestack.net/types\"><ResponseStatus><ErrorCode>NotFound</ErrorCode>\
         <Message>Language 'cobol' is not supported; use csharp, typescript or python</Message>\
         <StackTrace i:nil=\"true\" /><Errors />\
         <Meta xmlns:d3p1=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\" i:nil=\"true\" />\
         </ResponseStatus></ErrorResponse>"
    );

    let res = app.get("/types/cobol").await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.text,
        status_json(
            "NotFound",
            "Language 'cobol' is not supported; use csharp, typescript or python"
        )
    );
}

/// A client asking for exactly what a page is (a script's `Accept: text/html`, a reference
/// tool's `text/plain`) used to be refused 406, served only when its Accept happened to name
/// XML or `*/*`: the pages answer whatever the Accept, the same page as without one.
#[tokio::test]
async fn the_pages_answer_a_client_accepting_exactly_their_media_type() {
    let app = TestApp::spawn().await;
    for (path, accept) in [
        ("/metadata", "text/html"),
        (
            "/metadata?op=PatchSession",
            "text/html,application/xhtml+xml",
        ),
        ("/types", "text/plain"),
        ("/types/typescript", "text/plain"),
        ("/types/csharp", "text/plain"),
    ] {
        let plain = get_page(&app, path, SEED_HOST).await;
        let asked = app.get(path).header("Host", SEED_HOST).accept(accept).await;
        assert_eq!(asked.status, 200, "{path} {accept}: {}", asked.text);
        assert_eq!(asked.content_type(), plain.content_type(), "{path}");
        // The TypeScript and C# headers carry the time they were written: compare the rest.
        let body = |r: &Response| {
            r.text
                .lines()
                .filter(|l| !l.starts_with("Date: "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(body(&asked), body(&plain), "{path}");
    }
}
