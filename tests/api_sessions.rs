//! `PATCH /sessions/{sessionId}` and `GET /sessions/{sessionId}` through the real HTTP server:
//! the foundation issue's rules, each as its own test, with whole responses compared.

#![recursion_limit = "256"]

mod common;

use common::{TestApp, spawn_app};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt;

const ACCOUNT: &str = "5f0c1a2b3c4d5e6f7a8b9c00";
const OTHER_ACCOUNT: &str = "5f0c1a2b3c4d5e6f7a8b9cff";
const SESSION: &str = "5f0c1a2b3c4d5e6f7a8b9c01";
const OTHER_SESSION: &str = "5f0c1a2b3c4d5e6f7a8b9c02";
/// A colon and non-ASCII in the password: Basic splits user and password at the first colon.
const PASSWORD: &str = "pa:ss wörd \"42\"";
const JSON_UTF8: &str = "application/json; charset=utf-8";
const CHALLENGE: &str = "basic realm=\"/auth/basic\"";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A session with every field set to a non-default value, unicode and quotes in its strings,
/// and maps whose keys are not in alphabetical order.
fn full_session(id: &str, account: &str) -> Value {
    json!({
        "id": id,
        "dateCreated": "2026-11-25T09:00:00.000Z",
        "dateLastModified": "2026-11-25T09:05:00.250Z",
        "createdBy": "64b7f0c2a1d3e4f5a6b70001",
        "lastModifiedBy": "64b7f0c2a1d3e4f5a6b70002",
        "dialState": "Active",
        "callState": "Ringing",
        "queueState": "Queued",
        "accountId": account,
        "accountName": "Ærøskøbing \"Support\" ApS",
        "customerId": "64b7f0c2a1d3e4f5a6b7c001",
        "customerBreadcrumb": [
            {"id": "64b7f0c2a1d3e4f5a6b7c000", "name": "Enterprise «Root» customers"},
            {"id": "64b7f0c2a1d3e4f5a6b7c001", "name": "Northwind \"Traders\" 北风"}
        ],
        "customerName": "Northwind \"Traders\" 北风",
        "endpointId": "64b7f0c2a1d3e4f5a6b7e001",
        "endpointName": "Main line +1 555 0100 ☎",
        "dateCompleted": "2026-11-25T09:30:00.999Z",
        "destination": "+15550100",
        "toAddress": "+15550100",
        "fromAddress": "+15550123",
        "fromName": "José \"Pepe\" Müller",
        "answeredByName": "Sam O'Agent",
        "queueMemberId": "64b7f0c2a1d3e4f5a6b7e010",
        "channel": "Fax",
        "ended": true,
        "outcome": "Completed ✓",
        "callSid": "CA0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "consoleData": "{\"ticket\":\"T-1042\",\"note\":\"line1\\nline2\"}",
        "holdQueueName": "billing-hold",
        "heldByUserId": "64b7f0c2a1d3e4f5a6b7e011",
        "holdReason": "Transferring",
        "conferenceSid": "CF9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "displayName": "😀 Jane → Support \\ \"VIP\"",
        "log": [
            {"date": "2026-11-25T09:00:00.000Z", "message": "Incoming call from +15550123"},
            {"date": "2026-11-25T09:00:02.150Z", "message": "Entered queue «Support»"},
            {"date": "2026-11-25T09:01:10.000Z", "message": "Said: \"hello\"\nthen waited"}
        ],
        "members": [
            {
                "identity": "client:jane",
                "endpointId": "64b7f0c2a1d3e4f5a6b7e020",
                "displayName": "Jane \"Caller\"",
                "isOriginalMember": true,
                "avatarUrl": "https://example.com/a/jane.png?size=64&x=ü",
                // Replaced by the ordered text in `full_session_text`.
                "applicationData": {"alpha": "first", "mid": "dle \"quoted\"", "zeta": "last letter", "Ünïcode": "ключ"},
                "callState": "Connected",
                "role": "Caller",
                "callSid": "CA11111111111111111111111111111111",
                "muted": true
            },
            {
                "identity": "agent:sam",
                "endpointId": "64b7f0c2a1d3e4f5a6b7e010",
                "displayName": "Sam O'Agent",
                "isOriginalMember": true,
                "avatarUrl": "https://example.com/a/sam.png",
                "applicationData": {"a": "", "b": "2", "y": "3", "z": "1"},
                "callState": "Hold",
                "role": "Transfer",
                "callSid": "CA22222222222222222222222222222222",
                "muted": true
            }
        ],
        "callbackNumber": "+15550999",
        "answeredById": "64b7f0c2a1d3e4f5a6b7e010",
        "direction": "Outgoing",
        "fromPhoneNumber": "+15550123",
        "mostRecentParticipantCallSid": "CA33333333333333333333333333333333",
        "wasMissed": true,
        "ringQueueId": "64b7f0c2a1d3e4f5a6b7f001"
    })
}

/// A session with only the required ids, empty lists and every optional field null.
fn sparse_session(id: &str, account: &str) -> Value {
    json!({
        "id": id,
        "accountId": account,
        "dateCreated": null,
        "consoleData": null,
        "customerBreadcrumb": [],
        "log": [],
        "members": [],
        "ended": false,
        "wasMissed": false
    })
}

/// `full_session` as JSON text whose members' applicationData keys are in the non-alphabetical
/// order of [`full_session_application_data`] (a `serde_json::Value` would sort them).
fn full_session_text(id: &str, account: &str) -> String {
    let mut doc = full_session(id, account);
    for i in 0..2 {
        doc["members"][i]["applicationData"] = json!(format!("@applicationData{i}@"));
    }
    let mut text = doc.to_string();
    for (i, entries) in full_session_application_data().iter().enumerate() {
        let object = entries
            .iter()
            .map(|(k, v)| format!("{}:{}", json!(k), json!(v)))
            .collect::<Vec<_>>()
            .join(",");
        text = text.replace(
            &format!("\"@applicationData{i}@\""),
            &format!("{{{object}}}"),
        );
    }
    text
}

/// The members' applicationData of `full_session`, in document order.
fn full_session_application_data() -> Vec<Vec<(String, String)>> {
    vec![
        pairs(&[
            ("zeta", "last letter"),
            ("alpha", "first"),
            ("mid", "dle \"quoted\""),
            ("Ünïcode", "ключ"),
        ]),
        pairs(&[("z", "1"), ("b", "2"), ("y", "3"), ("a", "")]),
    ]
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Imports documents given as JSON text, through the same function as `voice-api import`.
async fn import_texts(app: &TestApp, docs: &[String]) {
    let text = format!("[{}]", docs.join(","));
    let count = voice_api::import::import_json(app.pool(), &text)
        .await
        .expect("the fixture imports");
    assert_eq!(count, docs.len());
}

async fn import(app: &TestApp, docs: &[Value]) {
    let texts: Vec<String> = docs.iter().map(Value::to_string).collect();
    import_texts(app, &texts).await;
}

struct User {
    id: String,
    email: String,
}

async fn user(app: &TestApp, account: &str, email: &str, roles: &[&str]) -> User {
    let id = common::add_user(app.pool(), account, email, PASSWORD, roles).await;
    User {
        id,
        email: email.to_string(),
    }
}

/// A server with one `User` in ACCOUNT and the full session SESSION in it.
struct World {
    app: TestApp,
    agent: User,
}

async fn world() -> World {
    let app = spawn_app().await;
    let agent = user(&app, ACCOUNT, "agent@example.com", &["User"]).await;
    import_texts(&app, &[full_session_text(SESSION, ACCOUNT)]).await;
    World { app, agent }
}

// ---------------------------------------------------------------------------------------------
// Exchanging requests
// ---------------------------------------------------------------------------------------------

/// What a test compares: status, the headers that matter, and the parsed JSON body.
#[derive(Debug, Clone, PartialEq)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    www_authenticate: Option<String>,
    body: Value,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            content_type: Some(JSON_UTF8.into()),
            www_authenticate: None,
            body,
        }
    }

    fn error(status: u16, code: &str, message: &str, errors: Value) -> Reply {
        Reply {
            status,
            content_type: Some(JSON_UTF8.into()),
            www_authenticate: None,
            body: json!({"responseStatus": {"errorCode": code, "message": message, "errors": errors}}),
        }
    }

    fn unauthorized(message: &str) -> Reply {
        Reply {
            www_authenticate: Some(CHALLENGE.into()),
            ..Reply::error(401, "Unauthorized", message, json!([]))
        }
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
}

impl<'a> Auth<'a> {
    fn of(user: &'a User) -> Auth<'a> {
        Auth::Basic(&user.email, PASSWORD)
    }
}

/// Sends a request with an optional JSON body; returns the reply and the raw body text.
async fn exchange(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<&str>,
) -> (Reply, String) {
    let mut req = app.http.request(method, app.url(path));
    if let Auth::Basic(user, password) = auth {
        req = req.basic_auth(user, Some(password));
    }
    if let Some(body) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let res = req.send().await.expect("the server answers");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    };
    let status = res.status().as_u16();
    let content_type = header("content-type");
    let www_authenticate = header("www-authenticate");
    let text = res.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    let reply = Reply {
        status,
        content_type,
        www_authenticate,
        body,
    };
    (reply, text)
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<&str>,
) -> Reply {
    exchange(app, method, path, auth, body).await.0
}

async fn patch(app: &TestApp, auth: Auth<'_>, id: &str, body: &Value) -> Reply {
    let path = format!("/sessions/{id}");
    send(app, Method::PATCH, &path, auth, Some(&body.to_string())).await
}

async fn get(app: &TestApp, auth: Auth<'_>, id: &str) -> Reply {
    send(app, Method::GET, &format!("/sessions/{id}"), auth, None).await
}

/// `doc` with `changes` applied (a JSON object of field → new value).
fn with(doc: &Value, changes: Value) -> Value {
    let mut doc = doc.clone();
    for (k, v) in changes.as_object().expect("changes are an object") {
        doc[k] = v.clone();
    }
    doc
}

/// Checks that `stamp` is ISO 8601 UTC with milliseconds and `Z` (`2026-11-25T16:40:00.123Z`)
/// and within a few seconds of now.
fn assert_fresh_timestamp(stamp: &str) {
    let b = stamp.as_bytes();
    let shape_ok = b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        shape_ok,
        "{stamp:?} is not yyyy-MM-ddTHH:mm:ss.fffZ with milliseconds"
    );
    let at = chrono::DateTime::parse_from_rfc3339(stamp).expect("RFC 3339");
    let age = chrono::Utc::now().signed_duration_since(at);
    assert!(
        age.num_milliseconds().abs() < 10_000,
        "{stamp} is not within a few seconds of now (off by {age})"
    );
}

/// The expected body of a session patched by `user`: `doc` with `changes`, `lastModifiedBy`
/// the caller, and `dateLastModified` the reply's own after checking that it is fresh.
fn patched(doc: &Value, changes: Value, user: &User, reply: &Reply) -> Value {
    let stamp = reply.body["dateLastModified"]
        .as_str()
        .unwrap_or_else(|| panic!("no dateLastModified in {reply:?}"));
    assert_fresh_timestamp(stamp);
    let mut expected = with(doc, changes);
    expected["dateLastModified"] = json!(stamp);
    expected["lastModifiedBy"] = json!(user.id);
    expected
}

// ---------------------------------------------------------------------------------------------
// JSON with object keys in document order (serde_json's Value sorts them)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Ordered {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Number(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Number(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::String(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = a.next_element()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = a.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl Ordered {
    fn get(&self, key: &str) -> &Ordered {
        match self {
            Ordered::Object(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no key {key}")),
            other => panic!("not an object: {other:?}"),
        }
    }
}

/// The `applicationData` of every member, as (key, value) pairs in the order the body has them.
fn application_data_in_order(body_text: &str) -> Vec<Vec<(String, String)>> {
    let doc: Ordered = serde_json::from_str(body_text).expect("JSON");
    let Ordered::Array(members) = doc.get("members") else {
        panic!("members is not an array");
    };
    members
        .iter()
        .map(|m| match m.get("applicationData") {
            Ordered::Object(entries) => entries
                .iter()
                .map(|(k, v)| match v {
                    Ordered::String(s) => (k.clone(), s.clone()),
                    other => panic!("value of {k} is not a string: {other:?}"),
                })
                .collect(),
            other => panic!("applicationData is not an object: {other:?}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_fully_populated_session_comes_back_whole_from_patch_and_get_with_only_the_patched_fields_changed()
 {
    // Arrange
    let World { app, agent } = world().await;
    let changes = json!({
        "consoleData": "agent note: «callback» \"tomorrow\"",
        "callState": "Hold",
        "holdReason": "None",
        "queueState": "Hold"
    });

    // Act
    let patched_reply = patch(&app, Auth::of(&agent), SESSION, &changes).await;
    let got = get(&app, Auth::of(&agent), SESSION).await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        changes,
        &agent,
        &patched_reply,
    );
    assert_eq!(patched_reply, Reply::ok(expected.clone()));
    assert_eq!(got, Reply::ok(expected));
}

#[tokio::test]
async fn get_returns_an_imported_session_exactly_as_it_was_imported() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let reply = get(&app, Auth::of(&agent), SESSION).await;

    // Assert
    assert_eq!(reply, Reply::ok(full_session(SESSION, ACCOUNT)));
}

/// PATCHes then GETs SESSION; returns the raw bodies.
async fn patch_then_get_text(app: &TestApp, agent: &User) -> (String, String) {
    let path = format!("/sessions/{SESSION}");
    let body = json!({"consoleData": "reordered?"}).to_string();
    let (patched, patched_text) =
        exchange(app, Method::PATCH, &path, Auth::of(agent), Some(&body)).await;
    let (got, got_text) = exchange(app, Method::GET, &path, Auth::of(agent), None).await;
    assert_eq!(
        (patched.status, got.status),
        (200, 200),
        "{patched:?} {got:?}"
    );
    (patched_text, got_text)
}

#[tokio::test]
async fn imported_application_data_keeps_its_key_order_through_patch_and_get() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let (patched_text, got_text) = patch_then_get_text(&app, &agent).await;

    // Assert
    assert_eq!(
        application_data_in_order(&patched_text),
        full_session_application_data()
    );
    assert_eq!(
        application_data_in_order(&got_text),
        full_session_application_data()
    );
}

#[tokio::test]
async fn stored_application_data_keeps_its_key_order_through_patch_and_get() {
    // Arrange: stored through the storage layer directly (typed parsing keeps key order).
    let app = spawn_app().await;
    let agent = user(&app, ACCOUNT, "agent@example.com", &["User"]).await;
    let session: voice_api::dto::SessionInfo =
        serde_json::from_str(&full_session_text(SESSION, ACCOUNT)).unwrap();
    let mut tx = app.pool().begin().await.unwrap();
    voice_api::storage::sessions::upsert(&mut tx, &session)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Act
    let (patched_text, got_text) = patch_then_get_text(&app, &agent).await;

    // Assert
    assert_eq!(
        application_data_in_order(&patched_text),
        full_session_application_data()
    );
    assert_eq!(
        application_data_in_order(&got_text),
        full_session_application_data()
    );
}

/// What GET answers for `sparse_session(id, account)` with `members`.
fn sparse_expected(id: &str, account: &str, members: Value) -> Value {
    json!({
        "id": id,
        "dialState": "None",
        "callState": "Disconnected",
        "queueState": "None",
        "accountId": account,
        "customerBreadcrumb": [],
        "channel": "Voice",
        "ended": false,
        "holdReason": "None",
        "log": [],
        "members": members,
        "direction": "Incoming",
        "wasMissed": false
    })
}

#[tokio::test]
async fn a_sparse_session_omits_null_fields_but_keeps_false_empty_lists_and_enum_defaults() {
    // Arrange
    let World { app, agent } = world().await;
    import(&app, &[sparse_session(OTHER_SESSION, ACCOUNT)]).await;

    // Act
    let reply = get(&app, Auth::of(&agent), OTHER_SESSION).await;

    // Assert
    assert_eq!(
        reply,
        Reply::ok(sparse_expected(OTHER_SESSION, ACCOUNT, json!([])))
    );
}

#[tokio::test]
async fn a_member_with_only_defaults_keeps_its_false_flags_and_enum_names() {
    // Arrange
    let World { app, agent } = world().await;
    let doc = with(
        &sparse_session(OTHER_SESSION, ACCOUNT),
        json!({"members": [{"identity": "client:x", "applicationData": {}}]}),
    );
    import(&app, &[doc]).await;

    // Act
    let reply = get(&app, Auth::of(&agent), OTHER_SESSION).await;

    // Assert
    let member = json!({
        "identity": "client:x",
        "isOriginalMember": false,
        "applicationData": {},
        "callState": "None",
        "role": "None",
        "muted": false
    });
    assert_eq!(
        reply,
        Reply::ok(sparse_expected(OTHER_SESSION, ACCOUNT, json!([member])))
    );
}

// ---------------------------------------------------------------------------------------------
// Partial update
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_field_absent_from_the_patch_keeps_its_stored_value() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let reply = patch(
        &app,
        Auth::of(&agent),
        SESSION,
        &json!({"consoleData": "only this"}),
    )
    .await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"consoleData": "only this"}),
        &agent,
        &reply,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn a_null_field_in_the_patch_keeps_its_stored_value() {
    // Arrange
    let World { app, agent } = world().await;
    let body = json!({"consoleData": null, "callState": "Connected", "holdReason": null, "queueState": null});

    // Act
    let reply = patch(&app, Auth::of(&agent), SESSION, &body).await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"callState": "Connected"}),
        &agent,
        &reply,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn an_empty_console_data_is_stored_as_the_empty_string() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let reply = patch(&app, Auth::of(&agent), SESSION, &json!({"consoleData": ""})).await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"consoleData": ""}),
        &agent,
        &reply,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn enum_names_bind_in_any_case_and_come_back_canonical() {
    // Arrange
    let World { app, agent } = world().await;
    let body = json!({"callState": "pASSIVE", "holdReason": "none", "queueState": "DISCONNECTED"});

    // Act
    let reply = patch(&app, Auth::of(&agent), SESSION, &body).await;

    // Assert
    let canonical =
        json!({"callState": "Passive", "holdReason": "None", "queueState": "Disconnected"});
    let expected = patched(&full_session(SESSION, ACCOUNT), canonical, &agent, &reply);
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn enum_integer_values_bind_as_their_names() {
    // Arrange
    let World { app, agent } = world().await;
    let body = json!({"callState": 2, "holdReason": 0, "queueState": "3"});

    // Act
    let reply = patch(&app, Auth::of(&agent), SESSION, &body).await;

    // Assert
    let names = json!({"callState": "Connected", "holdReason": "None", "queueState": "Connected"});
    let expected = patched(&full_session(SESSION, ACCOUNT), names, &agent, &reply);
    assert_eq!(reply, Reply::ok(expected));
}

#[tokio::test]
async fn json_keys_bind_in_any_case() {
    // Arrange
    let World { app, agent } = world().await;
    let body = json!({
        "CallState": "Connected",
        "CONSOLEDATA": "upper",
        "queuestate": "Connected",
        "HoldReason": "None"
    });

    // Act
    let reply = patch(&app, Auth::of(&agent), SESSION, &body).await;

    // Assert
    let changes = json!({
        "callState": "Connected",
        "consoleData": "upper",
        "queueState": "Connected",
        "holdReason": "None"
    });
    let expected = patched(&full_session(SESSION, ACCOUNT), changes, &agent, &reply);
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn unknown_keys_and_non_patchable_session_fields_are_ignored() {
    // Arrange
    let World { app, agent } = world().await;
    let body = json!({
        "consoleData": "kept",
        "favouriteColour": {"nested": [1, 2, {"deep": null}]},
        "id": "someone-else",
        "accountId": OTHER_ACCOUNT,
        "ended": false,
        "members": [],
        "dateLastModified": "1999-01-01T00:00:00.000Z",
        "lastModifiedBy": "forged"
    });

    // Act
    let reply = patch(&app, Auth::of(&agent), SESSION, &body).await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"consoleData": "kept"}),
        &agent,
        &reply,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn a_patch_that_changes_something_stamps_now_and_the_caller() {
    // Arrange
    let World { app, agent } = world().await;
    let before = chrono::Utc::now();

    // Act
    let reply = patch(
        &app,
        Auth::of(&agent),
        SESSION,
        &json!({"callState": "Connected"}),
    )
    .await;

    // Assert
    let after = chrono::Utc::now();
    let stamp = reply.body["dateLastModified"].as_str().unwrap_or_default();
    assert_fresh_timestamp(stamp);
    let at = chrono::DateTime::parse_from_rfc3339(stamp).unwrap();
    // Millisecond precision: the stamp is truncated, so allow one millisecond before `before`.
    assert!(
        at >= before - chrono::Duration::milliseconds(1) && at <= after,
        "{stamp} is not between {before} and {after}"
    );
    let expected = with(
        &full_session(SESSION, ACCOUNT),
        json!({"callState": "Connected", "dateLastModified": stamp, "lastModifiedBy": agent.id}),
    );
    assert_eq!(reply, Reply::ok(expected));
}

#[tokio::test]
async fn a_patch_with_the_stored_values_writes_nothing_and_returns_the_session_as_it_is() {
    // Arrange
    let World { app, agent } = world().await;
    let same = json!({
        "consoleData": full_session(SESSION, ACCOUNT)["consoleData"],
        "callState": "ringing",
        "holdReason": "Transferring",
        "queueState": "Queued"
    });

    // Act
    let reply = patch(&app, Auth::of(&agent), SESSION, &same).await;

    // Assert
    assert_eq!(reply, Reply::ok(full_session(SESSION, ACCOUNT)));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[tokio::test]
async fn an_empty_patch_writes_nothing_and_returns_the_session_as_it_is() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let empty_object = patch(&app, Auth::of(&agent), SESSION, &json!({})).await;
    let all_null = patch(
        &app,
        Auth::of(&agent),
        SESSION,
        &json!({"consoleData": null, "callState": null, "holdReason": null, "queueState": null}),
    )
    .await;
    let no_body = send(
        &app,
        Method::PATCH,
        &format!("/sessions/{SESSION}"),
        Auth::of(&agent),
        None,
    )
    .await;

    // Assert
    let unchanged = Reply::ok(full_session(SESSION, ACCOUNT));
    assert_eq!(empty_object, unchanged);
    assert_eq!(all_null, unchanged);
    assert_eq!(no_body, unchanged);
    assert_eq!(get(&app, Auth::of(&agent), SESSION).await, unchanged);
}

#[tokio::test]
async fn successive_patches_accumulate() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    patch(
        &app,
        Auth::of(&agent),
        SESSION,
        &json!({"consoleData": "one"}),
    )
    .await;
    patch(
        &app,
        Auth::of(&agent),
        SESSION,
        &json!({"queueState": "Connected"}),
    )
    .await;
    let last = patch(
        &app,
        Auth::of(&agent),
        SESSION,
        &json!({"holdReason": "None"}),
    )
    .await;

    // Assert
    let changes = json!({"consoleData": "one", "queueState": "Connected", "holdReason": "None"});
    let expected = patched(&full_session(SESSION, ACCOUNT), changes, &agent, &last);
    assert_eq!(last, Reply::ok(expected.clone()));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(expected)
    );
}

// ---------------------------------------------------------------------------------------------
// Other routes to the same operation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_predefined_routes_patch_with_the_session_id_in_the_body_and_answer_the_same_session_info()
 {
    // Arrange
    let World { app, agent } = world().await;
    import(&app, &[full_session(OTHER_SESSION, ACCOUNT)]).await;
    let api_body =
        json!({"sessionId": SESSION, "consoleData": "via /api", "callState": "Connected"});
    let reply_body =
        json!({"sessionId": OTHER_SESSION, "consoleData": "via /json/reply", "queueState": "Hold"});

    // Act
    let api = send(
        &app,
        Method::PATCH,
        "/api/PatchSession",
        Auth::of(&agent),
        Some(&api_body.to_string()),
    )
    .await;
    let json_reply = send(
        &app,
        Method::POST,
        "/json/reply/PatchSession",
        Auth::of(&agent),
        Some(&reply_body.to_string()),
    )
    .await;
    let custom_api = get(&app, Auth::of(&agent), SESSION).await;
    let custom_json_reply = get(&app, Auth::of(&agent), OTHER_SESSION).await;

    // Assert
    let expected_api = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"consoleData": "via /api", "callState": "Connected"}),
        &agent,
        &api,
    );
    let expected_json_reply = patched(
        &full_session(OTHER_SESSION, ACCOUNT),
        json!({"consoleData": "via /json/reply", "queueState": "Hold"}),
        &agent,
        &json_reply,
    );
    assert_eq!(api, Reply::ok(expected_api));
    assert_eq!(json_reply, Reply::ok(expected_json_reply));
    assert_eq!(custom_api, api);
    assert_eq!(custom_json_reply, json_reply);
}

#[tokio::test]
async fn the_custom_route_and_api_route_answer_identically_for_the_same_patch() {
    // Arrange
    let World { app, agent } = world().await;
    let change = json!({"consoleData": "same either way"});
    let first = patch(&app, Auth::of(&agent), SESSION, &change).await;

    // Act: the same values again, now through /api, change nothing and return the same document.
    let again = send(
        &app,
        Method::PATCH,
        "/api/PatchSession",
        Auth::of(&agent),
        Some(&with(&change, json!({"sessionId": SESSION})).to_string()),
    )
    .await;

    // Assert
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(again, first);
}

#[tokio::test]
async fn the_path_session_id_beats_a_body_session_id_on_the_custom_route() {
    // Arrange
    let World { app, agent } = world().await;
    import(&app, &[full_session(OTHER_SESSION, ACCOUNT)]).await;
    let body = json!({"sessionId": OTHER_SESSION, "consoleData": "for the path's session"});

    // Act
    let reply = patch(&app, Auth::of(&agent), SESSION, &body).await;
    let other = get(&app, Auth::of(&agent), OTHER_SESSION).await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"consoleData": "for the path's session"}),
        &agent,
        &reply,
    );
    assert_eq!(reply, Reply::ok(expected));
    assert_eq!(other, Reply::ok(full_session(OTHER_SESSION, ACCOUNT)));
}

// ---------------------------------------------------------------------------------------------
// Authentication and access
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_credentials_is_401_with_a_basic_challenge() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let patched = patch(&app, Auth::None, SESSION, &json!({"consoleData": "x"})).await;
    let got = get(&app, Auth::None, SESSION).await;
    let api = send(
        &app,
        Method::PATCH,
        "/api/PatchSession",
        Auth::None,
        Some(&json!({"sessionId": SESSION, "consoleData": "x"}).to_string()),
    )
    .await;

    // Assert
    assert_eq!(patched, Reply::unauthorized("Not Authenticated"));
    assert_eq!(got, Reply::unauthorized("Not Authenticated"));
    assert_eq!(api, Reply::unauthorized("Not Authenticated"));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let wrong_password = patch(
        &app,
        Auth::Basic(&agent.email, "not the password"),
        SESSION,
        &json!({"consoleData": "x"}),
    )
    .await;
    let unknown_user = patch(
        &app,
        Auth::Basic("nobody@example.com", PASSWORD),
        SESSION,
        &json!({"consoleData": "x"}),
    )
    .await;

    // Assert
    assert_eq!(
        wrong_password,
        Reply::unauthorized("Invalid Username or Password")
    );
    assert_eq!(unknown_user, wrong_password);
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[tokio::test]
async fn the_user_name_is_the_e_mail_in_any_case() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let reply = get(&app, Auth::Basic("AGENT@Example.COM", PASSWORD), SESSION).await;

    // Assert
    assert_eq!(agent.email, "agent@example.com");
    assert_eq!(reply, Reply::ok(full_session(SESSION, ACCOUNT)));
}

#[tokio::test]
async fn a_session_in_another_account_is_403_for_patch_and_get() {
    // Arrange
    let World { app, agent } = world().await;
    import(&app, &[full_session(OTHER_SESSION, OTHER_ACCOUNT)]).await;

    // Act
    let patched = patch(
        &app,
        Auth::of(&agent),
        OTHER_SESSION,
        &json!({"consoleData": "x"}),
    )
    .await;
    let got = get(&app, Auth::of(&agent), OTHER_SESSION).await;

    // Assert
    let forbidden = Reply::error(
        403,
        "Forbidden",
        "You do not have access to the account of this session",
        json!([]),
    );
    assert_eq!(patched, forbidden);
    assert_eq!(got, forbidden);
}

#[tokio::test]
async fn a_system_administrator_of_another_account_may_patch_and_get_any_session() {
    // Arrange
    let World { app, .. } = world().await;
    let admin = user(
        &app,
        OTHER_ACCOUNT,
        "root@example.com",
        &["SystemAdministrator"],
    )
    .await;

    // Act
    let patched_reply = patch(
        &app,
        Auth::of(&admin),
        SESSION,
        &json!({"consoleData": "by admin"}),
    )
    .await;
    let got = get(&app, Auth::of(&admin), SESSION).await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"consoleData": "by admin"}),
        &admin,
        &patched_reply,
    );
    assert_eq!(patched_reply, Reply::ok(expected.clone()));
    assert_eq!(got, Reply::ok(expected));
}

#[tokio::test]
async fn a_manager_of_another_account_is_refused_like_any_other_user() {
    // Arrange
    let World { app, .. } = world().await;
    let manager = user(&app, OTHER_ACCOUNT, "boss@example.com", &["Manager"]).await;

    // Act
    let reply = patch(
        &app,
        Auth::of(&manager),
        SESSION,
        &json!({"consoleData": "x"}),
    )
    .await;

    // Assert
    assert_eq!(
        reply,
        Reply::error(
            403,
            "Forbidden",
            "You do not have access to the account of this session",
            json!([])
        )
    );
}

#[tokio::test]
async fn an_unknown_session_is_404_for_patch_and_get() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let patched = patch(
        &app,
        Auth::of(&agent),
        "000000000000000000000000",
        &json!({"consoleData": "x"}),
    )
    .await;
    let got = get(&app, Auth::of(&agent), "000000000000000000000000").await;

    // Assert
    let not_found = Reply::error(
        404,
        "NotFound",
        "Session '000000000000000000000000' does not exist",
        json!([]),
    );
    assert_eq!(patched, not_found);
    assert_eq!(got, not_found);
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_400_serialization_exception() {
    // Arrange
    let World { app, agent } = world().await;
    let prefix = "Could not deserialize 'application/json' request using PatchSession";

    for body in [
        "{\"consoleData\": ",
        "not json",
        "[1, 2]",
        "{\"consoleData\": {\"an\": \"object\"}}",
        "{\"consoleData\": \"x\"} trailing",
    ] {
        // Act
        let reply = send(
            &app,
            Method::PATCH,
            &format!("/sessions/{SESSION}"),
            Auth::of(&agent),
            Some(body),
        )
        .await;

        // Assert: the message names the operation; the parser's own words follow it.
        let message = reply.body["responseStatus"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.starts_with(prefix), "{body}: {reply:?}");
        assert_eq!(
            reply,
            Reply::error(400, "SerializationException", &message, json!([])),
            "{body}"
        );
    }
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[tokio::test]
async fn an_unknown_enum_name_is_400_naming_the_field_and_the_allowed_values() {
    // Arrange
    let World { app, agent } = world().await;
    let cases = [
        (
            "callState",
            "Bogus",
            "'Bogus' is an Invalid value for 'callState' (allowed values: Disconnected, Ringing, Connected, Hold, Passive)",
        ),
        (
            "holdReason",
            "Lunch",
            "'Lunch' is an Invalid value for 'holdReason' (allowed values: None, Transferring)",
        ),
        (
            "queueState",
            "Waiting",
            "'Waiting' is an Invalid value for 'queueState' (allowed values: None, Queued, Ringing, Connected, Hold, Disconnected)",
        ),
    ];

    for (field, value, message) in cases {
        // Act
        let reply = patch(&app, Auth::of(&agent), SESSION, &json!({ field: value })).await;

        // Assert
        let errors = json!([{"errorCode": "SerializationException", "fieldName": field, "message": message}]);
        assert_eq!(
            reply,
            Reply::error(
                400,
                "SerializationException",
                "Unable to bind to request 'PatchSession'",
                errors
            ),
            "{field}"
        );
    }
}

#[tokio::test]
async fn a_rejected_patch_changes_nothing_even_when_its_other_fields_are_valid() {
    // Arrange
    let World { app, agent } = world().await;
    let before = get(&app, Auth::of(&agent), SESSION).await;
    let body = json!({"consoleData": "must not land", "queueState": "Hold", "callState": "Nope"});

    // Act
    let reply = patch(&app, Auth::of(&agent), SESSION, &body).await;

    // Assert
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(before, Reply::ok(full_session(SESSION, ACCOUNT)));
    assert_eq!(get(&app, Auth::of(&agent), SESSION).await, before);
}

#[tokio::test]
async fn a_forbidden_patch_changes_nothing() {
    // Arrange
    let World { app, agent } = world().await;
    let outsider = user(&app, OTHER_ACCOUNT, "outsider@example.com", &["Manager"]).await;
    let before = get(&app, Auth::of(&agent), SESSION).await;

    // Act
    let reply = patch(
        &app,
        Auth::of(&outsider),
        SESSION,
        &json!({"consoleData": "must not land", "callState": "Connected"}),
    )
    .await;

    // Assert
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(before, Reply::ok(full_session(SESSION, ACCOUNT)));
    assert_eq!(get(&app, Auth::of(&agent), SESSION).await, before);
}

#[tokio::test]
async fn an_unknown_route_is_404_not_found() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let nope = send(&app, Method::GET, "/nope", Auth::of(&agent), None).await;
    let no_id = send(&app, Method::PATCH, "/sessions", Auth::None, Some("{}")).await;

    // Assert
    assert_eq!(
        nope,
        Reply::error(
            404,
            "NotFound",
            "Handler for Request not found: GET /nope",
            json!([])
        )
    );
    assert_eq!(
        no_id,
        Reply::error(
            404,
            "NotFound",
            "Handler for Request not found: PATCH /sessions",
            json!([])
        )
    );
}

#[tokio::test]
async fn a_verb_the_session_route_does_not_take_is_405_not_implemented() {
    // Arrange
    let World { app, agent } = world().await;
    let path = format!("/sessions/{SESSION}");

    for method in [Method::DELETE, Method::POST, Method::PUT] {
        // Act
        let reply = send(&app, method.clone(), &path, Auth::of(&agent), Some("{}")).await;

        // Assert
        assert_eq!(
            reply,
            Reply::error(
                405,
                "NotImplementedException",
                &format!("The verb {method} is not supported on {path}"),
                json!([])
            )
        );
    }
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[tokio::test]
async fn an_unknown_operation_on_the_predefined_routes_is_405_whoever_asks() {
    // Arrange
    let World { app, agent } = world().await;

    for (auth, path) in [
        (Auth::None, "/api/Unknown"),
        (Auth::of(&agent), "/api/Unknown"),
        (Auth::None, "/json/reply/DeleteEverything"),
    ] {
        // Act
        let reply = send(&app, Method::PATCH, path, auth, Some("{}")).await;

        // Assert
        assert_eq!(
            reply,
            Reply::error(
                405,
                "NotImplementedException",
                "The operation does not exist for this service",
                json!([])
            ),
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// Patches `field` to each of `values` in turn, checking that every answer carries the value
/// just written.
async fn patch_field_repeatedly(
    http: reqwest::Client,
    url: String,
    email: String,
    field: &'static str,
    values: Vec<String>,
) {
    for value in values {
        let res = http
            .patch(&url)
            .basic_auth(&email, Some(PASSWORD))
            .json(&json!({ field: value }))
            .send()
            .await
            .expect("the server answers");
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("JSON");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body[field], json!(value), "{field} in {body}");
    }
}

/// Runs one task per (field, values) at the same time; returns when all are done.
async fn race(app: &TestApp, agent: &User, work: Vec<(&'static str, Vec<String>)>) {
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(field, values)| {
            tokio::spawn(patch_field_repeatedly(
                app.http.clone(),
                app.url(&format!("/sessions/{SESSION}")),
                agent.email.clone(),
                field,
                values,
            ))
        })
        .collect();
    for task in tasks {
        task.await.expect("the patching task succeeds");
    }
}

fn cycle(names: &[&str], len: usize) -> Vec<String> {
    (0..len)
        .map(|i| names[i % names.len()].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_call_state_and_console_data_keep_both_final_values() {
    // Arrange
    let World { app, agent } = world().await;
    let console: Vec<String> = (0..20).map(|i| format!("note {i}")).collect();
    // Ends on Passive; consecutive values differ so every patch is a real change.
    let call = cycle(&["Connected", "Hold", "Passive"], 21);

    // Act
    race(
        &app,
        &agent,
        vec![("consoleData", console), ("callState", call)],
    )
    .await;
    let reply = get(&app, Auth::of(&agent), SESSION).await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"consoleData": "note 19", "callState": "Passive"}),
        &agent,
        &reply,
    );
    assert_eq!(reply, Reply::ok(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_queue_state_and_hold_reason_keep_both_final_values() {
    // Arrange
    let World { app, agent } = world().await;
    let queue = cycle(&["Hold", "Connected", "Ringing"], 21); // ends on Ringing
    let hold = cycle(&["None", "Transferring"], 20); // ends on Transferring

    // Act
    race(
        &app,
        &agent,
        vec![("queueState", queue), ("holdReason", hold)],
    )
    .await;
    let reply = get(&app, Auth::of(&agent), SESSION).await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"queueState": "Ringing", "holdReason": "Transferring"}),
        &agent,
        &reply,
    );
    assert_eq!(reply, Reply::ok(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_all_four_fields_keep_every_final_value() {
    // Arrange
    let World { app, agent } = world().await;
    let work = vec![
        ("consoleData", (0..12).map(|i| format!("c{i}")).collect()),
        ("callState", cycle(&["Connected", "Hold"], 12)),
        ("queueState", cycle(&["Connected", "Hold", "None"], 12)),
        ("holdReason", cycle(&["None", "Transferring"], 11)),
    ];

    // Act
    race(&app, &agent, work).await;
    let reply = get(&app, Auth::of(&agent), SESSION).await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"consoleData": "c11", "callState": "Hold", "queueState": "None", "holdReason": "None"}),
        &agent,
        &reply,
    );
    assert_eq!(reply, Reply::ok(expected));
}

// ---------------------------------------------------------------------------------------------
// Input that storage cannot hold
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_console_data_with_a_nul_character_is_refused_with_400_and_changes_nothing() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let reply = patch(
        &app,
        Auth::of(&agent),
        SESSION,
        &json!({"consoleData": "before\u{0}after", "callState": "Connected"}),
    )
    .await;

    // Assert: a binding error naming the field, like an unknown enum name.
    let message = reply.body["responseStatus"]["errors"][0]["message"].clone();
    let errors = json!([{"errorCode": "SerializationException", "fieldName": "consoleData", "message": message}]);
    assert_eq!(
        reply,
        Reply::error(
            400,
            "SerializationException",
            "Unable to bind to request 'PatchSession'",
            errors
        )
    );
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[test]
fn any_console_data_without_nul_comes_back_exactly_as_sent() {
    use proptest::test_runner::{Config, TestRunner};

    // Arrange
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let World { app, agent } = rt.block_on(world());
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });

    // Act and assert, for each generated string.
    let result = runner.run(&"[^\\x00]{0,40}", |console| {
        let (reply, got) = rt.block_on(async {
            let reply = patch(
                &app,
                Auth::of(&agent),
                SESSION,
                &json!({"consoleData": console}),
            )
            .await;
            (reply, get(&app, Auth::of(&agent), SESSION).await)
        });
        proptest::prop_assert_eq!(reply.status, 200, "{:?}", reply);
        proptest::prop_assert_eq!(&reply.body["consoleData"], &json!(console));
        proptest::prop_assert_eq!(got, reply);
        Ok(())
    });
    rt.block_on(async move { drop(app) });
    result.unwrap();
}

/// Waits until a backend of the test database is blocked on a lock.
async fn wait_for_a_lock_waiter(pool: &sqlx::PgPool) {
    for _ in 0..500 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the PATCH never waited on the row lock");
}

/// Holds an uncommitted `UPDATE sessions SET {set}` on SESSION while `patch_body` is sent
/// as `agent`; commits once the PATCH is blocked on the row lock; returns the PATCH's answer.
async fn patch_behind_an_uncommitted_writer(
    app: &TestApp,
    agent: &User,
    set: &str,
    patch_body: Value,
) -> (u16, Value) {
    let mut writer = app.pool().begin().await.unwrap();
    sqlx::query(&format!("UPDATE sessions SET {set} WHERE id = $1"))
        .bind(SESSION)
        .execute(&mut *writer)
        .await
        .unwrap();
    let pending = {
        let http = app.http.clone();
        let url = app.url(&format!("/sessions/{SESSION}"));
        let email = agent.email.clone();
        tokio::spawn(async move {
            let res = http
                .patch(url)
                .basic_auth(email, Some(PASSWORD))
                .json(&patch_body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        })
    };
    wait_for_a_lock_waiter(app.pool()).await;
    writer.commit().await.unwrap();
    pending.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_that_waited_for_a_concurrent_writer_of_another_field_keeps_that_writers_value() {
    // Arrange
    let World { app, agent } = world().await;

    // Act
    let (status, body) = patch_behind_an_uncommitted_writer(
        &app,
        &agent,
        "console_data = 'from the other writer'",
        json!({"callState": "Connected"}),
    )
    .await;

    // Assert
    let reply = Reply {
        status,
        content_type: Some(JSON_UTF8.into()),
        www_authenticate: None,
        body,
    };
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        json!({"consoleData": "from the other writer", "callState": "Connected"}),
        &agent,
        &reply,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(expected)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_that_waited_for_a_concurrent_writer_of_the_same_value_answers_the_session_as_stored()
 {
    // Arrange
    let World { app, agent } = world().await;

    // Act: the other writer sets consoleData (and its stamp); the PATCH asks for the same value.
    let (status, body) = patch_behind_an_uncommitted_writer(
        &app,
        &agent,
        "console_data = 'same', date_last_modified = '2026-11-25T10:00:00.000Z', \
         last_modified_by = 'other-writer'",
        json!({"consoleData": "same"}),
    )
    .await;

    // Assert: nothing was left to change, so the answer is the session as stored.
    let stored = with(
        &full_session(SESSION, ACCOUNT),
        json!({
            "consoleData": "same",
            "dateLastModified": "2026-11-25T10:00:00.000Z",
            "lastModifiedBy": "other-writer"
        }),
    );
    assert_eq!(
        get(&app, Auth::of(&agent), SESSION).await,
        Reply::ok(stored.clone())
    );
    assert_eq!((status, body), (200, stored));
}
