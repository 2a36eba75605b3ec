//! Authentication: who is calling. Passwords are kept only as argon2id hashes; HTTP Basic
//! credentials are verified on every request (ServiceStack's BasicAuthProvider accepts them
//! on any request, which is what the JS, Python and .NET clients send).

use crate::AppState;
use crate::error::ApiError;
use crate::storage::accounts::{self, UserRecord};
use crate::storage::sessions::Caller;
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use base64::Engine;
use std::sync::LazyLock;

/// The role that acts in every account.
pub const SYSTEM_ADMINISTRATOR: &str = "SystemAdministrator";

/// The roles Evo Voice knows, in their canonical spelling.
pub const ROLES: &[&str] = &[SYSTEM_ADMINISTRATOR, "Manager", "Customer", "User"];

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == SYSTEM_ADMINISTRATOR)
    }

    pub fn caller(&self) -> Caller<'_> {
        Caller {
            user_id: &self.id,
            is_admin: self.is_admin(),
        }
    }
}

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks `password` against a stored PHC hash; a malformed hash never verifies.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verified against when the user name is unknown, so an unknown user costs the same time as
/// a wrong password and response timing does not reveal which user names exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not a real password").expect("argon2 hashes a constant"));

/// Canonical spelling of a role name given in any case, or None when it is not a role.
pub fn canonical_role(name: &str) -> Option<&'static str> {
    ROLES.iter().copied().find(|r| r.eq_ignore_ascii_case(name))
}

/// `Authorization: Basic base64(user:password)` → (user, password).
fn basic_credentials(parts: &Parts) -> Option<Result<(String, String), ApiError>> {
    let value = parts.headers.get(header::AUTHORIZATION)?;
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some(decoded) = decoded else {
        return Some(Err(ApiError::unauthorized(
            "Invalid Basic Authorization header",
        )));
    };
    let (user, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
    Some(Ok((user.to_string(), password.to_string())))
}

/// Verifies an e-mail and password; `None` when either is wrong.
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: &str,
) -> Result<Option<AuthUser>, ApiError> {
    let record = accounts::find_user_by_email(&state.pool, email).await?;
    let password = password.to_string();
    // argon2 is deliberately slow CPU work: keep it off the async workers.
    let (record, ok) = tokio::task::spawn_blocking(move || {
        let ok = match &record {
            Some(UserRecord { password_hash, .. }) => verify_password(&password, password_hash),
            None => {
                verify_password(&password, &DUMMY_HASH);
                false
            }
        };
        (record, ok)
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(record.filter(|_| ok).map(|r| AuthUser {
        id: r.id,
        email: r.email,
        display_name: r.display_name,
        roles: r.roles,
    }))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(credentials) = basic_credentials(parts) else {
            return Err(ApiError::unauthorized("Not Authenticated"));
        };
        let (user, password) = credentials?;
        authenticate(state, &user, &password)
            .await?
            .ok_or_else(|| ApiError::unauthorized("Invalid Username or Password"))
    }
}
