//! Optimistic concurrency, beyond ServiceStack: every SessionInfo answer carries its version as
//! `ETag`; `If-None-Match` on GetSession answers 304; `If-Match` on PatchSession is checked
//! inside the update statement, so of two clients racing on one version exactly one wins.

use super::*;

fn etag(res: &Response) -> String {
    res.header("etag")
        .unwrap_or_else(|| panic!("no ETag: {}", res.text))
        .to_string()
}

/// The 412 of a patch whose If-Match names no current version.
fn stale_reply() -> Reply {
    Reply::error(
        412,
        "PreconditionFailed",
        &format!(
            "Session '{SESSION}' has changed since the version If-Match names; GET it again and retry"
        ),
        json!([]),
    )
}

#[tokio::test]
async fn every_session_answer_carries_its_version_and_a_write_bumps_it() {
    let (app, _) = world().await;
    let got = app.get_session(SESSION).signed_in_as(&AGENT).await;
    assert_eq!(etag(&got), "\"1\"");
    let patched = app
        .patch_session(SESSION, &json!({"consoleData": "v2"}))
        .signed_in_as(&AGENT)
        .await;
    assert_eq!((patched.status, etag(&patched)), (200, "\"2\"".to_string()));
    // A patch that changes nothing writes nothing: the version stays.
    let same = app
        .patch_session(SESSION, &json!({"consoleData": "v2"}))
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(etag(&same), "\"2\"");
    let xml = app.get_session_xml(SESSION).signed_in_as(&AGENT).await;
    assert_eq!(etag(&xml), "\"2\"");
}

#[tokio::test]
async fn if_none_match_with_the_current_version_is_304_without_a_body() {
    let (app, _) = world().await;
    let fresh = app
        .get_session(SESSION)
        .signed_in_as(&AGENT)
        .header("If-None-Match", "\"1\"")
        .await;
    assert_eq!((fresh.status, fresh.text.as_str()), (304, ""));
    assert_eq!(etag(&fresh), "\"1\"");
    // A 304 names no length (RFC 9110 8.6: only the 200's would be right).
    assert_eq!(fresh.header("content-length"), None);
    for stale in ["\"0\"", "W/\"2\"", "\"x\""] {
        let res = app
            .get_session(SESSION)
            .signed_in_as(&AGENT)
            .header("If-None-Match", stale)
            .await;
        assert_eq!(res.status, 200, "{stale}");
        assert_eq!(res.json()["id"], SESSION);
    }
    // Another account's session is still 403, whatever the client holds.
    add_user(app.pool(), &GRACE).await;
    let other = app
        .get_session(SESSION)
        .signed_in_as(&GRACE)
        .header("If-None-Match", "*")
        .await;
    assert_eq!(other.status, 403);
}

#[tokio::test]
async fn if_match_with_a_stale_version_is_412_and_changes_nothing() {
    let (app, _) = world().await;
    let before = stored(app.pool(), SESSION).await;
    for tag in ["\"2\"", "W/\"1\"", "\"one\""] {
        let res = app
            .patch_session(SESSION, &json!({"consoleData": "lost"}))
            .signed_in_as(&AGENT)
            .header("If-Match", tag)
            .await;
        assert_eq!(res.reply(), stale_reply(), "{tag}");
    }
    assert_eq!(stored(app.pool(), SESSION).await, before);
    // The current version, or `*`, applies.
    for (tag, text, version) in [("\"1\"", "first", "\"2\""), ("*", "second", "\"3\"")] {
        let res = app
            .patch_session(SESSION, &json!({"consoleData": text}))
            .signed_in_as(&AGENT)
            .header("If-Match", tag)
            .await;
        assert_eq!(
            (res.status, etag(&res)),
            (200, version.to_string()),
            "{tag}"
        );
        assert_eq!(res.json()["consoleData"], text);
    }
}

#[tokio::test]
async fn if_match_listing_several_tags_applies_when_any_is_the_current_version() {
    let (app, _) = world().await;
    let before = stored(app.pool(), SESSION).await;
    let stale = app
        .patch_session(SESSION, &json!({"consoleData": "lost"}))
        .signed_in_as(&AGENT)
        .header("If-Match", "\"7\", W/\"1\", \"9\"")
        .await;
    assert_eq!(stale.reply(), stale_reply());
    assert_eq!(stored(app.pool(), SESSION).await, before);
    // The current version anywhere in the list applies; so does a second If-Match line.
    let listed = app
        .patch_session(SESSION, &json!({"consoleData": "listed"}))
        .signed_in_as(&AGENT)
        .header("If-Match", "\"7\", \"1\"")
        .await;
    assert_eq!((listed.status, etag(&listed)), (200, "\"2\"".to_string()));
    assert_eq!(listed.json()["consoleData"], "listed");
    let lines = app
        .patch_session(SESSION, &json!({"consoleData": "second line"}))
        .signed_in_as(&AGENT)
        .header("If-Match", "\"1\"")
        .header("If-Match", "\"2\"")
        .await;
    assert_eq!((lines.status, etag(&lines)), (200, "\"3\"".to_string()));
    // Another account's session is 403 whatever the tags.
    add_user(app.pool(), &GRACE).await;
    let other = app
        .patch_session(SESSION, &json!({"consoleData": "theirs"}))
        .signed_in_as(&GRACE)
        .header("If-Match", "\"3\", \"4\"")
        .await;
    assert_eq!(other.status, 403, "{}", other.text);
}

/// Two clients read the same version and patch different fields with If-Match: exactly one
/// wins, the other gets 412, and the stored session has the winner's change and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_clients_racing_on_one_version_exactly_one_wins_and_nothing_is_lost() {
    let (app, _) = world().await;
    let remote = app.remote();
    for round in 0..20 {
        let tag = etag(&app.get_session(SESSION).signed_in_as(&AGENT).await);
        let a = json!({"consoleData": format!("a{round}")});
        let b = json!({"consoleData": format!("b{round}"), "callState": "Hold"});
        let (ra, rb) = tokio::join!(
            remote
                .patch_session(SESSION, &a)
                .signed_in_as(&AGENT)
                .header("If-Match", &tag),
            remote
                .patch_session(SESSION, &b)
                .signed_in_as(&AGENT)
                .header("If-Match", &tag),
        );
        let mut statuses = [ra.status, rb.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 412],
            "round {round}: {} / {}",
            ra.text,
            rb.text
        );
        let (winner, body) = if ra.status == 200 {
            (&ra, &a)
        } else {
            (&rb, &b)
        };
        let now = stored(app.pool(), SESSION).await;
        assert_eq!(now["consoleData"], body["consoleData"], "round {round}");
        assert_eq!(&now, &winner.json(), "round {round}");
        // Reset callState so the next round's `b` changes something.
        app.patch_session(SESSION, &json!({"callState": "Ringing"}))
            .signed_in_as(&AGENT)
            .await;
    }
}
