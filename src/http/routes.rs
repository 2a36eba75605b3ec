//! The routes and their handlers, registered from the operation table
//! ([`crate::contract::operations`]): each operation's custom routes, and the predefined
//! routes that find an operation by name. Handlers only bind the request DTO, call the
//! operation and render its answer; every rule lives elsewhere.

use super::{Binding, RequestInput, cookies, etag};
use crate::AppState;
use crate::auth::{self, Principal};
use crate::contract::operations::{self, OPERATIONS, OpId, Operation};
use crate::contract::servicestack::{Authenticate, AuthenticateResponse};
use crate::error::{ApiError, Result};
use crate::login::{self, AuthAction};
use crate::sessions;
use crate::storage::sessions::StoredSession;
use crate::wire::{self, Format};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, any, get};

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    // Operations sharing a path (GET and PATCH of a session) share its method router.
    let mut paths: Vec<(&str, MethodRouter<AppState>)> = Vec::new();
    for op in OPERATIONS {
        for route in op.routes {
            let i = match paths.iter().position(|(p, _)| *p == route.path) {
                Some(i) => i,
                None => {
                    paths.push((route.path, MethodRouter::new()));
                    paths.len() - 1
                }
            };
            let mut methods = std::mem::take(&mut paths[i].1);
            for verb in route.verbs {
                let filter =
                    MethodFilter::try_from(Method::from_bytes(verb.as_bytes()).expect("a verb"))
                        .expect("a verb axum routes");
                let id = op.id;
                methods = methods.on(filter, move |state, path, format, req| {
                    custom(id, state, path, format, req)
                });
            }
            paths[i].1 = methods;
        }
    }
    for (path, methods) in paths {
        router = router.route(path, methods);
    }
    for path in operations::PREDEFINED_ROUTES {
        router = router.route(path, any(predefined));
    }
    router
        .merge(crate::metadata::router())
        .merge(crate::events::routes())
        .route(operations::HEALTH_ROUTES[0], get(super::health::live))
        .route(operations::HEALTH_ROUTES[1], get(super::health::ready))
        .route(operations::OPENAPI_ROUTE, get(crate::openapi::serve))
}

/// A custom route of operation `id`: path variables bind request members by name.
async fn custom(
    id: OpId,
    State(state): State<AppState>,
    Path(vars): Path<Vec<(String, String)>>,
    format: Format,
    req: Request,
) -> Result<Response> {
    let path: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (parts, body) = req.into_parts();
    run(
        operations::operation(id),
        &state,
        format,
        parts,
        body,
        Binding::Custom(&path),
    )
    .await
}

/// `/api/{Op}`, `/json/reply/{Op}`, `/xml/reply/{Op}`: any verb. The operation is resolved
/// before authentication, so an unknown one is a 405 whoever asks, as in ServiceStack.
async fn predefined(
    State(state): State<AppState>,
    Path(name): Path<String>,
    format: Format,
    req: Request,
) -> Result<Response> {
    let req = match crate::events::predefined(&name, &state, format, req).await {
        Ok(answer) => return answer,
        Err(req) => req,
    };
    // ServiceStack's exact text (it does not name the operation).
    let op = operations::by_name(&name).ok_or_else(|| {
        ApiError::not_implemented("The operation does not exist for this service")
    })?;
    let (parts, body) = req.into_parts();
    // ServiceStack takes any verb here, but a change made by a plain GET is a change any
    // link or image on another site can make with the victim's cookies.
    if op.mutates && (parts.method == Method::GET || parts.method == Method::HEAD) {
        return Err(ApiError::not_implemented(format!(
            "{} changes data: send it with PATCH, POST or PUT",
            op.name()
        )));
    }
    run(op, &state, format, parts, body, Binding::Predefined).await
}

/// Runs `op` for a request, whichever route it came by.
async fn run(
    op: &'static Operation,
    state: &AppState,
    format: Format,
    mut parts: Parts,
    body: Body,
    binding: Binding<'_>,
) -> Result<Response> {
    if op.mutates {
        refuse_cross_site(&parts.headers, &state.config.cors_origins)?;
    }
    // Anonymous callers are refused before the body is read.
    let user = match op.requires_auth {
        true => Some(Principal::from_request_parts(&mut parts, state).await?),
        false => None,
    };
    let input = RequestInput::read(&parts, body, state.config.max_body_bytes).await?;
    match (op.id, user) {
        (OpId::PatchSession, Some(user)) => {
            let expect = etag::if_match(&parts.headers);
            let req = input.bind(binding)?;
            let session = sessions::patch_session(state, &user, req, expect).await?;
            let tag = etag::of_version(session.version()?);
            respond_stored(format, op, &session, tag)
        }
        (OpId::GetSession, Some(user)) => {
            let session = sessions::get_session(state, &user, input.bind(binding)?).await?;
            let tag = etag::of_version(session.version()?);
            if etag::none_match(&parts.headers, tag.to_str().unwrap_or_default()) {
                return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
            }
            respond_stored(format, op, &session, tag)
        }
        (OpId::ListSessions, Some(user)) => {
            let req = input.bind(binding)?;
            let listed = crate::lists::list_sessions(state, &user, &req).await?;
            crate::lists::respond(format, listed, req).await
        }
        (OpId::DeleteSessions, Some(user)) => {
            let answer = crate::lists::delete_sessions(state, &user, &input.bind(binding)?).await?;
            wire::respond(format, &answer)
        }
        (OpId::Authenticate, _) => {
            run_authenticate(state, format, parts, input.bind(binding)?).await
        }
        (OpId::GetAuthStatus, _) => auth_status(state, format, &parts).await,
        (_, None) => Err(ApiError::unauthorized("Not Authenticated")),
    }
}

/// A session answer, with its version's entity tag.
fn respond_stored(
    format: Format,
    op: &Operation,
    session: &StoredSession,
    tag: HeaderValue,
) -> Result<Response> {
    let mut res = wire::respond_value(format, op.response, &session.value()?)?;
    res.headers_mut().insert(header::ETAG, tag);
    Ok(res)
}

/// Refuses a data-changing request that a browser marks as coming from another site (cookies
/// travel with those), unless that site is one of the configured CORS origins. Clients that
/// are not browsers send neither `Origin` nor `Sec-Fetch-Site` and are not affected.
fn refuse_cross_site(headers: &HeaderMap, allowed: &[String]) -> Result<()> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = text("origin").map(|o| o.trim_end_matches('/'));
    let allowed_origin = origin.is_some_and(|o| is_allowed(o, allowed));
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

/// Whether the Referer's origin (scheme, host and port) is one of the allowed origins.
fn referred_by_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, rest)) = referer.split_once("://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    is_allowed(&format!("{scheme}://{host}"), allowed)
}

/// Whether `origin` is one of the allowed origins (a trailing slash on either ignored).
fn is_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim_end_matches('/');
    allowed.iter().any(|a| a.trim_end_matches('/') == origin)
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
            let login = match login::login(state, &dto, &auth::client_of(&parts)).await {
                Ok(login) => login,
                Err(err) => return failed_login(format, err),
            };
            let mut res = wire::respond(format, &login.response)?;
            cookies::set_login_session(&mut res, &parts, &login);
            Ok(res)
        }
        AuthAction::Logout => {
            // Another site's link would end the visitor's login (the Lax cookies go along on a
            // top-level navigation): refused like a cross-site login, unless it comes from an
            // allowed origin (a navigation carries no Origin; its Referer names the page).
            if refuse_cross_site(&parts.headers, &state.config.cors_origins).is_err()
                && !referred_by_allowed(&parts.headers, &state.config.cors_origins)
            {
                return Err(ApiError::forbidden(
                    "Cross-site logouts are refused (origin not allowed)",
                ));
            }
            let session = auth::login_session_id(&parts);
            let answer = login::logout(state, session.as_deref()).await?;
            let mut res = wire::respond(format, &answer)?;
            cookies::clear_login_session(&mut res, &parts);
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
async fn auth_status(state: &AppState, format: Format, parts: &Parts) -> Result<Response> {
    // Bad or stale credentials are reported as "not authenticated", not as an error.
    let principal = auth::optional_principal(parts, state).await.ok().flatten();
    wire::respond(format, &login::status(state, principal.as_ref()).await?)
}
