//! Concurrent writers: no lost update, and a waiting PATCH answers what is stored.

use super::*;
use std::future::IntoFuture;

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// AGENT patches `field` of SESSION to each of `values` in turn, checking that every answer
/// carries the value just written.
async fn patch_field_repeatedly(server: Remote, field: &'static str, values: Vec<String>) {
    for value in values {
        let res = server
            .patch_session(SESSION, &json!({ field: value }))
            .signed_in_as(&AGENT)
            .await;
        let body = res.json();
        assert_eq!(res.status, 200, "{body}");
        assert_eq!(body[field], json!(value), "{field} in {body}");
    }
}

/// Runs one task per (field, values) at the same time; returns when all are done.
async fn race(app: &TestApp, work: Vec<(&'static str, Vec<String>)>) {
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(field, values)| tokio::spawn(patch_field_repeatedly(app.remote(), field, values)))
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
    let (app, agent_id) = world().await;
    let console: Vec<String> = (0..20).map(|i| format!("note {i}")).collect();
    // Ends on Passive; consecutive values differ so every patch is a real change.
    let call = cycle(&["Connected", "Hold", "Passive"], 21);

    // Act
    race(&app, vec![("consoleData", console), ("callState", call)]).await;
    let reply = app.get_session(SESSION).signed_in_as(&AGENT).await.reply();

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"consoleData": "note 19", "callState": "Passive"}),
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_queue_state_and_hold_reason_keep_both_final_values() {
    // Arrange
    let (app, agent_id) = world().await;
    let queue = cycle(&["Hold", "Connected", "Ringing"], 21); // ends on Ringing
    let hold = cycle(&["None", "Transferring"], 20); // ends on Transferring

    // Act
    race(&app, vec![("queueState", queue), ("holdReason", hold)]).await;
    let reply = app.get_session(SESSION).signed_in_as(&AGENT).await.reply();

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"queueState": "Ringing", "holdReason": "Transferring"}),
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_all_four_fields_keep_every_final_value() {
    // Arrange
    let (app, agent_id) = world().await;
    let work = vec![
        ("consoleData", (0..12).map(|i| format!("c{i}")).collect()),
        ("callState", cycle(&["Connected", "Hold"], 12)),
        ("queueState", cycle(&["Connected", "Hold", "None"], 12)),
        ("holdReason", cycle(&["None", "Transferring"], 11)),
    ];

    // Act
    race(&app, work).await;
    let reply = app.get_session(SESSION).signed_in_as(&AGENT).await.reply();

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"consoleData": "c11", "callState": "Hold", "queueState": "None", "holdReason": "None"}),
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected));
}

// ---------------------------------------------------------------------------------------------
// Input that storage cannot hold
// ---------------------------------------------------------------------------------------------

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

/// Holds an uncommitted `UPDATE sessions SET {set}` on SESSION while AGENT sends `patch_body`;
/// commits once the PATCH is blocked on the row lock; returns the PATCH's answer.
async fn patch_behind_an_uncommitted_writer(app: &TestApp, set: &str, patch_body: Value) -> Reply {
    let mut writer = app.pool().begin().await.unwrap();
    sqlx::query(&format!("UPDATE sessions SET {set} WHERE id = $1"))
        .bind(SESSION)
        .execute(&mut *writer)
        .await
        .unwrap();
    let pending = tokio::spawn(
        app.remote()
            .patch_session(SESSION, &patch_body)
            .signed_in_as(&AGENT)
            .into_future(),
    );
    wait_for_a_lock_waiter(app.pool()).await;
    writer.commit().await.unwrap();
    pending.await.unwrap().reply()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_that_waited_for_a_concurrent_writer_of_another_field_keeps_that_writers_value() {
    // Arrange
    let (app, agent_id) = world().await;

    // Act
    let reply = patch_behind_an_uncommitted_writer(
        &app,
        "console_data = 'from the other writer'",
        json!({"callState": "Connected"}),
    )
    .await;

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"consoleData": "from the other writer", "callState": "Connected"}),
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(expected)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_that_waited_for_a_concurrent_writer_of_the_same_value_answers_the_session_as_stored()
 {
    // Arrange
    let (app, _) = world().await;

    // Act: the other writer sets consoleData (and its stamp); the PATCH asks for the same value.
    let reply = patch_behind_an_uncommitted_writer(
        &app,
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
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(stored.clone())
    );
    assert_eq!((reply.status, reply.body), (200, stored));
}
