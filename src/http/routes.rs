//! The routes and their handlers. Handlers only bind the request DTO, call the operation in
//! [`crate::sessions`] and render its answer; every rule lives elsewhere.

use super::{Binding, RequestInput};
use crate::AppState;
use crate::auth::Principal;
use crate::dto::{GetSession, PatchSession};
use crate::error::{ApiError, Result};
use crate::sessions;
use crate::wire::{self, Format};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{any, get};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/sessions/{session_id}",
            get(get_session).patch(patch_session),
        )
        .route("/api/{op}", any(predefined))
        .route("/json/reply/{op}", any(predefined))
        .route("/xml/reply/{op}", any(predefined))
}

async fn patch_session(
    State(state): State<AppState>,
    user: Principal,
    format: Format,
    Path(id): Path<String>,
    input: RequestInput,
) -> Result<Response> {
    let req: PatchSession = input.bind(Binding::Custom(&[("sessionId", &id)]))?;
    let session = sessions::patch_session(&state, &user, req).await?;
    Ok(wire::session_response(format, &session))
}

async fn get_session(
    State(state): State<AppState>,
    user: Principal,
    format: Format,
    Path(id): Path<String>,
    input: RequestInput,
) -> Result<Response> {
    let req: GetSession = input.bind(Binding::Custom(&[("sessionId", &id)]))?;
    let session = sessions::get_session(&state, &user, req).await?;
    Ok(wire::session_response(format, &session))
}

/// The operations reachable by name on the predefined routes.
#[derive(Debug, Clone, Copy)]
enum Operation {
    PatchSession,
    GetSession,
}

impl Operation {
    fn by_name(name: &str) -> Option<Operation> {
        [
            ("PatchSession", Operation::PatchSession),
            ("GetSession", Operation::GetSession),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, op)| op)
    }
}

/// `/api/{Op}`, `/json/reply/{Op}`, `/xml/reply/{Op}`: any verb. The operation is resolved
/// before authentication, so an unknown one is a 405 whoever asks, as in ServiceStack.
async fn predefined(
    State(state): State<AppState>,
    Path(op): Path<String>,
    format: Format,
    req: Request,
) -> Result<Response> {
    // ServiceStack's exact text (it does not name the operation).
    let operation = Operation::by_name(&op).ok_or_else(|| {
        ApiError::not_implemented("The operation does not exist for this service")
    })?;
    let (mut parts, body) = req.into_parts();
    let user = Principal::from_request_parts(&mut parts, &state).await?;
    let input = RequestInput::read(&parts, body, state.config.max_body_bytes).await?;
    let session = match operation {
        Operation::PatchSession => {
            sessions::patch_session(&state, &user, input.bind(Binding::Predefined)?).await?
        }
        Operation::GetSession => {
            sessions::get_session(&state, &user, input.bind(Binding::Predefined)?).await?
        }
    };
    Ok(wire::session_response(format, &session))
}

pub async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "Handler for Request not found: {method} {}",
        uri.path()
    ))
}

pub async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_implemented(format!(
        "The verb {method} is not supported on {}",
        uri.path()
    ))
}
