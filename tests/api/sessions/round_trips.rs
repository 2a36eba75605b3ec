//! Whole sessions through PATCH and GET: nothing lost, nothing reordered, nulls omitted.

use super::*;

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
    let (app, agent_id) = world().await;
    let changes = json!({
        "consoleData": "agent note: «callback» \"tomorrow\"",
        "callState": "Hold",
        "holdReason": "None",
        "queueState": "Hold"
    });

    // Act
    let patched_reply = app
        .patch_session(SESSION, &changes)
        .signed_in_as(&AGENT)
        .await
        .reply();
    let got = app.get_session(SESSION).signed_in_as(&AGENT).await.reply();

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &changes,
        &agent_id,
        &patched_reply.body,
    );
    assert_eq!(patched_reply, Reply::ok(expected.clone()));
    assert_eq!(got, Reply::ok(expected));
}

#[tokio::test]
async fn get_returns_an_imported_session_exactly_as_it_was_imported() {
    // Arrange
    let (app, _) = world().await;

    // Act
    let reply = app.get_session(SESSION).signed_in_as(&AGENT).await.reply();

    // Assert
    assert_eq!(reply, Reply::ok(full_session(SESSION, ACCOUNT)));
}

/// AGENT PATCHes then GETs SESSION; returns the raw bodies.
async fn patch_then_get_text(app: &TestApp) -> (String, String) {
    let patched = app
        .patch_session(SESSION, &json!({"consoleData": "reordered?"}))
        .signed_in_as(&AGENT)
        .await;
    let got = app.get_session(SESSION).signed_in_as(&AGENT).await;
    assert_eq!(
        (patched.status, got.status),
        (200, 200),
        "{patched:?} {got:?}"
    );
    (patched.text, got.text)
}

#[tokio::test]
async fn imported_application_data_keeps_its_key_order_through_patch_and_get() {
    // Arrange
    let (app, _) = world().await;

    // Act
    let (patched_text, got_text) = patch_then_get_text(&app).await;

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
    let app = TestApp::spawn().await;
    add_user(app.pool(), &AGENT).await;
    upsert_session_text(app.pool(), &full_session_text(SESSION, ACCOUNT)).await;

    // Act
    let (patched_text, got_text) = patch_then_get_text(&app).await;

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
async fn a_sparse_session_omits_null_fields_but_keeps_false_empty_lists_and_enum_defaults() {
    // Arrange
    let (app, _) = world().await;
    import(app.pool(), &[sparse_session(OTHER_SESSION, ACCOUNT)]).await;

    // Act
    let reply = app
        .get_session(OTHER_SESSION)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    assert_eq!(
        reply,
        Reply::ok(sparse_expected(OTHER_SESSION, ACCOUNT, json!([])))
    );
}

#[tokio::test]
async fn a_member_with_only_defaults_keeps_its_false_flags_and_enum_names() {
    // Arrange
    let (app, _) = world().await;
    let doc = with(
        &sparse_session(OTHER_SESSION, ACCOUNT),
        json!({"members": [{"identity": "client:x", "applicationData": {}}]}),
    );
    import(app.pool(), &[doc]).await;

    // Act
    let reply = app
        .get_session(OTHER_SESSION)
        .signed_in_as(&AGENT)
        .await
        .reply();

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
