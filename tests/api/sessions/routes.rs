//! The predefined routes, the custom route, access, and errors.

use super::*;

// ---------------------------------------------------------------------------------------------
// Other routes to the same operation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_predefined_routes_patch_with_the_session_id_in_the_body_and_answer_the_same_session_info()
 {
    // Arrange
    let (app, agent_id) = world().await;
    import(app.pool(), &[full_session(OTHER_SESSION, ACCOUNT)]).await;
    let api_body =
        json!({"sessionId": SESSION, "consoleData": "via /api", "callState": "Connected"});
    let reply_body =
        json!({"sessionId": OTHER_SESSION, "consoleData": "via /json/reply", "queueState": "Hold"});

    // Act
    let api = app
        .api(Method::PATCH, "PatchSession")
        .json(&api_body)
        .signed_in_as(&AGENT)
        .await
        .reply();
    let json_reply = app
        .json_reply(Method::POST, "PatchSession")
        .json(&reply_body)
        .signed_in_as(&AGENT)
        .await
        .reply();
    let custom_api = app.get_session(SESSION).signed_in_as(&AGENT).await.reply();
    let custom_json_reply = app
        .get_session(OTHER_SESSION)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let expected_api = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"consoleData": "via /api", "callState": "Connected"}),
        &agent_id,
        &api.body,
    );
    let expected_json_reply = patched(
        &full_session(OTHER_SESSION, ACCOUNT),
        &json!({"consoleData": "via /json/reply", "queueState": "Hold"}),
        &agent_id,
        &json_reply.body,
    );
    assert_eq!(api, Reply::ok(expected_api));
    assert_eq!(json_reply, Reply::ok(expected_json_reply));
    assert_eq!(custom_api, api);
    assert_eq!(custom_json_reply, json_reply);
}

#[tokio::test]
async fn the_custom_route_and_api_route_answer_identically_for_the_same_patch() {
    // Arrange
    let (app, _) = world().await;
    let change = json!({"consoleData": "same either way"});
    let first = app
        .patch_session(SESSION, &change)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Act: the same values again, now through /api, change nothing and return the same document.
    let again = app
        .api(Method::PATCH, "PatchSession")
        .json(&with(&change, json!({"sessionId": SESSION})))
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(again, first);
}

#[tokio::test]
async fn the_path_session_id_beats_a_body_session_id_on_the_custom_route() {
    // Arrange
    let (app, agent_id) = world().await;
    import(app.pool(), &[full_session(OTHER_SESSION, ACCOUNT)]).await;
    let body = json!({"sessionId": OTHER_SESSION, "consoleData": "for the path's session"});

    // Act
    let reply = app
        .patch_session(SESSION, &body)
        .signed_in_as(&AGENT)
        .await
        .reply();
    let other = app
        .get_session(OTHER_SESSION)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    let expected = patched(
        &full_session(SESSION, ACCOUNT),
        &json!({"consoleData": "for the path's session"}),
        &agent_id,
        &reply.body,
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
    let (app, _) = world().await;

    // Act
    let reply = app
        .get_session(SESSION)
        .basic("AGENT@Example.COM", AGENT.password)
        .await
        .reply();

    // Assert
    assert_eq!(AGENT.email, "agent@example.com");
    assert_eq!(reply, Reply::ok(full_session(SESSION, ACCOUNT)));
}

#[tokio::test]
async fn an_unknown_session_is_404_for_patch_and_get() {
    // Arrange
    let (app, _) = world().await;

    // Act
    let patched = app
        .patch_session(UNKNOWN_SESSION, &json!({"consoleData": "x"}))
        .signed_in_as(&AGENT)
        .await
        .reply();
    let got = app
        .get_session(UNKNOWN_SESSION)
        .signed_in_as(&AGENT)
        .await
        .reply();

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
    let (app, _) = world().await;
    let prefix = "Could not deserialize 'application/json' request using PatchSession";

    for body in [
        "{\"consoleData\": ",
        "not json",
        "[1, 2]",
        "{\"consoleData\": {\"an\": \"object\"}}",
        "{\"consoleData\": \"x\"} trailing",
    ] {
        // Act
        let reply = app
            .patch(&format!("/sessions/{SESSION}"))
            .json_text(body)
            .signed_in_as(&AGENT)
            .await
            .reply();

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
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[tokio::test]
async fn a_format_the_server_does_not_write_is_406_and_the_patch_is_not_applied() {
    // Arrange
    let (app, _) = world().await;
    let body = json!({"consoleData": "must not land"});

    for format in ["csv", "jsv"] {
        // Act
        let patch = app
            .patch(&format!("/sessions/{SESSION}?format={format}"))
            .json(&body)
            .signed_in_as(&AGENT)
            .await
            .reply();
        let get = app
            .get(&format!("/sessions/{SESSION}?format={format}"))
            .signed_in_as(&AGENT)
            .await
            .reply();

        // Assert: refused in JSON, as an Accept of text/csv would be, not answered as JSON data.
        let message =
            format!("The format '{format}' cannot be produced; use format=json or format=xml");
        let refused = Reply::error(406, "NotAcceptable", &message, json!([]));
        assert_eq!(patch, refused, "PATCH ?format={format}");
        assert_eq!(get, refused, "GET ?format={format}");
    }
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[tokio::test]
async fn an_unknown_enum_name_is_400_naming_the_field_and_the_allowed_values() {
    // Arrange
    let (app, _) = world().await;
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
        let reply = app
            .patch_session(SESSION, &json!({ field: value }))
            .signed_in_as(&AGENT)
            .await
            .reply();

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
    let (app, _) = world().await;
    let before = app.get_session(SESSION).signed_in_as(&AGENT).await.reply();
    let body = json!({"consoleData": "must not land", "queueState": "Hold", "callState": "Nope"});

    // Act
    let reply = app
        .patch_session(SESSION, &body)
        .signed_in_as(&AGENT)
        .await
        .reply();

    // Assert
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(before, Reply::ok(full_session(SESSION, ACCOUNT)));
    assert_eq!(
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        before
    );
}

#[tokio::test]
async fn an_unknown_route_is_404_not_found() {
    // Arrange
    let (app, _) = world().await;

    // Act
    let nope = app.get("/nope").signed_in_as(&AGENT).await.reply();
    let no_id = app.patch("/sessions").json_text("{}").await.reply();

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
    // `/sessions` is ListSessions' route (GET): another verb there is a 405.
    assert_eq!(
        no_id,
        Reply::error(
            405,
            "NotImplementedException",
            "The verb PATCH is not supported on /sessions",
            json!([])
        )
    );
}

#[tokio::test]
async fn a_verb_the_session_route_does_not_take_is_405_not_implemented() {
    // Arrange
    let (app, _) = world().await;
    let path = format!("/sessions/{SESSION}");

    for method in [Method::DELETE, Method::POST, Method::PUT] {
        // Act
        let res = app
            .request(method.clone(), &path)
            .json_text("{}")
            .signed_in_as(&AGENT)
            .await;
        let reply = res.reply();

        // Assert: the route's verbs in `Allow`, as RFC 9110 requires of a 405 (schemathesis
        // found it missing: the error body replaced the response axum had put it on).
        let allow = res
            .header("allow")
            .unwrap_or_else(|| panic!("{method}: an Allow header"));
        let mut allowed: Vec<&str> = allow.split(',').map(str::trim).collect();
        allowed.sort_unstable();
        assert_eq!(allowed, ["GET", "HEAD", "PATCH"], "{method}");
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
        app.get_session(SESSION).signed_in_as(&AGENT).await.reply(),
        Reply::ok(full_session(SESSION, ACCOUNT))
    );
}

#[tokio::test]
async fn an_unknown_operation_on_the_predefined_routes_is_405_whoever_asks() {
    // Arrange
    let (app, _) = world().await;

    for (signed_in, path) in [
        (false, "/api/Unknown"),
        (true, "/api/Unknown"),
        (false, "/json/reply/DeleteEverything"),
    ] {
        // Act
        let call = app.patch(path).json_text("{}");
        let call = if signed_in {
            call.signed_in_as(&AGENT)
        } else {
            call
        };
        let reply = call.await.reply();

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
