//! The predefined routes, the custom route, access, and errors.

use super::*;

// ---------------------------------------------------------------------------------------------
// Other routes to the same operation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_predefined_routes_patch_with_the_session_id_in_the_body_and_answer_the_same_session_info()
 {
    // Arrange
    let World { app, agent } = world().await;
    import(app.pool(), &[full_session(OTHER_SESSION, ACCOUNT)]).await;
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
    import(app.pool(), &[full_session(OTHER_SESSION, ACCOUNT)]).await;
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
