//! The Sessions operations (PatchSession, GetSession), independent of route and format: they
//! take a bound request DTO and the caller, and answer the stored session or an ApiError.

use crate::AppState;
use crate::auth::Principal;
use crate::contract::sessions::{GetSession, PatchSession, SessionInfo};
use crate::error::{ApiError, Result};
use crate::storage::auth::Credential;
use crate::storage::batch::{Answer, Patch};
use crate::storage::lease;
use crate::storage::sessions::{self, Outcome, StoredSession};

/// ISO 8601 in UTC with milliseconds and `Z`, the form Evo Voice emits (`2026-12-02T03:10:26.726Z`).
/// chrono's RFC 3339 writer, not a `format` string: that one parses its pattern on every call,
/// 3.4 K instructions of a PATCH's ~148 K (callgrind).
pub fn now_iso8601() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A statement to run as the caller.
enum Statement<'a> {
    Patch {
        id: &'a str,
        req: &'a PatchSession,
        now: &'a str,
        /// If-Match: the version the client last saw.
        expect: Option<i64>,
    },
    Get {
        id: &'a str,
    },
    /// The answer to an allowed patch that wrote nothing (see [`sessions::unchanged`]).
    Unchanged {
        id: &'a str,
        expect: Option<i64>,
    },
}

/// A statement together with the credential it runs as.
struct AsCaller<'a> {
    statement: &'a Statement<'a>,
    cred: &'a Credential,
}

impl lease::Statement for AsCaller<'_> {
    type Answer = Outcome;
    async fn run(&self, conn: &mut sqlx::PgConnection) -> Result<Outcome, sqlx::Error> {
        match self.statement {
            Statement::Patch {
                id,
                req,
                now,
                expect,
            } => sessions::patch(conn, self.cred, id, req, now, *expect).await,
            Statement::Get { id } => sessions::get(conn, self.cred, id).await,
            Statement::Unchanged { id, expect } => {
                sessions::unchanged(conn, self.cred, id, *expect).await
            }
        }
    }
}

impl Statement<'_> {
    async fn run(&self, state: &AppState, cred: &Credential) -> Result<Outcome, sqlx::Error> {
        state
            .leases
            .run(&AsCaller {
                statement: self,
                cred,
            })
            .await
    }
}

/// Runs a statement as `principal`. When the database refuses a credential that came from the
/// verification cache (password changed, key revoked), what the client presented is verified
/// afresh once and the statement retried.
async fn run_as(
    state: &AppState,
    principal: &Principal,
    statement: Statement<'_>,
) -> Result<Outcome> {
    let outcome = statement.run(state, &principal.credential).await?;
    if !matches!(outcome, Outcome::Unauthenticated) {
        return Ok(outcome);
    }
    match principal.reverify(state).await? {
        Some(fresh) => Ok(statement.run(state, &fresh.credential).await?),
        None => Ok(outcome),
    }
}

fn found(outcome: Outcome, id: &str) -> Result<StoredSession> {
    match outcome {
        Outcome::Found(s) => Ok(s),
        Outcome::Unauthenticated => Err(ApiError::unauthorized("Not Authenticated")),
        Outcome::Forbidden => Err(ApiError::forbidden(
            "You do not have access to the account of this session",
        )),
        Outcome::NotFound => Err(ApiError::not_found(format!(
            "Session '{id}' does not exist"
        ))),
        Outcome::Stale => Err(ApiError::new(
            axum::http::StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            format!(
                "Session '{id}' has changed since the version If-Match names; \
                 GET it again and retry"
            ),
        )),
    }
}

/// Applies `req`; with `accept` (If-Match's versions) only when the stored version is one of
/// them.
pub async fn patch_session(
    state: &AppState,
    principal: &Principal,
    req: PatchSession,
    accept: Option<Vec<i64>>,
) -> Result<StoredSession> {
    let expect = match accept.as_deref() {
        None => None,
        Some([one]) => Some(*one),
        // No version of ours: nothing can match (no session has version -1).
        Some([]) => Some(-1),
        // Several: the statements take one version, so the stored one is read first and, if
        // listed, required; a write in between makes the patch stale (412), as if it had come
        // first. A session the caller may not read is answered as the patch would be.
        Some(several) => {
            let id = req.session_id.as_deref().unwrap_or_default();
            let current = found(run_as(state, principal, Statement::Get { id }).await?, id)?;
            let version = current.version()?;
            Some(if several.contains(&version) {
                version
            } else {
                -1
            })
        }
    };
    let patch = Patch {
        id: req.session_id.clone().unwrap_or_default(),
        req,
        now: now_iso8601(),
        expect,
        cred: principal.credential.clone(),
    };
    let (mut patch, outcome) = patch_as(state, patch).await?;
    let outcome = match outcome {
        // As [`run_as`]: a cached credential the database refused is verified afresh once.
        Outcome::Unauthenticated => match principal.reverify(state).await? {
            Some(fresh) => {
                patch.cred = fresh.credential.clone();
                let (again, outcome) = patch_as(state, patch).await?;
                patch = again;
                outcome
            }
            None => outcome,
        },
        outcome => outcome,
    };
    found(outcome, &patch.id)
}

/// Runs `patch` as its credential: through the batcher when there is one, alone when the
/// batcher says so (a row another transaction holds, a batch that failed) or there is none.
async fn patch_as(state: &AppState, patch: Patch) -> Result<(Patch, Outcome)> {
    let Some(batcher) = &state.batcher else {
        let outcome = alone(state, &patch).await?;
        return Ok((patch, outcome));
    };
    let (patch, answer) = batcher.patch(patch).await?;
    let outcome = match answer {
        Answer::Done(outcome) => outcome,
        Answer::Unchanged => {
            let statement = Statement::Unchanged {
                id: &patch.id,
                expect: patch.expect,
            };
            statement.run(state, &patch.cred).await?
        }
        Answer::Busy | Answer::Alone => alone(state, &patch).await?,
        Answer::Unavailable(e) => return Err(e.into()),
        Answer::QueueFull => {
            return Err(ApiError::service_unavailable(
                "Too many patches are waiting to be written; retry shortly",
            ));
        }
    };
    Ok((patch, outcome))
}

/// The single statement for one patch, on a lease of the request's own.
async fn alone(state: &AppState, patch: &Patch) -> Result<Outcome, sqlx::Error> {
    let statement = Statement::Patch {
        id: &patch.id,
        req: &patch.req,
        now: &patch.now,
        expect: patch.expect,
    };
    statement.run(state, &patch.cred).await
}

pub async fn get_session(
    state: &AppState,
    principal: &Principal,
    req: GetSession,
) -> Result<StoredSession> {
    let id = req.session_id.as_deref().unwrap_or_default();
    let outcome = run_as(state, principal, Statement::Get { id }).await?;
    found(outcome, id)
}

/// A session as stored, typed, with no access check: for operator tooling and tests.
pub async fn load(pool: &sqlx::PgPool, id: &str) -> Result<Option<SessionInfo>> {
    match sessions::load(pool, id).await? {
        Some(stored) => Ok(Some(crate::wire::from_stored(stored.value()?)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_iso8601_utc_with_milliseconds_and_z() {
        let now = super::now_iso8601();
        let parsed = chrono::DateTime::parse_from_rfc3339(&now).unwrap();
        assert_eq!(now.len(), "2026-12-02T03:10:26.726Z".len(), "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[19] == b'.', "{now}");
        assert_eq!(
            parsed
                .with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
            now
        );
    }
}
