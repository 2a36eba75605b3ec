//! Importing sessions from a JSON array of SessionInfo documents (the form GET returns).
//! The whole file is validated before anything is written, and written in one transaction,
//! so a bad document leaves the database as it was. Each document is read and checked by the
//! contract, as a request body is (enum names, text XML can carry, required ids).

use crate::contract::Dto;
use crate::contract::sessions::{SessionInfo, max_id_chars};
use crate::storage::{accounts, sessions};
use crate::wire::{bind, json};
use serde_json::value::RawValue;
use sqlx::PgPool;

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not a JSON array of sessions: {0}")]
    NotAnArray(serde_json::Error),
    #[error("document {index}: {reason}")]
    Document { index: usize, reason: String },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Parses and checks every document; the first bad one is reported with its index.
pub fn parse(text: &str) -> Result<Vec<SessionInfo>, ImportError> {
    // Raw documents, not `serde_json::Value`: a Value map would sort applicationData's keys.
    let docs: Vec<&RawValue> = serde_json::from_str(text).map_err(ImportError::NotAnArray)?;
    docs.into_iter()
        .enumerate()
        .map(|(index, doc)| {
            // One line per reason, whatever the offending value contains.
            let fail = |reason: String| ImportError::Document {
                index,
                reason: one_line(&reason),
            };
            if !doc.get().trim_start().starts_with('{') {
                return Err(fail("not a JSON object".into()));
            }
            let value = json::read(SessionInfo::TYPE, doc.get().as_bytes())
                .map_err(|e| fail(e.to_string()))?;
            let session: SessionInfo = bind::validate_document(value).map_err(|e| {
                fail(match e.errors.first() {
                    Some(field) => field.message.clone(),
                    None => e.message,
                })
            })?;
            let max = max_id_chars();
            for (name, value) in session.keys() {
                match value {
                    Some(v) if !v.trim().is_empty() && v.chars().count() <= max => {}
                    _ => return Err(fail(format!("'{name}' must be 1 to {max} characters"))),
                }
            }
            Ok(session)
        })
        .collect()
}

/// Control characters (a line break inside a quoted bad value) escaped, so a reason stays on
/// one line of the operator's terminal.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Upserts the sessions by id, creating missing accounts; all or nothing.
pub async fn import(pool: &PgPool, docs: &[SessionInfo]) -> Result<usize, ImportError> {
    let mut tx = pool.begin().await?;
    for (index, s) in docs.iter().enumerate() {
        let account_id = s.account_id.as_deref().unwrap_or_default();
        let account_name = s.account_name.as_deref().unwrap_or(account_id);
        accounts::ensure_account(&mut tx, account_id, account_name).await?;
        let stored = json::composites_as_json(SessionInfo::TYPE, s.to_object()).map_err(|e| {
            ImportError::Document {
                index,
                reason: e.to_string(),
            }
        })?;
        let created_at = s
            .date_created
            .as_deref()
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.with_timezone(&chrono::Utc));
        sessions::upsert(&mut tx, &stored, created_at)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) => ImportError::Document {
                    index,
                    reason: d.message().to_string(),
                },
                other => other.into(),
            })?;
    }
    tx.commit().await?;
    Ok(docs.len())
}

/// Parses `text` and imports it; returns how many sessions were imported.
pub async fn import_json(pool: &PgPool, text: &str) -> Result<usize, ImportError> {
    let docs = parse(text)?;
    import(pool, &docs).await
}
