//! `PATCH /sessions/{sessionId}` and `GET /sessions/{sessionId}` through the real HTTP server:
//! the foundation issue's rules, each as its own test, with whole responses compared.

mod concurrency;
mod partial_update;
mod round_trips;
mod routes;

pub use crate::helpers::internals::upsert_session_text;
pub use crate::helpers::{
    ACCOUNT, AGENT, JSON_UTF8, OTHER_ACCOUNT, OTHER_SESSION, Reply, SESSION, TestApp, add_user,
    assert_fresh_timestamp, full_session, full_session_application_data, full_session_text, import,
    import_texts, sparse_expected, sparse_session, with,
};
pub use reqwest::Method;
pub use serde::Deserialize;
pub use serde_json::{Value, json};
pub use std::fmt;

use crate::helpers::{Api, fixtures};

/// The password every session test uses (AGENT's).
pub const PASSWORD: &str = AGENT.password;

/// A fixture user as these tests see it: its id and e-mail.
pub struct User {
    pub id: String,
    pub email: String,
}

/// Creates AGENT.
pub async fn agent(app: &TestApp) -> User {
    User {
        id: add_user(app.pool(), &AGENT).await,
        email: AGENT.email.to_string(),
    }
}

/// A server with AGENT in ACCOUNT and the full session SESSION in it.
pub struct World {
    pub app: TestApp,
    pub agent: User,
}

pub async fn world() -> World {
    let app = TestApp::spawn().await;
    let agent = agent(&app).await;
    import_texts(app.pool(), &[full_session_text(SESSION, ACCOUNT)]).await;
    World { app, agent }
}

#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
}

impl<'a> Auth<'a> {
    pub fn of(user: &'a User) -> Auth<'a> {
        Auth::Basic(&user.email, PASSWORD)
    }
}

/// Sends a request with an optional JSON body; returns the reply and the raw body text.
pub async fn exchange(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<&str>,
) -> (Reply, String) {
    let mut call = app.request(method, path);
    if let Auth::Basic(user, password) = auth {
        call = call.basic(user, password);
    }
    if let Some(body) = body {
        call = call.body("application/json", body.to_string());
    }
    let res = call.await;
    (res.reply(), res.text)
}

pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<&str>,
) -> Reply {
    exchange(app, method, path, auth, body).await.0
}

pub async fn patch(app: &TestApp, auth: Auth<'_>, id: &str, body: &Value) -> Reply {
    let path = format!("/sessions/{id}");
    send(app, Method::PATCH, &path, auth, Some(&body.to_string())).await
}

pub async fn get(app: &TestApp, auth: Auth<'_>, id: &str) -> Reply {
    send(app, Method::GET, &format!("/sessions/{id}"), auth, None).await
}

/// The expected body of a session patched by `user` (see [`fixtures::patched`]).
pub fn patched(doc: &Value, changes: Value, user: &User, reply: &Reply) -> Value {
    fixtures::patched(doc, &changes, &user.id, &reply.body)
}
