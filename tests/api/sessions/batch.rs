//! Write batching: patches that meet in the batcher are one statement, and each keeps its own
//! outcome, order and failure. [`one_batch`] makes them meet deterministically (they queue
//! while the batcher's one connection is held); the last tests go through HTTP under load.

use super::*;
use crate::helpers::internals::{BatchItem, BatchRun, one_batch, stored, typed_json};

const THIRD: &str = "5f0c1a2b3c4d5e6f7a8b9c03";

/// AGENT; SESSION (full), OTHER_SESSION and THIRD (simple) in ACCOUNT; FOREIGN_SESSION in
/// OTHER_ACCOUNT. Returns the app and AGENT's id.
async fn batch_world() -> (TestApp, String) {
    batch_world_with(voice_api::HttpConfig::default()).await
}

/// [`batch_world`] on a server configured so.
async fn batch_world_with(config: voice_api::HttpConfig) -> (TestApp, String) {
    let app = TestApp::builder().http_config(config).spawn().await;
    let agent = seed_agent_with_full_session(app.pool()).await;
    import(
        app.pool(),
        &[
            simple_session(OTHER_SESSION, ACCOUNT),
            simple_session(THIRD, ACCOUNT),
            simple_session(FOREIGN_SESSION, OTHER_ACCOUNT),
        ],
    )
    .await;
    (app, agent)
}

async fn stored_all(app: &TestApp, ids: &[&str]) -> Vec<Value> {
    let mut docs = Vec::new();
    for id in ids {
        docs.push(stored(app.pool(), id).await);
    }
    docs
}

fn item(id: &'static str, patch: Value, user_id: &str) -> BatchItem {
    BatchItem {
        id,
        patch,
        user_id: user_id.to_string(),
        stamp: None,
        expect: None,
    }
}

/// `found v{version} {json}` for `doc` after `patch` by `agent`, as [`one_batch`] prints it
/// (the JSON re-read, so string maps compare by content, not key order).
fn found(version: i64, doc: &Value, patch: &Value, agent: &str) -> String {
    let mut expected = doc.clone();
    for (k, v) in patch.as_object().unwrap() {
        expected[k] = v.clone();
    }
    expected["dateLastModified"] = json!("2026-12-01T00:00:00.000Z");
    expected["lastModifiedBy"] = json!(agent);
    let json: Value = serde_json::from_str(&typed_json(&expected)).unwrap();
    format!("found v{version} {json}")
}

/// The answers with each found session's JSON re-read as [`found`] writes it.
fn reread(mut run: BatchRun) -> BatchRun {
    for a in &mut run.answers {
        if let Some((head, json)) = a.split_once(" {") {
            let json: Value = serde_json::from_str(&format!("{{{json}")).unwrap();
            *a = format!("{head} {json}");
        }
    }
    run
}

#[tokio::test]
async fn one_batch_answers_each_patch_by_its_own_rights() {
    // Arrange
    let (app, agent) = batch_world().await;
    let before = stored_all(&app, &[OTHER_SESSION, THIRD, FOREIGN_SESSION]).await;
    let allowed = json!({"consoleData": "batched", "callState": "Hold"});
    let items = vec![
        item(SESSION, allowed.clone(), &agent),
        item(FOREIGN_SESSION, json!({"consoleData": "not mine"}), &agent),
        item(UNKNOWN_SESSION, json!({"consoleData": "nobody's"}), &agent),
        BatchItem {
            stamp: Some(-1),
            ..item(OTHER_SESSION, json!({"consoleData": "stale login"}), &agent)
        },
        BatchItem {
            expect: Some(99),
            ..item(THIRD, json!({"consoleData": "old version"}), &agent)
        },
    ];

    // Act
    let run = reread(one_batch(app.database_url(), items, 64, &[]).await);

    // Assert: one batch of five, each answered alone, only the allowed one written.
    let full = stored(app.pool(), SESSION).await;
    assert_eq!(
        run,
        BatchRun {
            answers: vec![
                found(2, &full_session(SESSION, ACCOUNT), &allowed, &agent),
                "forbidden".into(),
                "notfound".into(),
                "unauthenticated".into(),
                // Allowed, not written: the request then reads the row and answers 412.
                "unchanged".into(),
            ],
            batches: vec!["4-7:1".into()],
        }
    );
    assert_eq!(full["consoleData"], "batched");
    let after = stored_all(&app, &[OTHER_SESSION, THIRD, FOREIGN_SESSION]).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_batch_with_one_patch_not_written_tells_that_one_apart_and_writes_the_others() {
    // Arrange: the batch statement writes only what applies; the one patch it leaves (of a
    // session in another account) is decided on its own.
    let (app, agent) = batch_world().await;
    let foreign_before = stored(app.pool(), FOREIGN_SESSION).await;
    let third = json!({"consoleData": "third", "queueState": "Hold"});
    let items = vec![
        item(FOREIGN_SESSION, json!({"consoleData": "not mine"}), &agent),
        item(THIRD, third.clone(), &agent),
    ];

    // Act
    let run = reread(one_batch(app.database_url(), items, 64, &[]).await);

    // Assert: one batch of two; the foreign one refused and left as stored, the other written.
    assert_eq!(
        run,
        BatchRun {
            answers: vec![
                "forbidden".into(),
                found(2, &simple_session(THIRD, ACCOUNT), &third, &agent),
            ],
            batches: vec!["2-3:1".into()],
        }
    );
    assert_eq!(stored(app.pool(), FOREIGN_SESSION).await, foreign_before);
}

#[tokio::test]
async fn two_patches_of_one_session_apply_in_arrival_order_each_seeing_the_one_before() {
    // Arrange
    let (app, agent) = batch_world().await;
    let first = json!({"callState": "Hold"});
    let second = json!({"consoleData": "after hold"});
    let items = vec![
        item(SESSION, first.clone(), &agent),
        item(OTHER_SESSION, json!({"consoleData": "other"}), &agent),
        item(SESSION, second.clone(), &agent),
    ];

    // Act
    let run = reread(one_batch(app.database_url(), items, 64, &[]).await);

    // Assert: the second patch of SESSION waited for the batch holding the first.
    let doc = full_session(SESSION, ACCOUNT);
    let both = json!({"callState": "Hold", "consoleData": "after hold"});
    assert_eq!(run.answers[0], found(2, &doc, &first, &agent));
    assert!(
        run.answers[1].starts_with("found v2 "),
        "{}",
        run.answers[1]
    );
    assert_eq!(run.answers[2], found(3, &doc, &both, &agent));
    assert_eq!(run.batches, vec!["1:1", "2-3:1"]);
}

#[tokio::test]
async fn a_batch_whose_statement_fails_sends_each_patch_alone_and_writes_nothing() {
    // Arrange: PostgreSQL refuses NUL in text, which fails the whole statement (the binder
    // refuses it before a request gets here: this is the batcher's own safety net).
    let (app, agent) = batch_world().await;
    let before = stored(app.pool(), OTHER_SESSION).await;
    let items = vec![
        item(OTHER_SESSION, json!({"consoleData": "fine"}), &agent),
        item(THIRD, json!({"rawConsoleData": "nul \u{0} inside"}), &agent),
    ];

    // Act
    let run = reread(one_batch(app.database_url(), items, 64, &[]).await);

    // Assert
    assert_eq!(
        run,
        BatchRun {
            answers: vec!["alone".into(), "alone".into()],
            batches: vec!["2-3:1".into()],
        }
    );
    assert_eq!(stored(app.pool(), OTHER_SESSION).await, before);
}

#[tokio::test]
async fn a_patch_whose_request_goes_away_while_queued_is_never_sent() {
    // Arrange
    let (app, agent) = batch_world().await;
    let before = stored(app.pool(), OTHER_SESSION).await;
    let items = vec![
        item(SESSION, json!({"consoleData": "kept"}), &agent),
        item(OTHER_SESSION, json!({"consoleData": "cancelled"}), &agent),
    ];

    // Act
    let run = one_batch(app.database_url(), items, 64, &[1]).await;

    // Assert
    assert!(
        run.answers[0].starts_with("found v2 "),
        "{}",
        run.answers[0]
    );
    assert_eq!(run.answers[1], "dropped");
    assert_eq!(run.batches, vec!["1:1"]);
    assert_eq!(stored(app.pool(), OTHER_SESSION).await, before);
}

#[tokio::test]
async fn a_full_queue_refuses_the_patch_and_sends_the_queued_ones() {
    // Arrange
    let (app, agent) = batch_world().await;
    let before = stored(app.pool(), THIRD).await;
    let items = vec![
        item(SESSION, json!({"consoleData": "one"}), &agent),
        item(OTHER_SESSION, json!({"consoleData": "two"}), &agent),
        item(THIRD, json!({"consoleData": "three"}), &agent),
    ];

    // Act: room for two.
    let run = one_batch(app.database_url(), items, 2, &[]).await;

    // Assert
    assert!(
        run.answers[0].starts_with("found v2 "),
        "{}",
        run.answers[0]
    );
    assert!(
        run.answers[1].starts_with("found v2 "),
        "{}",
        run.answers[1]
    );
    assert_eq!(run.answers[2], "queuefull");
    assert_eq!(run.batches, vec!["2-3:1"]);
    assert_eq!(stored(app.pool(), THIRD).await, before);
}

/// Through HTTP under load, with two batch connections (so batches run side by side and a
/// session in one holds its patches back from the other): many clients patch the same and
/// different sessions; every acknowledged patch is in the database, and each answer is the
/// session right after its own patch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_clients_patching_at_once_each_get_the_session_right_after_their_own_patch() {
    // Arrange
    let mut config = voice_api::HttpConfig::default();
    config.batch.connections = 2;
    let (app, _) = batch_world_with(config).await;
    let sessions = [SESSION, OTHER_SESSION, THIRD];
    let (clients, rounds) = (8, 10);

    // Act: client c of session s writes consoleData "s/c/r" in round r.
    let mut tasks = Vec::new();
    for s in sessions {
        for c in 0..clients {
            let server = app.remote();
            tasks.push(tokio::spawn(async move {
                let mut seen = Vec::new();
                for r in 0..rounds {
                    let value = format!("{s}/{c}/{r}");
                    let res = server
                        .patch_session(s, &json!({ "consoleData": value }))
                        .signed_in_as(&AGENT)
                        .await;
                    assert_eq!(res.status, 200, "{}", res.json());
                    let version: i64 = res
                        .header("etag")
                        .unwrap()
                        .trim_matches('"')
                        .parse()
                        .unwrap();
                    seen.push((s, version, value, res.json()["consoleData"].clone()));
                }
                seen
            }));
        }
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.extend(t.await.unwrap());
    }

    // Assert
    for s in sessions {
        let mut mine: Vec<_> = answers.iter().filter(|a| a.0 == s).collect();
        mine.sort_by_key(|a| a.1);
        // Every patch changed the session once: versions 2, 3, … with none skipped or repeated.
        let versions: Vec<i64> = mine.iter().map(|a| a.1).collect();
        assert_eq!(
            versions,
            (2..2 + (clients * rounds) as i64).collect::<Vec<_>>()
        );
        // Each answer shows its own write, not a later one nor an earlier one.
        for a in &mine {
            assert_eq!(a.3, json!(a.2), "version {} of {s}", a.1);
        }
        let last = mine.last().unwrap();
        let stored = stored(app.pool(), s).await;
        assert_eq!(stored["consoleData"], json!(last.2));
    }
}

/// A session another transaction holds is patched alone (waiting for the lock) while the
/// patches of other sessions go on (a batch that met the held row waits at most the batch
/// connections' `lock_timeout`, then its patches run alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_locked_elsewhere_waits_alone_and_holds_up_no_other_patch() {
    // Arrange
    let (app, _) = batch_world().await;
    let mut lock = app.pool().begin().await.unwrap();
    sqlx::query("SELECT id FROM sessions WHERE id = $1 FOR UPDATE")
        .bind(SESSION)
        .execute(&mut *lock)
        .await
        .unwrap();

    // Act
    let server = app.remote();
    let waiting = tokio::spawn(async move {
        server
            .patch_session(SESSION, &json!({"consoleData": "after the lock"}))
            .signed_in_as(&AGENT)
            .await
    });
    let others = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut statuses = Vec::new();
        for n in 0..5 {
            let res = app
                .patch_session(
                    OTHER_SESSION,
                    &json!({"consoleData": format!("meanwhile {n}")}),
                )
                .signed_in_as(&AGENT)
                .await;
            statuses.push(res.status);
        }
        statuses
    })
    .await
    .expect("patches of other sessions do not wait for the locked one");
    let still_waiting = !waiting.is_finished();
    lock.rollback().await.unwrap();
    let res = waiting.await.unwrap();

    // Assert
    assert_eq!(others, vec![200; 5]);
    assert!(
        still_waiting,
        "the locked session's patch waited for the lock"
    );
    assert_eq!(res.status, 200, "{}", res.json());
    assert_eq!(res.json()["consoleData"], "after the lock");
    assert_eq!(
        stored(app.pool(), SESSION).await["consoleData"],
        "after the lock"
    );
}
