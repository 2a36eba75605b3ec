//! Property tests: any SessionInfo survives JSON and DataContract XML write → read unchanged;
//! any PatchSession applied to any stored session changes exactly the fields it names (through
//! `storage::sessions::patch` and through the HTTP server).

mod common;

use common::TestDb;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use voice_api::dto::{
    CustomerBreadcrumb, FlowChannels, PatchSession, SessionCallState, SessionDialState,
    SessionDirections, SessionHoldReasons, SessionInfo, SessionLogInfo, SessionMemberCallState,
    SessionMemberInfo, SessionMemberRoles, SessionQueueStates, StringMap,
};
use voice_api::storage::auth::Credential;
use voice_api::storage::sessions::{self, Outcome};
use voice_api::wire::xml;

const CASES: u32 = 64;
const ACCOUNT: &str = "8c0c1a2b3c4d5e6f7a8b9c00";
const ADMIN_EMAIL: &str = "admin@example.com";
const PASSWORD: &str = "property";

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Any text: control characters, line breaks, markup, quotes, astral characters.
fn text(nul: bool) -> BoxedStrategy<String> {
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

fn opt_text(nul: bool) -> BoxedStrategy<Option<String>> {
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
fn session_info(nul: bool) -> BoxedStrategy<SessionInfo> {
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

fn patch_session() -> BoxedStrategy<PatchSession> {
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

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[test]
fn any_session_info_survives_json_write_then_read() {
    runner()
        .run(&session_info(true), |s| {
            let text = serde_json::to_string(&s).unwrap();
            let back: SessionInfo = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
            prop_assert_eq!(back, s, "{}", text);
            Ok(())
        })
        .unwrap();
}

#[test]
fn any_session_info_survives_xml_write_then_read() {
    runner()
        .run(&session_info(true), |s| {
            let mut out = Vec::new();
            xml::write_session_info(&mut out, &s);
            let back = xml::read_session_info(&out).map_err(|e| {
                TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&out)))
            })?;
            prop_assert_eq!(back, s, "{}", String::from_utf8_lossy(&out));
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// PATCH changes exactly the fields it names
// ---------------------------------------------------------------------------------------------

/// What `before` should become under `p` applied by `user` at `now`.
fn expected_after(before: &SessionInfo, p: &PatchSession, user: &str, now: &str) -> SessionInfo {
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

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A stored copy of `s` under a fresh id in ACCOUNT; returns it as loaded back.
async fn store(db: &TestDb, mut s: SessionInfo) -> Result<SessionInfo, TestCaseError> {
    let n = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    s.id = Some(format!("8c0c1a2b3c4d5e6f{n:08x}"));
    s.account_id = Some(ACCOUNT.into());
    voice_api::import::import(&db.pool, std::slice::from_ref(&s))
        .await
        .map_err(|e| TestCaseError::fail(format!("import: {e}")))?;
    let loaded = sessions::load(&db.pool, s.id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    // Storage keeps a session exactly as given.
    prop_assert_eq!(&loaded, &s);
    Ok(loaded)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn any_patch_through_storage_changes_exactly_the_fields_it_names() {
    let rt = runtime();
    let (db, admin) = rt.block_on(async {
        let db = TestDb::new().await;
        let admin = common::add_user(
            &db.pool,
            ACCOUNT,
            ADMIN_EMAIL,
            PASSWORD,
            &["SystemAdministrator"],
        )
        .await;
        (db, admin)
    });
    let cred = Credential::User {
        user_id: admin.clone(),
        auth_stamp: 0,
    };
    runner()
        .run(&(session_info(false), patch_session()), |(s, p)| {
            rt.block_on(async {
                let before = store(&db, s).await?;
                let id = before.id.clone().unwrap();
                let now = voice_api::sessions::now_iso8601();
                let mut conn = db.pool.acquire().await.unwrap();
                let answered = match sessions::patch(&mut conn, &cred, &id, &p, &now).await {
                    Ok(Outcome::Found(s)) => s.to_info().unwrap(),
                    other => return Err(TestCaseError::fail(format!("patch: {other:?}"))),
                };
                let after = sessions::load(&db.pool, &id).await.unwrap().unwrap();
                let expected = expected_after(&before, &p, &admin, &now);
                prop_assert_eq!(&after, &expected);
                prop_assert_eq!(&answered, &after);
                Ok(())
            })
        })
        .unwrap();
}

/// The patch as a JSON body: named fields only, enums by name in a random case.
fn patch_body(p: &PatchSession, upper: bool) -> String {
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

#[test]
fn any_patch_through_the_http_server_changes_exactly_the_fields_it_names() {
    let rt = runtime();
    let (app, admin) = rt.block_on(async {
        let app = common::spawn_app().await;
        let admin = common::add_user(
            app.pool(),
            ACCOUNT,
            ADMIN_EMAIL,
            PASSWORD,
            &["SystemAdministrator"],
        )
        .await;
        (app, admin)
    });
    let mut runner = TestRunner::new(Config {
        cases: CASES / 2,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(session_info(false), patch_session(), any::<bool>()),
            |(s, p, upper)| {
                rt.block_on(async {
                    let before = store(&app.db, s).await?;
                    let id = before.id.clone().unwrap();
                    let res = app
                        .http
                        .patch(app.url(&format!("/sessions/{id}")))
                        .basic_auth(ADMIN_EMAIL, Some(PASSWORD))
                        .header("Content-Type", "application/json")
                        .body(patch_body(&p, upper))
                        .send()
                        .await
                        .unwrap();
                    prop_assert_eq!(res.status().as_u16(), 200);
                    let answered: SessionInfo = res.json().await.unwrap();
                    let after = sessions::load(&app.db.pool, &id).await.unwrap().unwrap();
                    // The server chose `now`; take it from what was stored.
                    let now = after.date_last_modified.clone().unwrap_or_default();
                    let expected = expected_after(&before, &p, &admin, &now);
                    prop_assert_eq!(&after, &expected);
                    prop_assert_eq!(&answered, &after);
                    Ok(())
                })
            },
        )
        .unwrap();
    drop(app);
}

// ---------------------------------------------------------------------------------------------
// Negotiation (mirrors the fuzz target's oracle)
// ---------------------------------------------------------------------------------------------

/// For a request path (leading '/'), a rewritten path is a path no longer than the original.
/// Regression: the fuzzer's first finding, `eady.json` → `eady`, was a path without the leading
/// '/', which no HTTP request carries; the oracle now (like this test) only judges real paths.
#[test]
fn negotiation_rewrites_a_request_path_into_a_path_no_longer_than_it() {
    use voice_api::wire::negotiate::negotiate;
    for (path, rewritten) in [
        ("eady.json", Some("eady")),
        ("/eady.json", Some("/eady")),
        ("/Sessions/a.XML", Some("/sessions/a")),
        ("/.json", None),
    ] {
        let n = negotiate(path, None, None, None).unwrap();
        assert_eq!(n.rewritten_path.as_deref(), rewritten, "{path}");
    }
    let segment = prop_oneof![
        Just("sessions".to_string()),
        Just("SESSIONS".to_string()),
        Just("api".to_string()),
        Just("json".to_string()),
        Just("Reply".to_string()),
        Just("health".to_string()),
        text(true),
    ];
    let ext = prop::sample::select(vec!["", ".json", ".XML", ".xml.json", ".txt", "."]);
    runner()
        .run(
            &(
                prop::collection::vec(segment, 0..4),
                ext,
                opt_text(true),
                opt_text(true),
            ),
            |(segments, ext, accept, content_type)| {
                let path = format!("/{}{ext}", segments.join("/"));
                if let Ok(n) = negotiate(&path, None, accept.as_deref(), content_type.as_deref())
                    && let Some(p) = n.rewritten_path
                {
                    prop_assert!(p.starts_with('/'), "{:?} → {:?}", path, p);
                    prop_assert!(p.len() <= path.len(), "{:?} → {:?}", path, p);
                }
                Ok(())
            },
        )
        .unwrap();
}
