//! The DTOs as typed values, for the property tests: proptest strategies that build any
//! SessionInfo and PatchSession member by member, and the typed operations they are checked
//! with (JSON and XML write → read, PATCH through storage, negotiation). This file spells the
//! DTOs' members and is, with `internals.rs`, what changes when `src/contract/` lands.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value};
use sqlx::PgPool;
use voice_api::dto::{
    CustomerBreadcrumb, FlowChannels, SessionCallState, SessionDialState, SessionDirections,
    SessionHoldReasons, SessionLogInfo, SessionMemberCallState, SessionMemberInfo,
    SessionMemberRoles, SessionQueueStates, StringMap,
};
pub use voice_api::dto::{PatchSession, SessionInfo};
use voice_api::storage::auth::Credential;
use voice_api::storage::sessions::{self, Outcome};
use voice_api::wire::xml;

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Any text: control characters, line breaks, markup, quotes, astral characters.
pub fn text(nul: bool) -> BoxedStrategy<String> {
    let chars = prop_oneof![
        4 => any::<char>(),
        2 => prop::sample::select(vec!['<', '>', '&', '"', '\'', '\r', '\n', '\t', ' ', ';', '\\', '\u{FFFE}', '\u{FFFF}', '\u{1}', '\u{7F}', '😀']),
        4 => prop::char::range('a', 'z'),
    ];
    prop::collection::vec(chars, 0..24)
        .prop_map(move |cs| {
            cs.into_iter()
                .filter(|c| nul || *c != '\0')
                .collect::<String>()
        })
        .boxed()
}

pub fn opt_text(nul: bool) -> BoxedStrategy<Option<String>> {
    prop::option::of(text(nul)).boxed()
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> BoxedStrategy<T> {
    prop::sample::select(all).boxed()
}

/// A dictionary with distinct keys (a repeated key cannot round-trip: the last one wins).
fn string_map(nul: bool) -> BoxedStrategy<StringMap> {
    prop::collection::vec((text(nul), text(nul)), 0..4)
        .prop_map(|pairs| {
            let mut out: Vec<(String, String)> = Vec::new();
            for (k, v) in pairs {
                if !out.iter().any(|(ek, _)| *ek == k) {
                    out.push((k, v));
                }
            }
            StringMap(out)
        })
        .boxed()
}

fn member(nul: bool) -> BoxedStrategy<SessionMemberInfo> {
    (
        prop::collection::vec(opt_text(nul), 5),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(string_map(nul)),
        pick(SessionMemberCallState::ALL),
        pick(SessionMemberRoles::ALL),
    )
        .prop_map(
            |(t, is_original_member, muted, application_data, call_state, role)| {
                SessionMemberInfo {
                    identity: t[0].clone(),
                    endpoint_id: t[1].clone(),
                    display_name: t[2].clone(),
                    is_original_member,
                    avatar_url: t[3].clone(),
                    application_data,
                    call_state,
                    role,
                    call_sid: t[4].clone(),
                    muted,
                }
            },
        )
        .boxed()
}

/// Any SessionInfo; `nul` allows NUL characters (PostgreSQL text cannot store them).
pub fn session_info(nul: bool) -> BoxedStrategy<SessionInfo> {
    let lists = (
        prop::option::of(prop::collection::vec(
            (opt_text(nul), opt_text(nul)).prop_map(|(id, name)| CustomerBreadcrumb { id, name }),
            0..3,
        )),
        prop::option::of(prop::collection::vec(
            (opt_text(nul), opt_text(nul))
                .prop_map(|(date, message)| SessionLogInfo { date, message }),
            0..3,
        )),
        prop::option::of(prop::collection::vec(member(nul), 0..3)),
    );
    let enums = (
        pick(SessionDialState::ALL),
        pick(SessionCallState::ALL),
        pick(SessionQueueStates::ALL),
        pick(FlowChannels::ALL),
        pick(SessionHoldReasons::ALL),
        pick(SessionDirections::ALL),
        any::<bool>(),
        any::<bool>(),
    );
    (prop::collection::vec(opt_text(nul), 31), enums, lists)
        .prop_map(|(t, e, (customer_breadcrumb, log, members))| {
            let mut t = t.into_iter();
            let mut next = || t.next().unwrap();
            SessionInfo {
                id: next(),
                date_created: next(),
                date_last_modified: next(),
                created_by: next(),
                last_modified_by: next(),
                dial_state: e.0,
                call_state: e.1,
                queue_state: e.2,
                account_id: next(),
                account_name: next(),
                customer_id: next(),
                customer_breadcrumb,
                customer_name: next(),
                endpoint_id: next(),
                endpoint_name: next(),
                date_completed: next(),
                destination: next(),
                to_address: next(),
                from_address: next(),
                from_name: next(),
                answered_by_name: next(),
                queue_member_id: next(),
                channel: e.3,
                ended: e.6,
                outcome: next(),
                call_sid: next(),
                console_data: next(),
                hold_queue_name: next(),
                held_by_user_id: next(),
                hold_reason: e.4,
                conference_sid: next(),
                display_name: next(),
                log,
                members,
                callback_number: next(),
                answered_by_id: next(),
                direction: e.5,
                from_phone_number: next(),
                most_recent_participant_call_sid: next(),
                was_missed: e.7,
                ring_queue_id: next(),
            }
        })
        .boxed()
}

pub fn patch_session() -> BoxedStrategy<PatchSession> {
    (
        opt_text(false),
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
    let text = serde_json::to_string(s).unwrap();
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}

/// `s` written as DataContract XML and read back.
pub fn xml_write_then_read(s: &SessionInfo) -> Result<SessionInfo, String> {
    let mut out = Vec::new();
    xml::write_session_info(&mut out, s);
    xml::read_session_info(&out).map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out)))
}

/// A SessionInfo in the API's JSON form.
pub fn session_info_from_json(text: &str) -> SessionInfo {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
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
    sessions::load(pool, id).await.unwrap().unwrap()
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
    match sessions::patch(&mut conn, &cred, id, p, now).await {
        Ok(Outcome::Found(s)) => Ok(s.to_info().unwrap()),
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
