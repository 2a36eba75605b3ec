//! The authentication operations (ServiceStack's `Authenticate` and Evo Voice's `/auth/status`),
//! independent of route and format: credentials login into a server-side session stored in
//! PostgreSQL (so every instance shares it and restarts log nobody out), logout, and who-am-I.

use crate::AppState;
use crate::auth::{self, Principal};
use crate::contract::auth::UserInfo;
use crate::contract::servicestack::{Authenticate, AuthenticateResponse};
use crate::error::{ApiError, Result};
use crate::storage::auth::{self as store, Credential};
use base64::Engine;
use rand::RngCore;
use std::time::Duration;

/// A successful login: the answer, and the session the cookies must carry.
pub struct Login {
    pub response: AuthenticateResponse,
    pub session_id: String,
    pub remember_me: bool,
    pub ttl: Duration,
}

/// A new login session id: 192 random bits, URL-safe base64 (no `+`, `/` or padding, so it is
/// cookie- and header-safe as ServiceStack's ids are).
pub fn new_login_session_id() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What an `Authenticate` request asks for, by its provider.
pub enum AuthAction {
    Login,
    Logout,
    /// No provider: report the current session.
    Current,
}

pub fn action(provider: Option<&str>) -> Result<AuthAction> {
    match provider.map(str::trim) {
        None | Some("") => Ok(AuthAction::Current),
        Some(p)
            if ["credentials", "login", "basic"]
                .iter()
                .any(|n| p.eq_ignore_ascii_case(n)) =>
        {
            Ok(AuthAction::Login)
        }
        Some(p) if p.eq_ignore_ascii_case("logout") => Ok(AuthAction::Logout),
        Some(p) => Err(ApiError::not_found(format!(
            "No configuration was added for OAuth provider '{p}'"
        ))),
    }
}

/// Verifies the user name and password and opens a login session.
pub async fn login(state: &AppState, req: &Authenticate, from: &str) -> Result<Login> {
    let user_name = req.user_name.as_deref().unwrap_or("").trim();
    let password = req.password.as_deref().unwrap_or("");
    if user_name.is_empty() {
        return Err(ApiError::validation(
            "UserName",
            "NotEmpty",
            "'User Name' must not be empty.",
        ));
    }
    if password.is_empty() {
        return Err(ApiError::validation(
            "Password",
            "NotEmpty",
            "'Password' must not be empty.",
        ));
    }
    let credential = auth::verify_password(state, user_name, password, from).await?;
    let user = store::resolve(&state.pool, &credential)
        .await?
        .ok_or_else(|| ApiError::unauthorized("Invalid Username or Password"))?;
    let session_id = new_login_session_id();
    let remember_me = req.remember_me.unwrap_or(false);
    let ttl = if remember_me {
        state.auth.remember_ttl
    } else {
        state.auth.login_session_ttl
    };
    store::create_login_session(
        &state.pool,
        &auth::sha256_hex(session_id.as_bytes()),
        &user.id,
        remember_me,
        ttl,
    )
    .await?;
    Ok(Login {
        response: authenticate_response(&user, Some(session_id.clone())),
        session_id,
        remember_me,
        ttl,
    })
}

/// Ends the login session the request carries, if any, for every server at once.
pub async fn logout(state: &AppState, session_id: Option<&str>) -> Result<AuthenticateResponse> {
    if let Some(id) = session_id {
        store::end_login_session(&state.pool, &auth::sha256_hex(id.as_bytes())).await?;
    }
    Ok(AuthenticateResponse::default())
}

/// `GET /auth`: the caller's own session, or 401.
pub async fn current(state: &AppState, principal: &Principal) -> Result<AuthenticateResponse> {
    let user = store::resolve(&state.pool, &principal.credential)
        .await?
        .ok_or_else(|| ApiError::unauthorized("Not Authenticated"))?;
    let session_id = match &principal.credential {
        Credential::LoginSession { .. } => principal.login_session_id(),
        _ => None,
    };
    Ok(authenticate_response(&user, session_id))
}

fn authenticate_response(
    user: &store::UserInfo,
    session_id: Option<String>,
) -> AuthenticateResponse {
    AuthenticateResponse {
        user_id: Some(user.id.clone()),
        session_id,
        user_name: Some(user.email.clone()),
        display_name: Some(
            user.display_name
                .clone()
                .unwrap_or_else(|| user.email.clone()),
        ),
        roles: Some(user.roles.clone()),
        permissions: Some(Vec::new()),
        ..AuthenticateResponse::default()
    }
}

/// `GET /auth/status`: who the caller is; anonymous or invalid credentials are simply
/// `isAuthenticated: false`, never a 401.
pub async fn status(state: &AppState, principal: Option<&Principal>) -> Result<UserInfo> {
    let Some(principal) = principal else {
        return Ok(UserInfo::default());
    };
    let Some(user) = store::resolve(&state.pool, &principal.credential).await? else {
        return Ok(UserInfo::default());
    };
    let name = user
        .display_name
        .clone()
        .unwrap_or_else(|| user.email.clone());
    let (first, last) = match user.display_name.as_deref().and_then(|n| n.split_once(' ')) {
        Some((f, l)) => (Some(f.to_string()), Some(l.to_string())),
        None => (user.display_name.clone(), None),
    };
    Ok(UserInfo {
        id: Some(user.id),
        is_authenticated: true,
        first_name: first,
        last_name: last,
        name: Some(name),
        email_address: Some(user.email),
        roles: Some(user.roles),
        account_ids: Some(user.accounts.iter().map(|(id, _)| id.clone()).collect()),
        account_names: Some(user.accounts.into_iter().map(|(_, n)| n).collect()),
    })
}
