//! Test harness: every test gets its own freshly created PostgreSQL database and, when it
//! needs HTTP, a real server on a free loopback port.
//!
//! - [`app`]: [`TestApp::builder`] (HTTP config, auth policy, pool settings, another instance
//!   on a shared database, a pool of the test's own) and [`TestDb`].
//! - [`calls`]: the typed calls ([`Api`]: `get_session`, `patch_session`, `patch_session_xml`,
//!   `login`, `logout`, `auth_status`, ...) and what they return ([`Response`], [`Reply`],
//!   [`Login`]).
//! - [`fixtures`]: every account, user, password and session, and the seed's golden files.
//! - [`binary`]: the real `voice-api` binary, as a command and as a server process.
//!
//! # Where the tests touch the library's internals
//!
//! The library's DTO and storage APIs are being redesigned (`src/contract/`). Only these places
//! use anything of `voice_api` beyond starting the server:
//!
//! - `internals.rs`: `storage::accounts::ensure_account` + `cli::add_user` (creating fixture
//!   users), `import::import_json` (importing fixture sessions), `storage::sessions::load`
//!   (the stored session as JSON), `dto::SessionInfo` + `storage::sessions::upsert` (storing
//!   without the import), `wire::xml::read_session_info` (reading an XML answer back),
//!   `storage::sessions::load_stored` + `StoredSession::write_json` / `to_info` (the hot
//!   path's JSON), `auth::verify_secret`, and the limits `HttpConfig::default().max_body_bytes`,
//!   the contract's length rules (consoleData, ids).
//! - `contract.rs`: the DTO types themselves (`dto::SessionInfo`, `PatchSession` and their
//!   member types and enums) as proptest strategies, `wire::xml::write_session_info` /
//!   `read_session_info`, `import::import`, `storage::sessions::patch` with
//!   `storage::auth::Credential`, `sessions::now_iso8601`, `wire::negotiate::negotiate`.
//! - `app.rs` (server start-up, not DTOs): `AppState::with_auth`, `server::run`,
//!   `storage::open`, `HttpConfig`, `AuthConfig`, `PoolSettings`; and the tests that configure
//!   the server use `HttpConfig`, `AuthConfig` (with `storage::auth::ThrottlePolicy`) and
//!   `PoolSettings`.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod binary;
pub mod calls;
pub mod contract;
pub mod fixtures;
pub mod internals;

pub use app::{TestApp, TestDb};
pub use calls::{
    Api, CHALLENGE, Call, FORM, JSON, JSON_UTF8, Login, Remote, Reply, Response, XML,
    invalid_credentials, not_authenticated, status_json,
};
pub use fixtures::*;
pub use internals::stored;
pub use reqwest::Method;
