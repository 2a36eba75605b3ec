//! The integration tests: one binary, one module per area, sharing [`helpers`] (the
//! `TestApp` builder, typed calls, and every fixture). Each test is named as the sentence it
//! checks and gets a fresh PostgreSQL database.

// The session fixtures are large `json!` literals.
#![recursion_limit = "256"]

mod helpers;

mod auth;
mod browser_safety;
mod cli;
mod clients;
mod events;
mod faults;
mod hardening;
mod hostile;
mod metadata;
mod observability;
mod openapi;
mod properties;
mod schema;
mod serve_demo;
mod sessions;
