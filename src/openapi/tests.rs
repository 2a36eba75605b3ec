use super::*;
use crate::contract::operations::OPERATIONS;
use crate::contract::sessions::SessionInfo;
use crate::contract::{Dto, TypeDef};

fn refs<'a>(node: &'a Json, out: &mut Vec<&'a str>) {
    match node {
        Json::Object(entries) => {
            for (k, v) in entries {
                match (k.as_str(), v) {
                    ("$ref", Json::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

fn operations(doc: &Json) -> Vec<&Json> {
    let paths = doc.get("paths").unwrap();
    paths
        .keys()
        .into_iter()
        .flat_map(|p| {
            let item = paths.get(p).unwrap();
            item.keys()
                .into_iter()
                .map(move |verb| item.get(verb).unwrap())
        })
        .collect()
}

/// What a `$ref` names, or the node itself.
fn resolve<'a>(doc: &'a Json, node: &'a Json) -> &'a Json {
    let Some(Json::String(r)) = node.get("$ref") else {
        return node;
    };
    let mut target = doc;
    for part in r.strip_prefix("#/").expect("a local reference").split('/') {
        target = target.get(part).unwrap_or_else(|| panic!("{r} resolves"));
    }
    target
}

#[test]
fn every_reference_names_a_component() {
    let doc = build();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let node = Json::object().with("$ref", r);
        resolve(&doc, &node);
    }
}

#[test]
fn operation_ids_are_unique_and_every_route_verb_is_listed() {
    let doc = build();
    let ops = operations(&doc);
    let expected: usize = OPERATIONS
        .iter()
        .flat_map(|op| op.routes)
        .map(|r| r.verbs.len())
        .sum();
    assert_eq!(ops.len(), expected);
    let mut ids: Vec<&Json> = ops.iter().map(|o| o.get("operationId").unwrap()).collect();
    ids.sort_by_key(|j| format!("{j:?}"));
    ids.dedup();
    assert_eq!(ids.len(), expected);
}

/// The properties in the contract's order (base members first), required where not nullable.
fn assert_component_follows_contract(doc: &Json, td: &'static TypeDef) {
    let schema = doc
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(|s| s.get(td.name))
        .unwrap_or_else(|| panic!("{} is a component", td.name));
    let slots = td.slots();
    let keys: Vec<&str> = slots.iter().map(|s| s.member.json).collect();
    assert_eq!(schema.get("properties").unwrap().keys(), keys);
    let required: Vec<Json> = slots
        .iter()
        .filter(|s| !s.member.nullable)
        .map(|s| Json::from(s.member.json))
        .collect();
    assert_eq!(schema.get("required"), Some(&Json::Array(required)));
    for slot in &slots {
        let property = schema
            .get("properties")
            .unwrap()
            .get(slot.member.json)
            .unwrap();
        let xml = property.get("xml").unwrap();
        assert_eq!(xml.get("name"), Some(&Json::from(slot.member.name)));
        assert_eq!(
            property.get("nullable").is_some(),
            slot.member.nullable,
            "{}",
            slot.member.json
        );
    }
}

#[test]
fn session_info_lists_its_members_in_the_contracts_order() {
    assert_component_follows_contract(&build(), SessionInfo::TYPE);
}

#[test]
fn no_request_member_is_in_two_places() {
    let doc = build();
    for op in operations(&doc) {
        let mut names: Vec<String> = Vec::new();
        if let Some(Json::Array(params)) = op.get("parameters") {
            for p in params {
                let Some(Json::String(name)) = p.get("name") else {
                    panic!("a named parameter")
                };
                names.push(name.to_ascii_lowercase());
            }
        }
        if let Some(body) = op.get("requestBody") {
            let content = body.get("content").unwrap();
            for media in content.keys() {
                let schema = resolve(&doc, content.get(media).unwrap().get("schema").unwrap());
                for key in schema.get("properties").unwrap().keys() {
                    assert!(
                        !names.contains(&key.to_ascii_lowercase()),
                        "{key} is both a parameter and in the body of {:?}",
                        op.get("operationId")
                    );
                }
            }
        }
    }
}

#[test]
fn the_served_document_has_a_strong_etag_of_its_bytes() {
    let doc = document();
    assert!(doc.etag.starts_with('"') && doc.etag.ends_with('"') && doc.etag.len() == 34);
    let parsed: serde_json::Value = serde_json::from_slice(&doc.body).unwrap();
    assert_eq!(parsed["openapi"], OPENAPI_VERSION);
}

#[test]
fn if_none_match_matches_any_listed_tag_weakly_or_star() {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::IF_NONE_MATCH,
        HeaderValue::from_static("\"other\", W/\"abc\""),
    );
    assert!(not_modified(&headers, "\"abc\""));
    assert!(!not_modified(&headers, "\"abd\""));
    headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
    assert!(not_modified(&headers, "\"abc\""));
    assert!(!not_modified(&HeaderMap::new(), "\"abc\""));
}
