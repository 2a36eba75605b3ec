//! Health checks for load balancers, without authentication and revealing nothing beyond
//! up/down: `/health/live` (the process answers) and `/health/ready` (the database answers
//! and its migrations are the ones this binary expects).

use crate::AppState;
use crate::error::{ApiError, Result};
use crate::wire::JSON_CONTENT_TYPE;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

fn status(text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, JSON_CONTENT_TYPE)], text).into_response()
}

pub async fn live() -> Response {
    status(r#"{"status":"live"}"#)
}

pub async fn ready(State(state): State<AppState>) -> Result<Response> {
    let current = crate::storage::migrations_current(&state.pool)
        .await
        .map_err(|_| ApiError::service_unavailable("not ready"))?;
    if !current {
        return Err(ApiError::service_unavailable("not ready"));
    }
    Ok(status(r#"{"status":"ready"}"#))
}
