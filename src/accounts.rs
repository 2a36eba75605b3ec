//! Accounts and users, as the command line, the demo seed and the tests create them: the id
//! and e-mail rules, role names, and password hashing off the async threads.

use crate::auth;
use crate::contract::sessions::max_id_chars;
use crate::storage::{self, accounts};
use anyhow::{Context, bail};

/// An id must be 1 to [`max_id_chars`] characters (the contract's rule for ids).
pub fn check_id(what: &str, id: &str) -> anyhow::Result<()> {
    let max = max_id_chars();
    if id.trim().is_empty() || id.chars().count() > max {
        bail!("{what} must be 1 to {max} characters");
    }
    Ok(())
}

/// Creates an account (with a new id unless one is given); returns its id.
pub async fn add_account(
    pool: &sqlx::PgPool,
    id: Option<String>,
    name: &str,
) -> anyhow::Result<String> {
    let id = id.unwrap_or_else(storage::new_id);
    check_id("account id", &id)?;
    accounts::create_account(pool, &id, name).await?;
    Ok(id)
}

/// argon2id of a password, computed off the async threads.
pub async fn hash_password(password: &str) -> anyhow::Result<String> {
    if password.is_empty() {
        bail!("the password must not be empty");
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || auth::hash_secret(&password))
        .await?
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// Validates and creates a user in `account`; returns its id.
pub async fn add_user(
    pool: &sqlx::PgPool,
    account: &str,
    email: &str,
    password: &str,
    name: Option<&str>,
    roles: &[String],
) -> anyhow::Result<String> {
    if !email.contains('@') || email.trim() != email || email.contains(':') {
        bail!("invalid e-mail address {email:?}");
    }
    let roles = roles
        .iter()
        .map(|r| {
            auth::canonical_role(r).map(str::to_owned).with_context(|| {
                format!("unknown role {r:?}; roles are {}", auth::ROLES.join(", "))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let hash = hash_password(password).await?;
    let id = storage::new_id();
    accounts::create_user(
        pool,
        &accounts::NewUser {
            id: &id,
            account_id: account,
            email,
            display_name: name,
            password_hash: &hash,
            roles: &roles,
        },
    )
    .await?;
    Ok(id)
}

/// Replaces a user's password; the user's logins and cached verifications end at once.
pub async fn set_password(pool: &sqlx::PgPool, email: &str, password: &str) -> anyhow::Result<()> {
    let hash = hash_password(password).await?;
    if !storage::auth::set_password(pool, email, &hash).await? {
        bail!("no user with e-mail {email}");
    }
    Ok(())
}
