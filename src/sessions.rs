//! The Sessions operations (PatchSession, GetSession), independent of route and format: they
//! take a bound request DTO and the caller, and answer a SessionInfo or an ApiError.

use crate::AppState;
use crate::auth::AuthUser;
use crate::dto::{GetSession, PatchSession, SessionInfo};
use crate::error::{ApiError, Result};
use crate::storage::sessions::{self, Outcome};

/// ISO 8601 in UTC with milliseconds and `Z`, the form Evo Voice emits.
pub fn now_iso8601() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn found(outcome: Outcome, id: &str) -> Result<SessionInfo> {
    match outcome {
        Outcome::Found(s) => Ok(*s),
        Outcome::Forbidden => Err(ApiError::forbidden(
            "You do not have access to the account of this session",
        )),
        Outcome::NotFound => Err(ApiError::not_found(format!(
            "Session '{id}' does not exist"
        ))),
    }
}

pub async fn patch_session(
    state: &AppState,
    user: &AuthUser,
    req: PatchSession,
) -> Result<SessionInfo> {
    let id = req.session_id.as_deref().unwrap_or_default();
    let outcome = sessions::patch(&state.pool, user.caller(), id, &req, &now_iso8601()).await?;
    found(outcome, id)
}

pub async fn get_session(
    state: &AppState,
    user: &AuthUser,
    req: GetSession,
) -> Result<SessionInfo> {
    let id = req.session_id.as_deref().unwrap_or_default();
    let outcome = sessions::get(&state.pool, user.caller(), id).await?;
    found(outcome, id)
}
