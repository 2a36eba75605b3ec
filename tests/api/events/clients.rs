//! The real `ServerEventsClient` of `@servicestack/client` 2.1.13, in Node with the
//! `eventsource` package (tests/clients/node/events.mjs), against two instances.

use super::*;
use crate::clients::{node_deps, run_client};
use serde_json::json;

#[tokio::test]
async fn node_server_events_client_follows_patches_made_on_another_instance() {
    let dir = node_deps().clone();
    let (db, a, b, _users) = two_instances(expiring_config()).await;
    add_user(&db.pool, &AGENT).await;
    let expected = json!({
        "a": a.base_url,
        "b": b.base_url,
        "userName": ADA.email,
        "password": ADA.password,
        "account": ACCOUNT,
        "otherAccount": OTHER_ACCOUNT,
        "sessionId": SESSION,
        "watcher": {"userName": AGENT.email, "password": AGENT.password},
        "heartbeatIntervalMs": 300,
        "idleTimeoutMs": 1200,
    });
    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(&dir).arg("events.mjs");
    run_client("Node.js ServerEventsClient", cmd, &expected).await;
}
