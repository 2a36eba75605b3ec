//! Property tests: any SessionInfo survives JSON and DataContract XML write → read unchanged;
//! any PatchSession applied to any stored session changes exactly the fields it names (through
//! storage and through the HTTP server); the JSON written straight from a row is the typed
//! JSON, and so is the XML written from the stored form; negotiation only ever shortens a path.

use crate::helpers::contract::{self, SessionInfo};
use crate::helpers::internals;
use crate::helpers::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

const CASES: u32 = 64;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[test]
fn any_session_info_survives_json_write_then_read() {
    runner()
        .run(&contract::session_info(), |s| {
            let back = contract::json_write_then_read(&s).map_err(TestCaseError::fail)?;
            prop_assert_eq!(back, s);
            Ok(())
        })
        .unwrap();
}

#[test]
fn any_session_info_survives_xml_write_then_read() {
    runner()
        .run(&contract::session_info(), |s| {
            let back = contract::xml_write_then_read(&s).map_err(TestCaseError::fail)?;
            prop_assert_eq!(back, s);
            Ok(())
        })
        .unwrap();
}

#[test]
fn any_session_info_in_xml_from_its_stored_form_is_the_typed_xml() {
    runner()
        .run(&contract::session_info(), |s| {
            let (stored, typed) = contract::xml_from_stored_and_typed(&s);
            prop_assert_eq!(stored, typed);
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn json_written_from_the_row_equals_the_typed_session_and_the_stored_document() {
    let db = TestDb::new().await;
    let docs = vec![
        full_session(SESSION, ACCOUNT),
        sparse_session(OTHER_SESSION, ACCOUNT),
    ];
    import(&db.pool, &docs).await;
    for doc in docs {
        let id = doc["id"].as_str().unwrap();
        let (from_row, typed, typed_is_the_document) =
            internals::json_from_the_row_and_typed(&db.pool, id, &doc).await;
        // Byte-for-byte: same keys, same order, same escaping.
        assert_eq!(from_row, typed, "{id}");
        assert!(typed_is_the_document, "{id}");
        assert_eq!(from_row, internals::typed_json(&doc), "{id}");
    }
}

// ---------------------------------------------------------------------------------------------
// PATCH changes exactly the fields it names
// ---------------------------------------------------------------------------------------------

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A stored copy of `s` under a fresh id in ACCOUNT, as loaded back.
async fn store(pool: &sqlx::PgPool, s: SessionInfo) -> Result<SessionInfo, TestCaseError> {
    let n = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    contract::store(pool, s, format!("8c0c1a2b3c4d5e6f{n:08x}"), ACCOUNT).await
}

#[test]
fn any_patch_through_storage_changes_exactly_the_fields_it_names() {
    let rt = runtime();
    let (db, admin) = rt.block_on(async {
        let db = TestDb::new().await;
        let admin = add_user(&db.pool, &ADMIN).await;
        (db, admin)
    });
    runner()
        .run(
            &(contract::session_info(), contract::patch_session()),
            |(s, p)| {
                rt.block_on(async {
                    let before = store(&db.pool, s).await?;
                    let id = contract::id_of(&before);
                    let now = contract::now();
                    let answered = contract::patch_in_storage(&db.pool, &admin, &id, &p, &now)
                        .await
                        .map_err(TestCaseError::fail)?;
                    let after = contract::load(&db.pool, &id).await;
                    let expected = contract::expected_after(&before, &p, &admin, &now);
                    prop_assert_eq!(&after, &expected);
                    prop_assert_eq!(&answered, &after);
                    Ok(())
                })
            },
        )
        .unwrap();
}

/// Also: any consoleData without NUL comes back exactly as sent, from PATCH and from GET.
#[test]
fn any_patch_through_the_http_server_changes_exactly_the_fields_it_names() {
    let rt = runtime();
    let (app, admin) = rt.block_on(async {
        let app = TestApp::spawn().await;
        let admin = add_user(app.pool(), &ADMIN).await;
        (app, admin)
    });
    let mut runner = TestRunner::new(Config {
        cases: CASES / 2,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(
                contract::session_info(),
                contract::patch_session(),
                any::<bool>(),
            ),
            |(s, p, upper)| {
                rt.block_on(async {
                    let before = store(app.pool(), s).await?;
                    let id = contract::id_of(&before);
                    let res = app
                        .patch(&format!("/sessions/{id}"))
                        .signed_in_as(&ADMIN)
                        .body("application/json", contract::patch_body(&p, upper))
                        .await;
                    prop_assert_eq!(res.status, 200);
                    let answered = contract::session_info_from_json(&res.text);
                    let after = contract::load(app.pool(), &id).await;
                    // The server chose `now`; take it from what was stored.
                    let now = contract::date_last_modified(&after).unwrap_or_default();
                    let expected = contract::expected_after(&before, &p, &admin, &now);
                    prop_assert_eq!(&after, &expected);
                    prop_assert_eq!(&answered, &after);
                    let got = app.get_session(&id).signed_in_as(&ADMIN).await;
                    prop_assert_eq!(got.reply(), res.reply());
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
    for (path, rewritten) in [
        ("eady.json", Some("eady")),
        ("/eady.json", Some("/eady")),
        ("/Sessions/a.XML", Some("/sessions/a")),
        ("/.json", None),
    ] {
        let n = contract::rewritten_path(path, None, None).unwrap();
        assert_eq!(n.as_deref(), rewritten, "{path}");
    }
    let segment = prop_oneof![
        Just("sessions".to_string()),
        Just("SESSIONS".to_string()),
        Just("api".to_string()),
        Just("json".to_string()),
        Just("Reply".to_string()),
        Just("health".to_string()),
        contract::text(),
    ];
    let ext = prop::sample::select(vec!["", ".json", ".XML", ".xml.json", ".txt", "."]);
    runner()
        .run(
            &(
                prop::collection::vec(segment, 0..4),
                ext,
                contract::opt_text(),
                contract::opt_text(),
            ),
            |(segments, ext, accept, content_type)| {
                let path = format!("/{}{ext}", segments.join("/"));
                if let Ok(Some(p)) =
                    contract::rewritten_path(&path, accept.as_deref(), content_type.as_deref())
                {
                    prop_assert!(p.starts_with('/'), "{:?} → {:?}", path, p);
                    prop_assert!(p.len() <= path.len(), "{:?} → {:?}", path, p);
                }
                Ok(())
            },
        )
        .unwrap();
}
