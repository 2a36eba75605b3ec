//! `PATCH /sessions/{sessionId}` and `GET /sessions/{sessionId}` through the real HTTP server:
//! the foundation issue's rules, each as its own test, with whole responses compared.

mod batch;
mod concurrency;
mod delete;
mod etag;
mod list;
mod partial_update;
mod round_trips;
mod routes;

pub use crate::helpers::internals::upsert_session_text;
pub use crate::helpers::*;
pub use serde::Deserialize;
pub use serde_json::{Value, json};
pub use std::fmt;

/// A server on [`seed_agent_with_full_session`]; returns it and AGENT's id.
pub async fn world() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let agent_id = seed_agent_with_full_session(app.pool()).await;
    (app, agent_id)
}
