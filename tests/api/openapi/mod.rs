//! The OpenAPI document (`GET /openapi`, `src/openapi/`).
//!
//! - Its key parts compared with expectations built from the contract (the PatchSession
//!   operation, the SessionInfo schema and its enums), and how it is served (ETag, 304, no
//!   credentials, JSON whatever the request asks for).
//! - [`tools`]: the real tools on it, installed by the suite from pinned requirements:
//!   `openapi-spec-validator`, and `schemathesis` against the live server.

mod tools;

use crate::helpers::*;
use serde_json::{Value, json};
use voice_api::contract::operations::{self, OpId};
use voice_api::contract::sessions::SessionInfo;
use voice_api::contract::{Dto, Member, WireType};

/// The document as the server serves it.
async fn document(app: &TestApp) -> Value {
    let res = app.get("/openapi").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.content_type(), JSON_UTF8);
    res.json()
}

/// What a `$ref` names in `doc`.
fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("a local reference"))
            .unwrap_or_else(|| panic!("{r} resolves")),
        None => node,
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The schema a member's value has, as the contract's wire type says.
fn expected_value_schema(ty: &WireType) -> Value {
    match ty {
        WireType::Text => json!({"type": "string"}),
        WireType::Bool => json!({"type": "boolean"}),
        WireType::Int => json!({"type": "integer", "format": "int32"}),
        WireType::Enum(def) => schema_ref(def.name),
        WireType::Object(td) => schema_ref(td.name),
        WireType::StringMap => {
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        }
        WireType::List(_) => json!({"type": "array"}),
    }
}

/// Checks one property against its member: type (a reference wrapped in `allOf`), nullability,
/// description and XML element name.
fn assert_property(doc: &Value, property: &Value, m: &Member) {
    let expected = expected_value_schema(&m.ty);
    let what = format!("property {}: {property}", m.json);
    if expected.get("$ref").is_some() {
        assert_eq!(property["allOf"], json!([expected]), "{what}");
        resolve(doc, &property["allOf"][0]);
    } else {
        for (k, v) in expected.as_object().unwrap() {
            assert_eq!(&property[k], v, "{what}");
        }
    }
    if let WireType::List(item) = &m.ty {
        let items = &property["items"];
        match expected_value_schema(item) {
            e if e.get("$ref").is_some() && matches!(item, WireType::Object(_)) => {
                assert_eq!(items, &e, "{what}")
            }
            e => assert_eq!(items["type"], e["type"], "{what}"),
        }
        assert_eq!(property["xml"]["wrapped"], true, "{what}");
    }
    assert_eq!(
        property["nullable"].as_bool().unwrap_or(false),
        m.nullable,
        "{what}"
    );
    assert_eq!(property["xml"]["name"], m.name, "{what}");
    if let Some(description) = m.description {
        assert!(
            property["description"]
                .as_str()
                .is_some_and(|d| d.starts_with(description)),
            "{what}"
        );
    }
}

#[tokio::test]
async fn the_patch_session_operation_is_the_contracts_route_verb_path_member_and_body() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let op = operations::operation(OpId::PatchSession);
    let route = &op.routes[0];
    let operation = &doc["paths"][route.path][route.verbs[0].to_ascii_lowercase()];
    assert_eq!(operation["operationId"], op.name());

    // The path variable is the one parameter, with the member's rules; nothing in the query.
    let var = route.path.split('{').nth(1).unwrap().trim_end_matches('}');
    let member = op.request.slot_by_key(var).unwrap().member;
    assert!(member.rules.required);
    assert_eq!(
        operation["parameters"],
        json!([{
            "name": var, "in": "path", "required": true,
            "schema": {"type": "string", "maxLength": member.rules.max_chars.unwrap(),
                       "minLength": 1, "pattern": "\\S"},
        }])
    );

    // One body schema, in JSON and XML, with every other member of the DTO.
    let content = &operation["requestBody"]["content"];
    let media: Vec<&String> = content.as_object().unwrap().keys().collect();
    assert_eq!(media, ["application/json", "application/xml"]);
    assert_eq!(content["application/json"], content["application/xml"]);
    let body = resolve(&doc, &content["application/json"]["schema"]);
    let body_members: Vec<&Member> = op
        .request
        .slots()
        .into_iter()
        .map(|s| s.member)
        .filter(|m| !m.json.eq_ignore_ascii_case(var))
        .collect();
    let mut keys: Vec<&str> = body["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected_keys: Vec<&str> = body_members.iter().map(|m| m.json).collect();
    keys.sort_unstable();
    expected_keys.sort_unstable();
    assert_eq!(
        keys, expected_keys,
        "the body holds the members but the path's"
    );
    for m in &body_members {
        assert_property(&doc, &body["properties"][m.json], m);
    }
    assert_eq!(body["required"], Value::Null, "no body member is required");
    assert_eq!(body["xml"]["name"], op.request.name);
    assert_eq!(body["xml"]["namespace"], op.request.xml_namespace);

    // Any of the three credentials.
    assert!(op.requires_auth);
    assert_eq!(
        operation["security"],
        json!([{"basicAuth": []}, {"apiKey": []}, {"sessionCookie": []}])
    );
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["basicAuth"],
        json!({"type": "http", "scheme": "basic", "description": schemes["basicAuth"]["description"]})
    );
    assert_eq!(schemes["apiKey"]["scheme"], "bearer");
    assert_eq!(
        (
            &schemes["sessionCookie"]["in"],
            &schemes["sessionCookie"]["name"]
        ),
        (&json!("cookie"), &json!("ss-id"))
    );

    // SessionInfo in both formats; every error a ServiceStack ErrorResponse.
    let responses = operation["responses"].as_object().unwrap();
    for media in ["application/json", "application/xml"] {
        assert_eq!(
            responses["200"]["content"][media]["schema"],
            schema_ref(op.response.name)
        );
    }
    let statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
    assert_eq!(
        statuses,
        [
            "200", "400", "401", "403", "404", "406", "413", "415", "429", "500", "503", "504"
        ]
    );
    for status in &statuses[1..] {
        let response = resolve(&doc, &responses[*status]);
        assert_eq!(
            response["content"]["application/json"]["schema"],
            schema_ref("ErrorResponse"),
            "{status}"
        );
    }
    assert!(responses["401"]["$ref"].is_string());
    let unauthorized = resolve(&doc, &responses["401"]);
    assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
    let error = &doc["components"]["schemas"]["ErrorResponse"];
    assert_eq!(error["required"], json!(["responseStatus"]));
    assert_eq!(
        error["properties"]["responseStatus"]["allOf"],
        json!([schema_ref("ResponseStatus")])
    );
}

#[tokio::test]
async fn the_session_info_schema_is_every_member_of_the_contract_with_its_enums() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let td = SessionInfo::TYPE;
    let schema = &doc["components"]["schemas"][td.name];
    let slots = td.slots();
    let properties = schema["properties"].as_object().unwrap();
    assert_eq!(properties.len(), slots.len());
    for slot in &slots {
        let property = &properties[slot.member.json];
        assert_property(&doc, property, slot.member);
        // Base members are elements of their own type's namespace, as DataContract writes them.
        let namespace =
            (slot.owner.xml_namespace != td.xml_namespace).then_some(slot.owner.xml_namespace);
        assert_eq!(
            property["xml"]["namespace"].as_str(),
            namespace,
            "{}",
            slot.member.json
        );
        if let WireType::Enum(def) = &slot.member.ty {
            let names: Vec<&str> = def.values.iter().map(|(n, _)| *n).collect();
            let component = &doc["components"]["schemas"][def.name];
            assert_eq!(component["type"], "string");
            assert_eq!(component["enum"], json!(names), "{}", def.name);
        }
    }
    // Always written, so required; in the contract's order.
    let required: Vec<&str> = slots
        .iter()
        .filter(|s| !s.member.nullable)
        .map(|s| s.member.json)
        .collect();
    assert_eq!(schema["required"], json!(required));
    assert_eq!(
        schema["xml"],
        json!({"name": td.name, "namespace": td.xml_namespace})
    );
    // Nested types are components too, and a list of them names its items as DataContract does.
    let breadcrumb = td.slot_by_field("customer_breadcrumb").unwrap().member;
    let WireType::List(WireType::Object(item)) = &breadcrumb.ty else {
        panic!("a list of objects")
    };
    let component = &doc["components"]["schemas"][item.name];
    assert_eq!(component["xml"]["name"], item.name);
    assert_eq!(component["xml"]["namespace"], item.xml_namespace);
}

#[tokio::test]
async fn the_document_is_public_cacheable_and_json_whatever_the_request_asks_for() {
    let app = TestApp::spawn().await;
    let first = app.get("/openapi").await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").expect("an ETag").to_string();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "a strong tag: {etag}"
    );
    assert_eq!(first.header("cache-control"), Some("no-cache"));

    let again = app.get("/openapi").header("If-None-Match", &etag).await;
    assert_eq!(again.status, 304);
    assert_eq!(again.text, "");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let weak = app
        .get("/openapi")
        .header("If-None-Match", &format!("\"other\", W/{etag}"))
        .await;
    assert_eq!(weak.status, 304, "weak comparison, any tag of the list");
    let changed = app
        .get("/openapi")
        .header("If-None-Match", "\"other\"")
        .await;
    assert_eq!(changed.status, 200);

    // A browser's Accept (which prefers XML here), the official media type, a suffix, the
    // path's case: the same JSON document.
    for (path, accept) in [
        (
            "/openapi",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("/openapi", "application/vnd.oai.openapi+json"),
        ("/openapi.json", "application/json"),
        ("/OpenAPI", "*/*"),
    ] {
        let res = app.get(path).accept(accept).await;
        assert_eq!(
            (res.status, res.content_type()),
            (200, JSON_UTF8),
            "{path} {accept}"
        );
        assert_eq!(res.text, first.text, "{path} {accept}");
    }

    let head = app.request(Method::HEAD, "/openapi").await;
    assert_eq!((head.status, head.text.as_str()), (200, ""));
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    let post = app.post("/openapi").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.error_code(), "NotImplementedException");
}
