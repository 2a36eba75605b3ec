//! Builds the OpenAPI 3.0.3 document from [`crate::contract`]: paths from the operation table,
//! schemas from the DTO and enum descriptions. Nothing here names a DTO member.

use super::tree::Json;
use crate::contract::operations::{OPERATIONS, OpId, Operation, Route};
use crate::contract::servicestack::ErrorResponse;
use crate::contract::{Dto, EnumDef, Member, TypeDef, WireType};
use crate::wire::xml::item_contract;

pub const OPENAPI_VERSION: &str = "3.0.3";

const JSON_MEDIA: &str = "application/json";
const XML_MEDIA: &str = "application/xml";
/// The body media types listed. The binder also reads urlencoded and multipart forms
/// (`http::input`), but a form cannot carry null (the text `null` is a value), lists or nested
/// objects, so the one body schema would misdescribe it.
const BODY_MEDIA: &[&str] = &[JSON_MEDIA, XML_MEDIA];

/// Verbs whose request members travel in the body; with the others they are query parameters
/// (ServiceStack binds the query on every verb, but a body on GET/HEAD/DELETE/OPTIONS has no
/// defined meaning and most tools cannot send one).
const BODY_VERBS: &[&str] = &["POST", "PUT", "PATCH"];

/// The security schemes, by their names in `components.securitySchemes`.
const BASIC: &str = "basicAuth";
const API_KEY: &str = "apiKey";
const SESSION_COOKIE: &str = "sessionCookie";

/// One error status the server answers, rendered as a shared `components.responses` entry.
struct ErrorStatus {
    status: u16,
    name: &'static str,
    description: &'static str,
    /// JSON only: negotiation failed, so the error cannot be in the format asked for.
    json_only: bool,
    header: Option<(&'static str, &'static str)>,
}

const ERRORS: &[ErrorStatus] = &[
    ErrorStatus {
        status: 400,
        name: "BadRequest",
        description: "The request could not be bound to its DTO or failed validation \
                      (SerializationException, NotEmpty, InvalidLength, ...); `errors` names \
                      each bad field.",
        json_only: false,
        header: None,
    },
    ErrorStatus {
        status: 401,
        name: "Unauthorized",
        description: "No credentials, or credentials that are not valid. A failed login \
                      answers this body as an AuthenticateResponse (the same JSON; in XML \
                      the root element is AuthenticateResponse).",
        json_only: false,
        header: Some((
            "WWW-Authenticate",
            "The Basic challenge: basic realm=\"/auth/basic\"",
        )),
    },
    ErrorStatus {
        status: 403,
        name: "Forbidden",
        description: "The caller may not reach this object's account, or a browser sent the \
                      change from another site whose origin is not allowed.",
        json_only: false,
        header: None,
    },
    ErrorStatus {
        status: 404,
        name: "NotFound",
        description: "The object (or authentication provider) does not exist.",
        json_only: false,
        header: None,
    },
    ErrorStatus {
        status: 405,
        name: "MethodNotAllowed",
        description: "The verb is refused for this request (NotImplementedException).",
        json_only: false,
        header: None,
    },
    ErrorStatus {
        status: 406,
        name: "NotAcceptable",
        description: "The Accept header allows neither JSON nor XML; the error is JSON.",
        json_only: true,
        header: None,
    },
    ErrorStatus {
        status: 413,
        name: "PayloadTooLarge",
        description: "The request body is larger than the server's limit.",
        json_only: false,
        header: None,
    },
    ErrorStatus {
        status: 415,
        name: "UnsupportedMediaType",
        description: "The request body's Content-Type is not JSON, XML or a form.",
        json_only: false,
        header: None,
    },
    ErrorStatus {
        status: 429,
        name: "TooManyRequests",
        description: "Too many failed logins for this user name; retry after the lock ends.",
        json_only: false,
        header: Some(("Retry-After", "Seconds until the lock ends.")),
    },
    ErrorStatus {
        status: 500,
        name: "InternalServerError",
        description: "An unexpected failure (logged by the server, never detailed here).",
        json_only: false,
        header: None,
    },
    ErrorStatus {
        status: 503,
        name: "ServiceUnavailable",
        description: "The database is unavailable or the request took too long; nothing was \
                      applied and a retry may succeed.",
        json_only: false,
        header: None,
    },
    ErrorStatus {
        status: 504,
        name: "GatewayTimeout",
        description: "The database stopped answering while the request was running: its \
                      outcome is unknown.",
        json_only: false,
        header: None,
    },
];

/// The error statuses `op` can answer on `verb`. What every request can meet (binding,
/// negotiation, body limits, the database) comes from the wire layer; the rest from what the
/// operation is.
pub fn error_statuses(op: &Operation, verb: &str) -> Vec<u16> {
    let mut statuses = vec![400, 406, 413, 415, 500, 503, 504];
    if op.requires_auth {
        // Basic credentials on any request count towards the per-name throttle.
        statuses.extend([401, 429]);
    }
    if op.mutates {
        statuses.push(403);
    }
    match op.id {
        // Another account's session, and an unknown one.
        OpId::PatchSession | OpId::GetSession => statuses.extend([403, 404]),
        // Failed logins, cross-site logins, unknown providers, and a login by GET/HEAD.
        OpId::Authenticate => {
            statuses.extend([401, 403, 404, 429]);
            if verb == "GET" || verb == "HEAD" {
                statuses.push(405);
            }
        }
        // An explicit account outside the caller's.
        OpId::ListSessions | OpId::DeleteSessions => statuses.push(403),
        OpId::GetAuthStatus => {}
    }
    statuses.sort_unstable();
    statuses.dedup();
    statuses
}

/// The whole document.
pub fn build() -> Json {
    let mut schemas = Schemas::default();
    let mut paths = Json::object();
    let mut tags: Vec<&str> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for op in OPERATIONS {
        if !tags.contains(&op.request.namespace) {
            tags.push(op.request.namespace);
        }
        for (i, route) in op.routes.iter().enumerate() {
            for verb in route.verbs {
                let id = operation_id(op, i, verb, &ids);
                let operation = schemas.operation(op, route, verb, &id);
                ids.push(id);
                paths
                    .entry(route.path)
                    .set(&verb.to_ascii_lowercase(), operation);
            }
        }
    }
    schemas.type_ref(ErrorResponse::TYPE);
    let tags: Vec<Json> = tags
        .into_iter()
        .map(|t| Json::object().with("name", t))
        .collect();
    Json::object()
        .with("openapi", OPENAPI_VERSION)
        .with("info", info())
        .with("tags", tags)
        .with("paths", paths)
        .with(
            "components",
            Json::object()
                .with("schemas", schemas.entries)
                .with("responses", error_responses())
                .with("securitySchemes", security_schemes()),
        )
}

fn info() -> Json {
    Json::object()
        .with("title", "Evo Voice Sessions API")
        .with("version", env!("CARGO_PKG_VERSION"))
        .with(
            "description",
            "The Evo Voice Sessions API as voice-api serves it, wire-compatible with the \
             ServiceStack original. Every operation answers JSON or DataContract XML, chosen \
             by a `.json`/`.xml` path suffix, `?format=`, or `Accept`. Every operation is also \
             reachable by name on ServiceStack's predefined routes (`/api/{Op}`, \
             `/json/reply/{Op}`, `/xml/reply/{Op}`), which this document does not list. Every \
             error body is a ServiceStack ResponseStatus.",
        )
}

/// `PatchSession` for an operation with one route and verb; otherwise the name, the verb and,
/// for routes after the first, their path variables (`AuthenticatePostByProvider`).
fn operation_id(op: &Operation, route: usize, verb: &str, taken: &[String]) -> String {
    let single = op.routes.len() == 1 && op.routes[0].verbs.len() == 1;
    let mut id = op.name().to_string();
    if !single {
        id.push_str(&pascal(verb));
        if route > 0 {
            let vars = path_vars(&op.routes[route]);
            if !vars.is_empty() {
                id.push_str("By");
                id.push_str(&vars.iter().map(|v| pascal(v)).collect::<String>());
            }
        }
    }
    if taken.contains(&id) {
        id.push_str(&route.to_string());
    }
    id
}

fn pascal(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The `{variables}` of a route path.
fn path_vars(route: &Route) -> Vec<&'static str> {
    route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn reference(kind: &str, name: &str) -> Json {
    Json::object().with("$ref", format!("#/components/{kind}/{name}"))
}

fn security(optional: bool) -> Json {
    let mut alternatives = Vec::new();
    if optional {
        // An empty requirement: anonymous callers are served too.
        alternatives.push(Json::object());
    }
    for scheme in [BASIC, API_KEY, SESSION_COOKIE] {
        alternatives.push(Json::object().with(scheme, Vec::<Json>::new()));
    }
    Json::Array(alternatives)
}

fn security_schemes() -> Json {
    Json::object()
        .with(
            BASIC,
            Json::object()
                .with("type", "http")
                .with("scheme", "basic")
                .with(
                    "description",
                    "HTTP Basic with the user's e-mail address and password, on every request.",
                ),
        )
        .with(
            API_KEY,
            Json::object()
                .with("type", "http")
                .with("scheme", "bearer")
                .with(
                    "description",
                    "An API key (`voice-api apikey add`) as the bearer token: \
                     `Authorization: Bearer KEY`.",
                ),
        )
        .with(
            SESSION_COOKIE,
            Json::object()
                .with("type", "apiKey")
                .with("in", "cookie")
                .with("name", "ss-id")
                .with(
                    "description",
                    "The login session of `POST /auth/credentials`, in the `ss-id` cookie \
                     (with rememberMe: `ss-pid` and `ss-opt=perm`); the `X-ss-id`, \
                     `X-ss-pid` and `X-ss-opt` headers work alike.",
                ),
        )
}

fn error_responses() -> Json {
    let mut out = Json::object();
    for e in ERRORS {
        let mut content = Json::object();
        let body = Json::object().with("schema", reference("schemas", ErrorResponse::TYPE.name));
        content.set(JSON_MEDIA, body.clone());
        if !e.json_only {
            content.set(XML_MEDIA, body);
        }
        let mut response = Json::object()
            .with("description", e.description)
            .with("content", content);
        if let Some((name, description)) = e.header {
            response.set("headers", header(name, description));
        }
        out.set(e.name, response);
    }
    out
}

fn header(name: &str, description: &str) -> Json {
    Json::object().with(
        name,
        Json::object()
            .with("description", description)
            .with("schema", Json::object().with("type", "string")),
    )
}

/// The component schemas, registered as the operations reach them.
struct Schemas {
    entries: Json,
}

impl Default for Schemas {
    fn default() -> Self {
        Schemas {
            entries: Json::object(),
        }
    }
}

impl Schemas {
    fn has(&self, name: &str) -> bool {
        self.entries.get(name).is_some()
    }

    fn put(&mut self, name: &str, schema: Json) {
        self.entries.set(name, schema);
    }

    fn operation(&mut self, op: &Operation, route: &Route, verb: &str, id: &str) -> Json {
        let vars = path_vars(route);
        let is_path = |m: &Member| vars.iter().any(|v| v.eq_ignore_ascii_case(m.json));
        let in_body = BODY_VERBS.contains(&verb);
        let mut parameters = Vec::new();
        for var in &vars {
            let member = op.request.slot_by_key(var).map(|s| s.member);
            let schema = match member {
                Some(m) => self.param_schema(m),
                None => Json::object().with("type", "string"),
            };
            parameters.push(
                Json::object()
                    .with("name", *var)
                    .with("in", "path")
                    .with("required", true)
                    .with_opt("description", member.and_then(describe))
                    .with("schema", schema),
            );
        }
        if !in_body {
            for slot in op.request.slots() {
                let m = slot.member;
                if is_path(m) {
                    continue;
                }
                parameters.push(
                    Json::object()
                        .with("name", m.json)
                        .with("in", "query")
                        .with("required", m.rules.required)
                        .with_opt("description", describe(m))
                        .with("schema", self.param_schema(m)),
                );
            }
        }
        let mut operation = Json::object()
            .with("tags", vec![Json::from(op.request.namespace)])
            .with("summary", op.request.description.unwrap_or(op.name()))
            .with("operationId", id);
        if !parameters.is_empty() {
            operation.set("parameters", parameters);
        }
        if in_body {
            let schema = self.body_ref(op, route, &is_path);
            let mut content = Json::object();
            for media in BODY_MEDIA {
                content.set(media, Json::object().with("schema", schema.clone()));
            }
            operation.set(
                "requestBody",
                Json::object()
                    .with("required", false)
                    .with("content", content),
            );
        }
        operation.set("responses", self.responses(op, verb));
        operation.set("security", security(!op.requires_auth));
        operation
    }

    fn responses(&mut self, op: &Operation, verb: &str) -> Json {
        // HEAD answers carry the headers of GET's and no body.
        let head = verb == "HEAD";
        let mut ok = Json::object().with("description", op.response.name);
        if !head {
            let body = Json::object().with("schema", self.type_ref(op.response));
            ok.set(
                "content",
                Json::object()
                    .with(JSON_MEDIA, body.clone())
                    .with(XML_MEDIA, body),
            );
        }
        if op.id == OpId::Authenticate {
            ok.set(
                "headers",
                header(
                    "Set-Cookie",
                    "A login sets `ss-id`, `ss-pid` and `ss-opt`; a logout clears them.",
                ),
            );
        }
        let mut out = Json::object().with("200", ok);
        for status in error_statuses(op, verb) {
            let e = ERRORS
                .iter()
                .find(|e| e.status == status)
                .expect("every status has its ERRORS entry");
            let response = match head {
                true => Json::object().with("description", e.description),
                false => reference("responses", e.name),
            };
            out.set(&status.to_string(), response);
        }
        out
    }

    /// `$ref` to the body schema of `op` on `route`, named as the request DTO for the
    /// operation's first route and `{DTO}By{Vars}` for later routes that bind other members
    /// from their path (`AuthenticateByProvider`).
    fn body_ref(
        &mut self,
        op: &Operation,
        route: &Route,
        is_path: &dyn Fn(&Member) -> bool,
    ) -> Json {
        let mut name = op.name().to_string();
        if !std::ptr::eq(route, &op.routes[0]) {
            let vars = path_vars(route);
            if vars != path_vars(&op.routes[0]) {
                name.push_str("By");
                name.push_str(&vars.iter().map(|v| pascal(v)).collect::<String>());
                if vars.is_empty() {
                    name.push_str("Route");
                }
            }
        }
        if !self.has(&name) {
            let schema = self.body_schema(op.request, is_path);
            self.put(&name, schema);
        }
        reference("schemas", &name)
    }

    /// A request body: the DTO's members that are not path variables of the route (those are
    /// path parameters, and the path wins over the body when both have one).
    fn body_schema(&mut self, td: &'static TypeDef, is_path: &dyn Fn(&Member) -> bool) -> Json {
        let mut properties = Json::object();
        let mut required = Vec::new();
        for slot in td.slots() {
            let m = slot.member;
            if is_path(m) {
                continue;
            }
            let namespace =
                (slot.owner.xml_namespace != td.xml_namespace).then_some(slot.owner.xml_namespace);
            properties.set(m.json, self.property(m, namespace));
            if m.rules.required {
                required.push(Json::from(m.json));
            }
        }
        self.object_schema(td, properties, required)
    }

    /// A component schema: a DTO as responses carry it, base members flattened in (as on the
    /// wire); members that are not nullable are always written, so they are required.
    fn type_schema(&mut self, td: &'static TypeDef) -> Json {
        let mut properties = Json::object();
        let mut required = Vec::new();
        for slot in td.slots() {
            let m = slot.member;
            let namespace =
                (slot.owner.xml_namespace != td.xml_namespace).then_some(slot.owner.xml_namespace);
            properties.set(m.json, self.property(m, namespace));
            if !m.nullable {
                required.push(Json::from(m.json));
            }
        }
        self.object_schema(td, properties, required)
    }

    fn object_schema(
        &mut self,
        td: &'static TypeDef,
        properties: Json,
        required: Vec<Json>,
    ) -> Json {
        let mut schema = Json::object()
            .with("title", td.name)
            .with("type", "object")
            .with_opt("description", td.description)
            .with("properties", properties);
        if !required.is_empty() {
            schema.set("required", required);
        }
        schema.with(
            "xml",
            Json::object()
                .with("name", td.name)
                .with("namespace", td.xml_namespace),
        )
    }

    /// `$ref` to the component schema of `td`, registering it (and what it reaches) first.
    fn type_ref(&mut self, td: &'static TypeDef) -> Json {
        if !self.has(td.name) {
            // Registered before its members, so a type that reaches itself terminates.
            self.put(td.name, Json::object());
            let schema = self.type_schema(td);
            self.put(td.name, schema);
        }
        reference("schemas", td.name)
    }

    fn enum_ref(&mut self, def: &'static EnumDef) -> Json {
        if !self.has(def.name) {
            let names: Vec<Json> = def.values.iter().map(|(n, _)| Json::from(*n)).collect();
            let values: Vec<String> = def
                .values
                .iter()
                .map(|(n, v)| format!("{n} = {v}"))
                .collect();
            let schema = Json::object()
                .with("title", def.name)
                .with("type", "string")
                .with("enum", names)
                .with(
                    "description",
                    format!(
                        "Written by name. Requests may also use any case or the integer \
                         value ({}).",
                        values.join(", ")
                    ),
                );
            self.put(def.name, schema);
        }
        reference("schemas", def.name)
    }

    /// The schema of a value of wire type `ty`.
    fn value_schema(&mut self, ty: &'static WireType) -> Json {
        let typed = |t: &str| Json::object().with("type", t);
        match ty {
            WireType::Text => typed("string"),
            WireType::Bool => typed("boolean"),
            WireType::Int => typed("integer").with("format", "int32"),
            WireType::Enum(def) => self.enum_ref(def),
            WireType::Object(td) => self.type_ref(td),
            WireType::StringMap => typed("object").with("additionalProperties", typed("string")),
            WireType::List(item) => {
                let (name, namespace) = item_contract(item);
                let xml = Json::object()
                    .with("name", name)
                    .with("namespace", namespace);
                let items = match item {
                    // The referenced schema names its own elements.
                    WireType::Object(_) => self.value_schema(item),
                    WireType::Enum(_) => Json::object()
                        .with("allOf", vec![self.value_schema(item)])
                        .with("xml", xml),
                    _ => self.value_schema(item).with("xml", xml),
                };
                typed("array").with("items", items)
            }
        }
    }

    /// A query or path parameter's schema: the value's, with the member's rules.
    fn param_schema(&mut self, m: &'static Member) -> Json {
        let schema = self.value_schema(&m.ty);
        constrain(schema, m)
    }

    /// A property: its value's schema with the member's description, nullability, rules and
    /// XML element. OpenAPI 3.0 ignores the siblings of a `$ref`, so a reference is wrapped in
    /// `allOf`.
    fn property(&mut self, m: &'static Member, namespace: Option<&str>) -> Json {
        let mut schema = self.value_schema(&m.ty);
        if schema.get("$ref").is_some() {
            schema = Json::object().with("allOf", vec![schema]);
        }
        let mut xml = Json::object()
            .with("name", m.name)
            .with_opt("namespace", namespace);
        if matches!(m.ty, WireType::List(_)) {
            xml.set("wrapped", true);
        }
        let schema = constrain(schema, m).with_opt("description", describe(m));
        let schema = match m.nullable {
            true => schema.with("nullable", true),
            false => schema,
        };
        schema.with("xml", xml)
    }
}

/// The member's rules as JSON Schema keywords, where JSON Schema can say them.
fn constrain(schema: Json, m: &Member) -> Json {
    if !matches!(m.ty, WireType::Text) {
        return schema;
    }
    let mut schema = schema.with_opt("maxLength", m.rules.max_chars);
    if m.rules.required {
        // NotEmpty: present and not blank.
        schema = schema.with("minLength", 1usize).with("pattern", "\\S");
    }
    schema
}

/// The member's description, with the rules JSON Schema cannot say.
fn describe(m: &Member) -> Option<String> {
    let mut text = m.description.map(str::to_string);
    if let Some(bytes) = m.rules.max_bytes {
        let rule = format!("At most {bytes} bytes of UTF-8.");
        text = Some(match text {
            Some(t) => format!("{t}. {rule}"),
            None => rule,
        });
    }
    text
}
