//! A PATCH changes exactly the fields it names, and stamps only a real change.

use super::*;

// ---------------------------------------------------------------------------------------------
// Partial update
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_field_absent_from_the_patch_keeps_its_stored_value() {
    // Arrange
    let (app, agent_id) = world().await;

    // Act
    let reply = app
        .patch_session(SESSION, &json!({"consoleData": "only this"}))
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"consoleData": "only this"}),
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn a_null_field_in_the_patch_keeps_its_stored_value() {
    // Arrange
    let (app, agent_id) = world().await;
    let body = json!({"consoleData": null, "callState": "Connected", "holdReason": null, "queueState": null});

    // Act
    let reply = app
        .patch_session(SESSION, &body)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"callState": "Connected"}),
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn an_empty_console_data_is_stored_as_the_empty_string() {
    // Arrange
    let (app, agent_id) = world().await;

    // Act
    let reply = app
        .patch_session(SESSION, &json!({"consoleData": ""}))
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"consoleData": ""}),
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn enum_names_bind_in_any_case_and_come_back_canonical() {
    // Arrange
    let (app, agent_id) = world().await;
    let body = json!({"callState": "pASSIVE", "holdReason": "none", "queueState": "DISCONNECTED"});

    // Act
    let reply = app
        .patch_session(SESSION, &body)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let canonical =
        json!({"callState": "Passive", "holdReason": "None", "queueState": "Disconnected"});
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &canonical,
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn enum_integer_values_bind_as_their_names() {
    // Arrange
    let (app, agent_id) = world().await;
    let body = json!({"callState": 2, "holdReason": 0, "queueState": "3"});

    // Act
    let reply = app
        .patch_session(SESSION, &body)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let names = json!({"callState": "Connected", "holdReason": "None", "queueState": "Connected"});
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &names,
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected));
}

#[tokio::test]
async fn json_keys_bind_in_any_case() {
    // Arrange
    let (app, agent_id) = world().await;
    let body = json!({
        "CallState": "Connected",
        "CONSOLEDATA": "upper",
        "queuestate": "Connected",
        "HoldReason": "None"
    });

    // Act
    let reply = app
        .patch_session(SESSION, &body)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let changes = json!({
        "callState": "Connected",
        "consoleData": "upper",
        "queueState": "Connected",
        "holdReason": "None"
    });
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &changes,
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn unknown_keys_and_non_patchable_session_fields_are_ignored() {
    // Arrange
    let (app, agent_id) = world().await;
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
    let reply = app
        .patch_session(SESSION, &body)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"consoleData": "kept"}),
        &agent_id,
        &reply.body,
    );
    assert_eq!(reply, Reply::ok(expected.clone()));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(expected)
    );
}

#[tokio::test]
async fn a_patch_that_changes_something_stamps_now_and_the_caller() {
    // Arrange
    let (app, agent_id) = world().await;
    let before = chrono::Utc::now();

    // Act
    let reply = app
        .patch_session(SESSION, &json!({"callState": "Connected"}))
        .signed_in_as(&AGENT)
        .await
        .reply();

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
        json!({"callState": "Connected", "dateLastModified": stamp, "lastModifiedBy": agent_id}),
    );
    assert_eq!(reply, Reply::ok(expected));
}

#[tokio::test]
async fn a_patch_with_the_stored_values_writes_nothing_and_returns_the_session_as_it_is() {
    // Arrange
    let (app, _) = world().await;
    let same = json!({
        "consoleData": full_session(SESSION, ACCOUNT)["consoleData"],
        "callState": "ringing",
        "holdReason": "Transferring",
        "queueState": "Queued"
    });

    // Act
    let reply = app
        .patch_session(SESSION, &same)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    assert_eq!(reply, Reply::ok(full_session(SESSION, ACCOUNT)));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[tokio::test]
async fn an_empty_patch_writes_nothing_and_returns_the_session_as_it_is() {
    // Arrange
    let (app, _) = world().await;

    // Act
    let empty_object = app
        .patch_session(SESSION, &json!({}))
        .signed_in_as(&AGENT)
        .await
        .reply();
    let all_null = app.patch_session(SESSION, &json!({"consoleData": null, "callState": null, "holdReason": null, "queueState": null})).signed_in_as(&AGENT).await.reply();
    let no_body = app
        .patch(&format!("/sessions/{SESSION}"))
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let unchanged = Reply::ok(full_session(SESSION, ACCOUNT));
    assert_eq!(empty_object, unchanged);
    assert_eq!(all_null, unchanged);
    assert_eq!(no_body, unchanged);
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        unchanged
    );
}

#[tokio::test]
async fn successive_patches_accumulate() {
    // Arrange
    let (app, agent_id) = world().await;

    // Act
    app.patch_session(SESSION, &json!({"consoleData": "one"}))
        .signed_in_as(&AGENT)
        .await
        .reply();
    app.patch_session(SESSION, &json!({"queueState": "Connected"}))
        .signed_in_as(&AGENT)
        .await
        .reply();
    let last = app
        .patch_session(SESSION, &json!({"holdReason": "None"}))
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let changes = json!({"consoleData": "one", "queueState": "Connected", "holdReason": "None"});
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &changes,
        &agent_id,
        &last.body,
    );
    assert_eq!(last, Reply::ok(expected.clone()));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(expected)
    );
}
