//! The routes and their handlers. Handlers only bind the request DTO, call the operation in
//! [`crate::sessions`] and render its answer; every rule lives elsewhere.

use super::{Binding, RequestInput, cookies};
use crate::AppState;
use crate::auth::{self, Principal};
use crate::dto::{Authenticate, AuthenticateResponse, GetSession, PatchSession};
use crate::error::{ApiError, Result};
use crate::login::{self, AuthAction};
use crate::sessions;
use crate::wire::{self, Format};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, Method, request::Parts};
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
        .route("/health/live", get(super::health::live))
        .route("/health/ready", get(super::health::ready))
        .route("/auth", any(authenticate))
        .route("/auth/status", get(auth_status))
        .route("/auth/{provider}", any(authenticate))
}

async fn patch_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Principal,
    format: Format,
    Path(id): Path<String>,
    input: RequestInput,
) -> Result<Response> {
    refuse_cross_site(&headers, &state.config.cors_origins)?;
    let req: PatchSession = input.bind(Binding::Custom(&[("sessionId", &id)]))?;
    let session = sessions::patch_session(&state, &user, req).await?;
    wire::respond(format, &session)
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
    wire::respond(format, &session)
}

/// The operations reachable by name on the predefined routes.
#[derive(Debug, Clone, Copy)]
enum Operation {
    PatchSession,
    GetSession,
    Authenticate,
}

impl Operation {
    fn by_name(name: &str) -> Option<Operation> {
        [
            ("PatchSession", Operation::PatchSession),
            ("GetSession", Operation::GetSession),
            ("Authenticate", Operation::Authenticate),
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
    if let Operation::PatchSession = operation {
        // ServiceStack takes any verb here, but a change made by a plain GET is a change any
        // link or image on another site can make with the victim's cookies.
        if parts.method == Method::GET || parts.method == Method::HEAD {
            return Err(ApiError::not_implemented(
                "PatchSession changes data: send it with PATCH, POST or PUT",
            ));
        }
        refuse_cross_site(&parts.headers, &state.config.cors_origins)?;
    }
    // Authenticate is how a caller becomes authenticated; the session operations need it.
    let user = match operation {
        Operation::Authenticate => None,
        Operation::PatchSession | Operation::GetSession => {
            Some(Principal::from_request_parts(&mut parts, &state).await?)
        }
    };
    let input = RequestInput::read(&parts, body, state.config.max_body_bytes).await?;
    let session = match (operation, user) {
        (Operation::PatchSession, Some(user)) => {
            sessions::patch_session(&state, &user, input.bind(Binding::Predefined)?).await?
        }
        (Operation::GetSession, Some(user)) => {
            sessions::get_session(&state, &user, input.bind(Binding::Predefined)?).await?
        }
        _ => {
            return run_authenticate(&state, format, parts, input.bind(Binding::Predefined)?).await;
        }
    };
    wire::respond(format, &session)
}

/// Refuses a data-changing request that a browser marks as coming from another site (cookies
/// travel with those), unless that site is one of the configured CORS origins. Clients that
/// are not browsers send neither `Origin` nor `Sec-Fetch-Site` and are not affected.
fn refuse_cross_site(headers: &HeaderMap, allowed: &[String]) -> Result<()> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = text("origin").map(|o| o.trim_end_matches('/'));
    let allowed_origin =
        origin.is_some_and(|o| allowed.iter().any(|a| a.trim_end_matches('/') == o));
    let same_origin = match (origin, text("host")) {
        (Some(o), Some(host)) => o
            .split_once("://")
            .is_some_and(|(_, h)| h.eq_ignore_ascii_case(host)),
        _ => false,
    };
    let cross = match text("sec-fetch-site") {
        Some(site) => {
            site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site")
        }
        None => origin.is_some() && !same_origin,
    };
    if cross && !allowed_origin {
        return Err(ApiError::forbidden(
            "Cross-site requests may not change sessions (origin not allowed)",
        ));
    }
    Ok(())
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

/// `/auth` and `/auth/{provider}` (any verb): ServiceStack's Authenticate service.
async fn authenticate(
    State(state): State<AppState>,
    format: Format,
    provider: Option<Path<String>>,
    req: Request,
) -> Result<Response> {
    let (parts, body) = req.into_parts();
    let input = RequestInput::read(&parts, body, state.config.max_body_bytes).await?;
    let provider = provider.map(|Path(p)| p);
    let path: Vec<(&str, &str)> = provider.iter().map(|p| ("provider", p.as_str())).collect();
    let dto: Authenticate = input.bind(Binding::Custom(&path))?;
    run_authenticate(&state, format, parts, dto).await
}

/// Login, logout or the current session, by the request's provider.
async fn run_authenticate(
    state: &AppState,
    format: Format,
    mut parts: Parts,
    mut dto: Authenticate,
) -> Result<Response> {
    match login::action(dto.provider.as_deref())? {
        AuthAction::Login => {
            // A password in a URL ends up in logs and browser history; HEAD is a GET without
            // the body, so it is refused alike.
            if parts.method == Method::GET || parts.method == Method::HEAD {
                return Err(ApiError::not_implemented(
                    "GET Authenticate requests are disabled; use POST",
                ));
            }
            // A login another site makes the browser send would sign the visitor in as the
            // attacker (login CSRF): refused like a cross-site PATCH.
            refuse_cross_site(&parts.headers, &state.config.cors_origins).map_err(|_| {
                ApiError::forbidden("Cross-site logins are refused (origin not allowed)")
            })?;
            if dto.user_name.is_none()
                && let Some((user, password)) = auth::basic_credentials(&parts)
            {
                dto.user_name = Some(user);
                dto.password = Some(password);
            }
            let login = match login::login(state, &dto).await {
                Ok(login) => login,
                Err(err) => return failed_login(format, err),
            };
            let mut res = wire::respond(format, &login.response)?;
            cookies::set_session(&mut res, &parts, &login);
            Ok(res)
        }
        AuthAction::Logout => {
            let session = auth::session_id(&parts);
            let answer = login::logout(state, session.as_deref()).await?;
            let mut res = wire::respond(format, &answer)?;
            cookies::clear_session(&mut res, &parts);
            Ok(res)
        }
        AuthAction::Current => {
            let principal = Principal::from_request_parts(&mut parts, state).await?;
            wire::respond(format, &login::current(state, &principal).await?)
        }
    }
}

/// A failed login answered as ServiceStack does: the typed `AuthenticateResponse` carrying
/// the `ResponseStatus` (the same JSON as an ErrorResponse; in XML the root differs), with the
/// error's status and headers.
fn failed_login(format: Format, err: ApiError) -> Result<Response> {
    let status = err.status;
    let answer = AuthenticateResponse {
        response_status: Some(err.response_status()),
        ..AuthenticateResponse::default()
    };
    let mut res = wire::respond(format, &answer)?;
    *res.status_mut() = status;
    super::error_headers(&mut res, &err);
    Ok(res)
}

/// `GET /auth/status`: Evo Voice's UserInfo, or `isAuthenticated: false` for anyone else.
async fn auth_status(
    State(state): State<AppState>,
    format: Format,
    req: Request,
) -> Result<Response> {
    let (parts, _) = req.into_parts();
    // Bad or stale credentials are reported as "not authenticated", not as an error.
    let principal = auth::optional_principal(&parts, &state)
        .await
        .ok()
        .flatten();
    wire::respond(format, &login::status(&state, principal.as_ref()).await?)
}
