//! The DTOs as typed values, for the property tests: proptest strategies that build any
//! SessionInfo and PatchSession member by member, and the typed operations they are checked
//! with (JSON and XML write → read, PATCH through storage, negotiation). This file spells the
//! DTOs' members and is, with `internals.rs`, what changes when `src/contract/` lands.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value};
use sqlx::PgPool;
use std::borrow::Cow;
pub use voice_api::contract::sessions::{PatchSession, SessionInfo};
use voice_api::contract::sessions::{SessionCallState, SessionHoldReasons, SessionQueueStates};
use voice_api::contract::{Dto, TypeDef, Value as Wire, WireType};
use voice_api::storage::auth::Credential;
use voice_api::storage::sessions::{self, Outcome};

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Any text every format can carry: line breaks, markup, quotes, astral characters. (NUL and
/// the other characters XML 1.0 cannot carry are refused by binding; hostile tests cover that.)
pub fn text() -> BoxedStrategy<String> {
    let chars = prop_oneof![
        4 => any::<char>(),
        2 => prop::sample::select(vec!['<', '>', '&', '"', '\'', '\r', '\n', '\t', ' ', ';', '\\', '\u{7F}', '😀']),
        4 => prop::char::range('a', 'z'),
    ];
    prop::collection::vec(chars, 0..24)
        .prop_map(move |cs| {
            cs.into_iter()
                .filter(|c| voice_api::wire::xml::is_xml_char(*c))
                .collect::<String>()
        })
        .boxed()
}

pub fn opt_text() -> BoxedStrategy<Option<String>> {
    prop::option::of(text()).boxed()
}

/// Any value of a member of wire type `ty`, built from the contract (so a new member is
/// generated without touching this file).
fn any_member(ty: &'static WireType, nullable: bool) -> BoxedStrategy<Wire<'static>> {
    let value = match ty {
        WireType::Text => text().prop_map(|t| Wire::Text(Cow::Owned(t))).boxed(),
        WireType::Bool => any::<bool>().prop_map(Wire::Bool).boxed(),
        WireType::Int => any::<i32>()
            .prop_map(|n| Wire::Text(Cow::Owned(n.to_string())))
            .boxed(),
        WireType::Enum(def) => prop::sample::select(def.values.to_vec())
            .prop_map(|(name, _)| Wire::Text(Cow::Borrowed(name)))
            .boxed(),
        WireType::List(item) => prop::collection::vec(any_member(item, false), 0..3)
            .prop_map(Wire::List)
            .boxed(),
        // A dictionary with distinct keys (a repeated key cannot round-trip: the last one wins).
        WireType::StringMap => prop::collection::vec((text(), text()), 0..4)
            .prop_map(|pairs| {
                let mut out: Vec<(Cow<'static, str>, Cow<'static, str>)> = Vec::new();
                for (k, v) in pairs {
                    if !out.iter().any(|(ek, _)| *ek == k) {
                        out.push((Cow::Owned(k), Cow::Owned(v)));
                    }
                }
                Wire::Map(out)
            })
            .boxed(),
        WireType::Object(td) => any_object(td),
    };
    if nullable {
        prop::option::of(value)
            .prop_map(|v| v.unwrap_or(Wire::Null))
            .boxed()
    } else {
        value
    }
}

fn any_object(ty: &'static TypeDef) -> BoxedStrategy<Wire<'static>> {
    let members: Vec<BoxedStrategy<Wire<'static>>> = ty
        .slots()
        .iter()
        .map(|s| any_member(&s.member.ty, s.member.nullable))
        .collect();
    members.prop_map(Wire::Object).boxed()
}

/// Any SessionInfo.
pub fn session_info() -> BoxedStrategy<SessionInfo> {
    any_object(SessionInfo::TYPE)
        .prop_map(|v| SessionInfo::from_object(v).expect("a generated SessionInfo"))
        .boxed()
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> BoxedStrategy<T> {
    prop::sample::select(all).boxed()
}

pub fn patch_session() -> BoxedStrategy<PatchSession> {
    (
        opt_text(),
        prop::option::of(pick(SessionCallState::ALL)),
        prop::option::of(pick(SessionHoldReasons::ALL)),
        prop::option::of(pick(SessionQueueStates::ALL)),
    )
        .prop_map(
            |(console_data, call_state, hold_reason, queue_state)| PatchSession {
                session_id: None,
                console_data,
                call_state,
                hold_reason,
                queue_state,
            },
        )
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Typed operations
// ---------------------------------------------------------------------------------------------

/// `s` written as JSON and read back.
pub fn json_write_then_read(s: &SessionInfo) -> Result<SessionInfo, String> {
    let text = voice_api::wire::to_json(s);
    voice_api::wire::from_json(&text).map_err(|e| format!("{}: {text}", e.message))
}

/// `s` written as DataContract XML and read back.
pub fn xml_write_then_read(s: &SessionInfo) -> Result<SessionInfo, String> {
    let out = voice_api::wire::to_xml(s);
    voice_api::wire::from_xml(&out)
        .map_err(|e| format!("{}: {}", e.message, String::from_utf8_lossy(&out)))
}

/// `s` as DataContract XML written from its stored form (the composites as their JSON, as a
/// row hands them out), and as written from the typed value.
pub fn xml_from_stored_and_typed(s: &SessionInfo) -> (String, String) {
    let stored =
        voice_api::wire::json::composites_as_json(SessionInfo::TYPE, s.to_object()).unwrap();
    let mut out = Vec::new();
    voice_api::wire::xml::write(&mut out, SessionInfo::TYPE, &stored).unwrap();
    let typed = voice_api::wire::to_xml(s);
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(typed).unwrap(),
    )
}

/// A SessionInfo in the API's JSON form.
pub fn session_info_from_json(text: &str) -> SessionInfo {
    voice_api::wire::from_json(text).unwrap_or_else(|e| panic!("{}: {text}", e.message))
}

/// The session's id and its dateLastModified.
pub fn id_of(s: &SessionInfo) -> String {
    s.id.clone().expect("stored sessions have an id")
}

pub fn date_last_modified(s: &SessionInfo) -> Option<String> {
    s.date_last_modified.clone()
}

/// The server's clock, in the API's format.
pub fn now() -> String {
    voice_api::sessions::now_iso8601()
}

/// What `before` should become under `p` applied by `user` at `now`.
pub fn expected_after(
    before: &SessionInfo,
    p: &PatchSession,
    user: &str,
    now: &str,
) -> SessionInfo {
    let mut s = before.clone();
    if let Some(c) = &p.console_data {
        s.console_data = Some(c.clone());
    }
    if let Some(v) = p.call_state {
        s.call_state = v;
    }
    if let Some(v) = p.hold_reason {
        s.hold_reason = v;
    }
    if let Some(v) = p.queue_state {
        s.queue_state = v;
    }
    if s != *before {
        s.date_last_modified = Some(now.to_string());
        s.last_modified_by = Some(user.to_string());
    }
    s
}

/// Stores a copy of `s` under the id `id` in `account` (through the import); returns it as
/// loaded back, after checking that storage kept it exactly as given.
pub async fn store(
    pool: &PgPool,
    mut s: SessionInfo,
    id: String,
    account: &str,
) -> Result<SessionInfo, TestCaseError> {
    s.id = Some(id);
    s.account_id = Some(account.into());
    voice_api::import::import(pool, std::slice::from_ref(&s))
        .await
        .map_err(|e| TestCaseError::fail(format!("import: {e}")))?;
    let loaded = load(pool, s.id.as_deref().unwrap()).await;
    prop_assert_eq!(&loaded, &s);
    Ok(loaded)
}

/// The stored session `id`, which must exist.
pub async fn load(pool: &PgPool, id: &str) -> SessionInfo {
    voice_api::sessions::load(pool, id).await.unwrap().unwrap()
}

/// `storage::sessions::patch` of session `id` by user `user_id` at `now`; the session it
/// answers.
pub async fn patch_in_storage(
    pool: &PgPool,
    user_id: &str,
    id: &str,
    p: &PatchSession,
    now: &str,
) -> Result<SessionInfo, String> {
    let cred = Credential::User {
        user_id: user_id.to_string(),
        auth_stamp: 0,
    };
    let mut conn = pool.acquire().await.unwrap();
    match sessions::patch(&mut conn, &cred, id, p, now, None).await {
        Ok(Outcome::Found(s)) => Ok(voice_api::wire::from_stored(s.value().unwrap()).unwrap()),
        other => Err(format!("patch: {other:?}")),
    }
}

/// The patch as a JSON body: named fields only, enums by name in a random case.
pub fn patch_body(p: &PatchSession, upper: bool) -> String {
    let mut m = Map::new();
    let name = |s: &str| {
        if upper {
            s.to_ascii_uppercase()
        } else {
            s.to_string()
        }
    };
    if let Some(c) = &p.console_data {
        m.insert("consoleData".into(), Value::String(c.clone()));
    }
    if let Some(v) = p.call_state {
        m.insert("callState".into(), Value::String(name(v.as_str())));
    }
    if let Some(v) = p.hold_reason {
        m.insert("holdReason".into(), Value::String(name(v.as_str())));
    }
    if let Some(v) = p.queue_state {
        m.insert("queueState".into(), Value::String(name(v.as_str())));
    }
    Value::Object(m).to_string()
}

/// The path negotiation rewrites a request path to (`None`: unchanged); `Err` when refused.
pub fn rewritten_path(
    path: &str,
    accept: Option<&str>,
    content_type: Option<&str>,
) -> Result<Option<String>, ()> {
    voice_api::wire::negotiate::negotiate(path, None, accept, content_type)
        .map(|n| n.rewritten_path)
        .map_err(|_| ())
}
