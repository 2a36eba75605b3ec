//! SQL for accounts, users and their account memberships.

use sqlx::{PgConnection, PgPool};

/// Why an account or user could not be created, phrased for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn constraint(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(d) => d.constraint(),
        _ => None,
    }
}

pub async fn create_account(pool: &PgPool, id: &str, name: &str) -> Result<(), CreateError> {
    sqlx::query("INSERT INTO accounts (id, name) VALUES ($1, $2)")
        .bind(id)
        .bind(name)
        .execute(pool)
        .await
        .map_err(|e| match constraint(&e) {
            Some("accounts_pkey") => CreateError::Conflict(format!("account {id} already exists")),
            _ => e.into(),
        })?;
    Ok(())
}

/// Creates the account when it does not exist yet; an existing account is left as it is.
pub async fn ensure_account(
    tx: &mut PgConnection,
    id: &str,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO accounts (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
        .bind(id)
        .bind(name)
        .execute(tx)
        .await?;
    Ok(())
}

/// A new user that belongs to `account_id`.
pub struct NewUser<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub email: &'a str,
    pub display_name: Option<&'a str>,
    pub password_hash: &'a str,
    pub roles: &'a [String],
}

pub async fn create_user(pool: &PgPool, u: &NewUser<'_>) -> Result<(), CreateError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO users (id, email, user_key, display_name, password_hash, roles) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(u.id)
    .bind(u.email)
    .bind(crate::username::key(u.email))
    .bind(u.display_name)
    .bind(u.password_hash)
    .bind(u.roles)
    .execute(&mut *tx)
    .await
    .map_err(|e| match constraint(&e) {
        Some("users_email_key" | "users_user_key") => {
            CreateError::Conflict(format!("a user with e-mail {} already exists", u.email))
        }
        _ => e.into(),
    })?;
    sqlx::query("INSERT INTO user_accounts (user_id, account_id) VALUES ($1, $2)")
        .bind(u.id)
        .bind(u.account_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| match constraint(&e) {
            Some("user_accounts_account_id_fkey") => {
                CreateError::Missing(format!("no account with id {}", u.account_id))
            }
            _ => e.into(),
        })?;
    tx.commit().await?;
    Ok(())
}
