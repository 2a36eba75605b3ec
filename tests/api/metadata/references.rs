//! Add ServiceStack Reference: `/types`, `/types/{lang}` and their options, `/types/metadata`,
//! and the caching every metadata answer shares.

use super::*;
use serde_json::{Value, json};

/// The `Options:` header of a TypeScript reference served at `host`, through its closing line.
fn typescript_header(text: &str) -> &str {
    &text[..text.find("*/\n").expect("the header closes") + 3]
}

#[tokio::test]
async fn a_typescript_reference_starts_with_servicestacks_options_header() {
    let app = TestApp::spawn().await;
    let res = get_page(&app, "/types/typescript", "api.example.com").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type(), "text/plain; charset=utf-8");
    let header = typescript_header(&res.text);
    let date = header.lines().nth(1).unwrap();
    assert!(
        date.starts_with("Date: ") && date.len() == "Date: 2026-01-01 00:00:00".len(),
        "{date}"
    );
    assert_eq!(
        header.replace(date, "Date: D"),
        "/* Options:\nDate: D\nVersion: 6.00\nTip: To override a DTO option, remove \"//\" prefix before updating\n\
         BaseUrl: http://api.example.com\n\n//GlobalNamespace: \n//MakePropertiesOptional: False\n\
         //AddServiceStackTypes: True\n//AddResponseStatus: False\n//AddImplicitVersion: \n\
         //AddDescriptionAsComments: True\n//IncludeTypes: \n//ExcludeTypes: \n//DefaultImports: \n*/\n"
    );
}

#[tokio::test]
async fn request_dtos_carry_their_route_return_type_and_verb() {
    let app = TestApp::spawn().await;
    let ts = app.get("/types/typescript").await.text;
    assert!(ts.contains(
        "// @Route(\"/sessions/{sessionId}\", \"PATCH\")\n\
         export class PatchSession implements IReturn<SessionInfo>, IPatch\n{\n\
         \x20   public sessionId?: string;\n    public consoleData?: string;\n\
         \x20   public callState?: SessionCallState;\n    public holdReason?: SessionHoldReasons;\n\
         \x20   public queueState?: SessionQueueStates;\n\n\
         \x20   public constructor(init?: Partial<PatchSession>) { (Object as any).assign(this, init); }\n\
         \x20   public getTypeName() { return 'PatchSession'; }\n\
         \x20   public getMethod() { return 'PATCH'; }\n\
         \x20   public createResponse() { return new SessionInfo(); }\n}\n"
    ), "{ts}");
    assert!(ts.contains("export class GetSession implements IReturn<SessionInfo>, IGet\n"));
    assert!(ts.contains("export interface IPatch\n{\n}\n"));
    // Declared, so `tsc --strict` finds it (the seed's page names it without declaring it).
    assert!(ts.contains("export class NodeParameter\n{\n"));
    // Non-nullable members are definitely assigned; descriptions are doc comments.
    assert!(ts.contains(
        "    /** @description Has the session ended */\n    // @ApiMember(Description=\"Has the session ended\")\n    public ended!: boolean;\n"
    ));

    let py = app.get("/types/python").await.text;
    assert!(py.contains(
        "# @Route(\"/sessions/{sessionId}\", \"PATCH\")\n\
         @dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)\n@dataclass\n\
         class PatchSession(IReturn[SessionInfo], IPatch):\n"
    ));
    let cs = app.get("/types/csharp").await.text;
    assert!(cs.contains(
        "    [Route(\"/sessions/{sessionId}\", \"PATCH\")]\n    public partial class PatchSession\n        : IReturn<SessionInfo>, IPatch\n"
    ));
}

#[tokio::test]
async fn include_types_with_a_wildcard_keeps_a_request_its_response_and_their_types() {
    let app = TestApp::spawn().await;
    let res = app
        .get("/types/typescript?IncludeTypes=GetSession.*&AddServiceStackTypes=false")
        .await;
    let header = typescript_header(&res.text);
    assert!(
        header.contains("\nIncludeTypes: GetSession.*\n"),
        "{header}"
    );
    assert!(
        header.contains("\nAddServiceStackTypes: false\n"),
        "{header}"
    );
    let declared: Vec<&str> = res
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .collect();
    assert_eq!(
        declared,
        [
            "class EntityInfo",
            "enum SessionDialState",
            "enum SessionCallState",
            "enum SessionQueueStates",
            "class CustomerBreadcrumb",
            "enum FlowChannels",
            "enum SessionHoldReasons",
            "class SessionLogInfo",
            "enum SessionMemberCallState",
            "enum SessionMemberRoles",
            "class SessionMemberInfo",
            "enum SessionDirections",
            "class SessionInfo extends EntityInfo",
            "class GetSession implements IReturn<SessionInfo>, IGet",
        ]
    );
}

#[tokio::test]
async fn exclude_types_global_namespace_and_optional_properties_are_applied() {
    let app = TestApp::spawn().await;
    let res = app
        .get("/types/typescript?ExcludeTypes=Authenticate,AuthenticateResponse&GlobalNamespace=Evo&MakePropertiesOptional=True")
        .await;
    let body = &res.text[typescript_header(&res.text).len()..];
    assert!(
        body.starts_with("\nexport namespace Evo\n{\n    export interface IReturn<T>\n"),
        "{body}"
    );
    assert!(body.ends_with("\n}\n"));
    assert!(!body.contains("class Authenticate"));
    assert!(body.contains("    export class ResponseStatus\n"));
    assert!(body.contains("        public ended?: boolean;\n"));
    assert!(!body.contains("!:"), "every member optional");

    let cs = app
        .get("/types/csharp?GlobalNamespace=Evo.Dtos&IncludeTypes=SessionLogInfo")
        .await
        .text;
    let body = &cs[cs.find("*/\n").unwrap() + 3..];
    assert_eq!(
        body,
        "\nusing System;\nusing System.IO;\nusing System.Collections;\nusing System.Collections.Generic;\n\
         using System.Runtime.Serialization;\nusing ServiceStack;\nusing ServiceStack.DataAnnotations;\n\n\
         namespace Evo.Dtos\n{\n    public partial class SessionLogInfo\n    {\n\
         \x20       public virtual string Date { get; set; }\n        public virtual string Message { get; set; }\n    }\n\n}\n\n"
    );
}

#[tokio::test]
async fn types_links_every_reference_and_routes_match_in_any_case() {
    let app = TestApp::spawn().await;
    let res = get_page(&app, "/types", "api.example.com").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({
            "metadata": "http://api.example.com/types/metadata",
            "csharp": "http://api.example.com/types/csharp",
            "typescript": "http://api.example.com/types/typescript",
            "python": "http://api.example.com/types/python",
        })
    );
    let lower = app.get("/types/typescript").await;
    let mixed = app.get("/Types/TypeScript").await;
    assert_eq!(mixed.status, 200);
    assert_eq!(mixed.text, lower.text);
    assert_eq!(app.get("/types/ts").await.text, lower.text);
    assert_eq!(app.get("/Metadata").await.status, 200);
}

#[tokio::test]
async fn types_metadata_describes_every_operation_and_type() {
    let app = TestApp::spawn().await;
    let res = get_page(&app, "/types/metadata", "api.example.com").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type(), JSON_UTF8);
    let doc = res.json();
    assert_eq!(doc["config"], json!({"baseUrl": "http://api.example.com"}));
    let ops: Vec<&str> = doc["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["request"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "PatchSession",
            "GetSession",
            "ListSessions",
            "DeleteSessions",
            "Authenticate",
            "GetAuthStatus"
        ]
    );
    let patch = &doc["operations"][0];
    assert_eq!(
        patch["request"],
        json!({
            "name": "PatchSession",
            "namespace": "Voice.Api.Sessions",
            "implements": [
                {"name": "IReturn`1", "namespace": "ServiceStack", "genericArgs": ["SessionInfo"]},
                {"name": "IPatch", "namespace": "ServiceStack"}
            ],
            "properties": [
                {"name": "SessionId", "type": "String", "namespace": "System", "isRequired": true},
                {"name": "ConsoleData", "type": "String", "namespace": "System"},
                {"name": "CallState", "type": "Nullable`1", "genericArgs": ["SessionCallState"],
                 "namespace": "Voice.Api.Sessions", "isValueType": true, "isEnum": true},
                {"name": "HoldReason", "type": "Nullable`1", "genericArgs": ["SessionHoldReasons"],
                 "namespace": "Voice.Api.Sessions", "isValueType": true, "isEnum": true},
                {"name": "QueueState", "type": "Nullable`1", "genericArgs": ["SessionQueueStates"],
                 "namespace": "Voice.Api.Sessions", "isValueType": true, "isEnum": true},
            ]
        })
    );
    assert_eq!(patch["actions"], json!(["PATCH"]));
    assert_eq!(patch["method"], json!("PATCH"));
    assert_eq!(
        patch["routes"],
        json!([{"path": "/sessions/{sessionId}", "verbs": "PATCH"}])
    );
    assert_eq!(patch["requiresAuth"], json!(true));
    let types: Vec<&str> = doc["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"SessionCallState") && types.contains(&"NodeParameterMap"),
        "{types:?}"
    );
    let call_state = doc["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "SessionCallState")
        .unwrap();
    assert_eq!(
        call_state,
        &json!({"name": "SessionCallState", "namespace": "Voice.Api.Sessions", "isEnum": true,
            "enumNames": ["Disconnected", "Ringing", "Connected", "Hold", "Passive"],
            "enumValues": ["0", "1", "2", "3", "4"]})
    );
}

#[tokio::test]
async fn every_metadata_answer_has_an_etag_and_a_matching_if_none_match_gets_304() {
    let app = TestApp::spawn().await;
    for path in [
        "/metadata",
        "/xml/metadata?op=PatchSession&lang=typescript",
        "/json/metadata?op=GetSession",
        "/types",
        "/types/typescript",
        "/types/python",
        "/types/csharp",
        "/types/metadata",
    ] {
        let first = app.get(path).await;
        assert_eq!(first.status, 200, "{path}");
        let etag = first
            .header("etag")
            .unwrap_or_else(|| panic!("{path} has an ETag"))
            .to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(first.header("cache-control"), Some("no-cache"));
        let again = app.get(path).await;
        assert_eq!(
            again.header("etag"),
            Some(etag.as_str()),
            "{path}: the same bytes, the same tag"
        );
        assert_eq!(again.text, first.text);

        let cached = app.get(path).header("If-None-Match", &etag).await;
        assert_eq!(cached.status, 304, "{path}");
        assert_eq!(cached.text, "");
        assert_eq!(cached.header("etag"), Some(etag.as_str()));
        let weak = app
            .get(path)
            .header("If-None-Match", &format!("\"x\", W/{etag}"))
            .await;
        assert_eq!(weak.status, 304, "{path}: a weak match in a list");
        let stale = app.get(path).header("If-None-Match", "\"stale\"").await;
        assert_eq!(stale.status, 200, "{path}");
    }
    // Another host is another BaseUrl, so another tag.
    let here = app.get("/types/typescript").await;
    let there = get_page(&app, "/types/typescript", "elsewhere.example").await;
    assert_ne!(here.header("etag"), there.header("etag"));
    let _: Value = app.get("/types/metadata").await.json();
}
