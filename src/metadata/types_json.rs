//! `/types/metadata`: ServiceStack's `MetadataTypes` document (what its own tools and
//! `@servicestack/client`'s `MetadataTypes` classes read): the config, the namespaces, the
//! non-operation types, and per operation its request and response types, verbs, routes and
//! whether it needs authentication. .NET type names as ServiceStack reports them (`String`,
//! `Boolean`, ``List`1`` with generic arguments, ``Nullable`1`` for nullable value types).

use super::plan::{self, Decl};
use crate::contract::operations::Operation;
use crate::contract::{DictionaryDef, EnumDef, Member, TypeDef, WireType};
use serde_json::{Map, Value, json};

pub fn document(decls: &[Decl], ops: &[&'static Operation], base_url: &str) -> String {
    let requests: Vec<&str> = ops.iter().map(|op| op.name()).collect();
    let responses: Vec<&str> = ops.iter().map(|op| op.response.name).collect();
    let mut namespaces: Vec<&str> = decls.iter().map(|d| d.namespace()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    let types: Vec<Value> = decls
        .iter()
        .filter(|d| !requests.contains(&d.name()) && !responses.contains(&d.name()))
        .map(|d| match d {
            Decl::Class(td) => class(td),
            Decl::Enum(def) => enumeration(def),
            Decl::Dictionary(dict) => dictionary(dict),
        })
        .collect();
    let operations: Vec<Value> = ops.iter().map(|op| operation(op)).collect();
    let doc = json!({
        "config": {"baseUrl": base_url},
        "namespaces": namespaces,
        "types": types,
        "operations": operations,
    });
    doc.to_string()
}

fn type_ref(name: &str, namespace: &str) -> Value {
    json!({"name": name, "namespace": namespace})
}

fn operation(op: &'static Operation) -> Value {
    let mut request = class(op.request);
    let mut implements = vec![json!({"name": "IReturn`1", "namespace": "ServiceStack",
        "genericArgs": [op.response.name]})];
    if let Some(verb) = plan::verb(op) {
        implements.push(json!({"name": plan::verb_marker(verb), "namespace": "ServiceStack"}));
    }
    request["implements"] = Value::Array(implements);
    let mut actions: Vec<&str> = op
        .routes
        .iter()
        .flat_map(|r| r.verbs.iter().copied())
        .collect();
    actions.dedup();
    let routes: Vec<Value> = op
        .routes
        .iter()
        .map(|r| json!({"path": r.path, "verbs": r.verbs.join(",")}))
        .collect();
    let mut out = json!({
        "request": request,
        "response": class(op.response),
        "actions": actions,
        "returnsVoid": false,
        "returnType": type_ref(op.response.name, op.response.namespace),
        "routes": routes,
        "requiresAuth": op.requires_auth,
    });
    if let Some(verb) = plan::verb(op) {
        out["method"] = json!(verb);
    }
    out
}

fn class(td: &TypeDef) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(td.name));
    out.insert("namespace".into(), json!(td.namespace));
    if let Some(base) = td.base {
        out.insert("inherits".into(), type_ref(base.name, base.namespace));
    }
    if let Some(text) = td.description {
        out.insert("description".into(), json!(text));
    }
    let properties: Vec<Value> = td.members.iter().map(property).collect();
    out.insert("properties".into(), Value::Array(properties));
    Value::Object(out)
}

fn enumeration(def: &EnumDef) -> Value {
    let names: Vec<&str> = def.values.iter().map(|(n, _)| *n).collect();
    let values: Vec<String> = def.values.iter().map(|(_, v)| v.to_string()).collect();
    json!({"name": def.name, "namespace": def.namespace, "isEnum": true,
        "enumNames": names, "enumValues": values})
}

fn dictionary(dict: &DictionaryDef) -> Value {
    json!({"name": dict.name, "namespace": dict.namespace,
        "inherits": {"name": "Dictionary`2", "genericArgs": ["String", dict.value.name]},
        "properties": []})
}

fn property(member: &Member) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(member.name));
    let (ty, args, value_type, namespace) = dotnet_type(&member.ty);
    let nullable_value = member.nullable && value_type;
    match nullable_value {
        true => {
            out.insert("type".into(), json!("Nullable`1"));
            out.insert("genericArgs".into(), json!([ty]));
        }
        false => {
            out.insert("type".into(), json!(ty));
            if !args.is_empty() {
                out.insert("genericArgs".into(), json!(args));
            }
        }
    }
    if let Some(ns) = namespace {
        out.insert("namespace".into(), json!(ns));
    }
    if value_type {
        out.insert("isValueType".into(), json!(true));
    }
    if matches!(member.ty, WireType::Enum(_)) {
        out.insert("isEnum".into(), json!(true));
    }
    if member.rules.required {
        out.insert("isRequired".into(), json!(true));
    }
    if let Some(text) = member.description {
        out.insert("description".into(), json!(text));
    }
    Value::Object(out)
}

/// The .NET type name, its generic arguments, whether it is a value type, its namespace.
fn dotnet_type(ty: &WireType) -> (String, Vec<String>, bool, Option<&'static str>) {
    match ty {
        WireType::Text => ("String".into(), vec![], false, Some("System")),
        WireType::Bool => ("Boolean".into(), vec![], true, Some("System")),
        WireType::Int => ("Int32".into(), vec![], true, Some("System")),
        WireType::Enum(def) => (def.name.into(), vec![], true, Some(def.namespace)),
        WireType::List(inner) => {
            let (name, _, _, _) = dotnet_type(inner);
            (
                "List`1".into(),
                vec![name],
                false,
                Some("System.Collections.Generic"),
            )
        }
        WireType::StringMap => (
            "Dictionary`2".into(),
            vec!["String".into(), "String".into()],
            false,
            Some("System.Collections.Generic"),
        ),
        WireType::Object(td) => (td.name.into(), vec![], false, Some(td.namespace)),
    }
}
