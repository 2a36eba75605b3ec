//! The JSON written straight from a database row (the hot path) must be exactly the JSON of
//! the typed SessionInfo decoded from the same row, and the document that was stored.

#![recursion_limit = "256"]

mod common;

use common::TestDb;
use serde_json::{Value, json};
use voice_api::dto::SessionInfo;

fn full_session() -> Value {
    json!({
        "id": "s-full", "dateCreated": "2026-11-25T09:00:00.000Z",
        "dateLastModified": "2026-11-25T09:01:00.000Z", "createdBy": "u1", "lastModifiedBy": "u2",
        "dialState": "Active", "callState": "Hold", "queueState": "Queued",
        "accountId": "acct-1", "accountName": "Acme \"Support\" <&>", "customerId": "c1",
        "customerBreadcrumb": [{"id": "c0", "name": "Root"}, {"id": "c1", "name": "Zoë 東京"}],
        "customerName": "Northwind", "endpointId": "e1", "endpointName": "Main line",
        "dateCompleted": "2026-11-25T09:05:00.000Z", "destination": "+15550100",
        "toAddress": "+15550100", "fromAddress": "+15550123", "fromName": "Jane",
        "answeredByName": "Sam", "queueMemberId": "q1", "channel": "Chat", "ended": true,
        "outcome": "Done", "callSid": "CA1", "consoleData": "line1\nline2\t\"quoted\" \\ /",
        "holdQueueName": "hold", "heldByUserId": "u3", "holdReason": "Transferring",
        "conferenceSid": "CF1", "displayName": "Jane → Sam",
        "log": [{"date": "2026-11-25T09:00:00.000Z", "message": "in"}, {"message": "no date"}],
        "members": [{
            "identity": "client:jane", "endpointId": "e9", "displayName": "Jane",
            "isOriginalMember": true, "avatarUrl": "https://x/a.png",
            "applicationData": {"zeta": "1", "alpha": "2", "mid": "3"},
            "callState": "Connected", "role": "Caller", "callSid": "CA2", "muted": true
        }],
        "callbackNumber": "+15550999", "answeredById": "e2", "direction": "Outgoing",
        "fromPhoneNumber": "+15550123", "mostRecentParticipantCallSid": "CA3", "wasMissed": true,
        "ringQueueId": "rq1"
    })
}

fn sparse_session() -> Value {
    json!({
        "id": "s-sparse", "accountId": "acct-1", "dialState": "None",
        "callState": "Disconnected", "queueState": "None", "channel": "Voice", "ended": false,
        "holdReason": "None", "log": [], "direction": "Incoming", "wasMissed": false
    })
}

#[tokio::test]
async fn json_written_from_the_row_equals_the_typed_session_and_the_stored_document() {
    let db = TestDb::new().await;
    let docs = vec![full_session(), sparse_session()];
    voice_api::import::import_json(&db.pool, &Value::Array(docs.clone()).to_string())
        .await
        .unwrap();
    for doc in docs {
        let id = doc["id"].as_str().unwrap();
        let stored = voice_api::storage::sessions::load_stored(&db.pool, id)
            .await
            .unwrap()
            .expect("imported");
        let mut from_row = Vec::new();
        stored.write_json(&mut from_row).unwrap();
        let from_row = String::from_utf8(from_row).unwrap();
        let typed: SessionInfo = stored.to_info().unwrap();
        // Byte-for-byte: same keys, same order, same escaping.
        assert_eq!(from_row, serde_json::to_string(&typed).unwrap(), "{id}");
        let expected: SessionInfo = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(typed, expected, "{id}");
        assert_eq!(from_row, serde_json::to_string(&expected).unwrap(), "{id}");
    }
}
