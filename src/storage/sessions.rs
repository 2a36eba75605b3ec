//! SQL for call sessions: the PATCH hot path, GetSession, and the import upsert.
//!
//! Access control lives in the same statement as the read or update: the statement computes
//! whether the caller may act on the session's account, and a refused row never leaves the
//! database.

use super::auth::{Credential, CredentialKind};
use crate::dto::{
    FlowChannels, PatchSession, SessionCallState, SessionDialState, SessionDirections,
    SessionHoldReasons, SessionInfo, SessionQueueStates,
};
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use std::sync::LazyLock;

/// What a read or patch found.
#[derive(Debug)]
pub enum Outcome {
    /// The session, after the patch when one applied.
    Found(StoredSession),
    /// The session exists in an account the caller may not act in.
    Forbidden,
    NotFound,
    /// The credential is no longer valid (session ended, key revoked, password changed).
    Unauthenticated,
}

/// How a column is stored and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Nullable text; null members are omitted from JSON.
    Text,
    /// An enum's canonical name (never null).
    Enum,
    Bool,
    /// A list kept as `json` (not jsonb) so its text, key order included, comes back exactly.
    Json,
}
use Kind::{Bool, Enum, Json, Text};

/// Every SessionInfo field: its column, its JSON key, its kind — in the DTO's declaration
/// order, which is also the order of the columns in every SELECT list here.
const FIELDS: &[(&str, &str, Kind)] = &[
    ("id", "id", Text),
    ("date_created", "dateCreated", Text),
    ("date_last_modified", "dateLastModified", Text),
    ("created_by", "createdBy", Text),
    ("last_modified_by", "lastModifiedBy", Text),
    ("dial_state", "dialState", Enum),
    ("call_state", "callState", Enum),
    ("queue_state", "queueState", Enum),
    ("account_id", "accountId", Text),
    ("account_name", "accountName", Text),
    ("customer_id", "customerId", Text),
    ("customer_breadcrumb", "customerBreadcrumb", Json),
    ("customer_name", "customerName", Text),
    ("endpoint_id", "endpointId", Text),
    ("endpoint_name", "endpointName", Text),
    ("date_completed", "dateCompleted", Text),
    ("destination", "destination", Text),
    ("to_address", "toAddress", Text),
    ("from_address", "fromAddress", Text),
    ("from_name", "fromName", Text),
    ("answered_by_name", "answeredByName", Text),
    ("queue_member_id", "queueMemberId", Text),
    ("channel", "channel", Enum),
    ("ended", "ended", Bool),
    ("outcome", "outcome", Text),
    ("call_sid", "callSid", Text),
    ("console_data", "consoleData", Text),
    ("hold_queue_name", "holdQueueName", Text),
    ("held_by_user_id", "heldByUserId", Text),
    ("hold_reason", "holdReason", Enum),
    ("conference_sid", "conferenceSid", Text),
    ("display_name", "displayName", Text),
    ("log", "log", Json),
    ("members", "members", Json),
    ("callback_number", "callbackNumber", Text),
    ("answered_by_id", "answeredById", Text),
    ("direction", "direction", Enum),
    ("from_phone_number", "fromPhoneNumber", Text),
    (
        "most_recent_participant_call_sid",
        "mostRecentParticipantCallSid",
        Text,
    ),
    ("was_missed", "wasMissed", Bool),
    ("ring_queue_id", "ringQueueId", Text),
];

/// `alias.col, ...` with the json columns cast to text.
fn select_list(alias: &str) -> String {
    FIELDS
        .iter()
        .map(|(c, _, kind)| {
            if *kind == Json {
                format!("{alias}.{c}::text AS {c}")
            } else {
                format!("{alias}.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `target`: the session by id ($1) and whether the principal may act in its account.
const TARGET: &str = "SELECT s.id, EXISTS (SELECT 1 FROM principal p WHERE p.is_admin OR EXISTS ( \
        SELECT 1 FROM user_accounts ua WHERE ua.user_id = p.id AND ua.account_id = s.account_id)) AS allowed \
    FROM sessions s WHERE s.id = $1";

/// The result kind, decided in SQL so every statement returns exactly one row.
const KIND: &str = "CASE WHEN NOT EXISTS (SELECT 1 FROM principal) THEN 'unauthenticated' \
    WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'notfound' \
    WHEN (SELECT allowed FROM target) THEN 'found' ELSE 'forbidden' END";

/// One statement, one round trip: check the credential (`principal`), find the session and the
/// principal's right to it, update only when allowed and something actually changes, and
/// return the updated row. (When nothing changed, [`patch`] reads the row afresh.) Each SET reads the column's current value
/// (`COALESCE($n, s.col)`), and PostgreSQL re-reads the row after waiting on a concurrent
/// writer's lock, so patches of different fields never undo each other.
fn patch_sql(kind: CredentialKind) -> String {
    format!(
        "WITH principal AS ({principal}),
        target AS ({TARGET}),
        updated AS (
            UPDATE sessions s SET
                console_data = COALESCE($2, s.console_data),
                call_state = COALESCE($3, s.call_state),
                hold_reason = COALESCE($4, s.hold_reason),
                queue_state = COALESCE($5, s.queue_state),
                date_last_modified = $6,
                last_modified_by = p.id
            FROM target t, principal p
            WHERE s.id = t.id AND t.allowed
              AND (s.console_data IS DISTINCT FROM COALESCE($2, s.console_data)
                OR s.call_state IS DISTINCT FROM COALESCE($3, s.call_state)
                OR s.hold_reason IS DISTINCT FROM COALESCE($4, s.hold_reason)
                OR s.queue_state IS DISTINCT FROM COALESCE($5, s.queue_state))
            RETURNING s.*
        )
        SELECT k.result_kind, r.* FROM (
            SELECT CASE WHEN EXISTS (SELECT 1 FROM updated) THEN 'updated' ELSE {KIND} END AS result_kind
        ) k
        LEFT JOIN LATERAL (SELECT {updated} FROM updated u) r ON true",
        principal = kind.principal_sql(7),
        updated = select_list("u"),
    )
}

fn get_sql(kind: CredentialKind) -> String {
    format!(
        "WITH principal AS ({principal}),
        target AS ({TARGET})
        SELECT k.result_kind, r.* FROM (SELECT {KIND} AS result_kind) k
        LEFT JOIN LATERAL (
            SELECT {current} FROM target t JOIN sessions s ON s.id = t.id WHERE t.allowed
        ) r ON true",
        principal = kind.principal_sql(2),
        current = select_list("s"),
    )
}

/// The statements, built once per credential kind (sqlx then prepares each once per connection).
static PATCH_SQL: LazyLock<Vec<String>> =
    LazyLock::new(|| CredentialKind::ALL.iter().map(|k| patch_sql(*k)).collect());
static GET_SQL: LazyLock<Vec<String>> =
    LazyLock::new(|| CredentialKind::ALL.iter().map(|k| get_sql(*k)).collect());

/// Insert or replace a whole session by id.
static UPSERT_SQL: LazyLock<String> = LazyLock::new(|| {
    let all: Vec<(&str, Kind)> = FIELDS
        .iter()
        .map(|(c, _, k)| (*c, *k))
        .chain([("created_at", Text)])
        .collect();
    let values = all
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            if *kind == Json {
                format!("${}::json", i + 1)
            } else {
                format!("${}", i + 1)
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let all: Vec<&str> = all.into_iter().map(|(c, _)| c).collect();
    let updates = all
        .iter()
        .skip(1)
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO sessions ({}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET {updates}",
        all.join(", ")
    )
});

/// The PATCH statement for a kind of credential, as the server runs it (for benchmarks that
/// compare the server with PostgreSQL running the same statement).
pub fn patch_statement(kind: CredentialKind) -> &'static str {
    &PATCH_SQL[kind.index()]
}

/// Applies `patch` to session `id` as the holder of `cred`, stamping `now` when something changed.
pub async fn patch(
    conn: &mut PgConnection,
    cred: &Credential,
    id: &str,
    patch: &PatchSession,
    now: &str,
) -> Result<Outcome, sqlx::Error> {
    let q = sqlx::query(&PATCH_SQL[cred.kind().index()])
        .bind(id)
        .bind(patch.console_data.as_deref())
        .bind(patch.call_state.map(|v| v.as_str()))
        .bind(patch.hold_reason.map(|v| v.as_str()))
        .bind(patch.queue_state.map(|v| v.as_str()))
        .bind(now);
    let row = single_row(cred.bind(q).fetch_all(&mut *conn).await?)?;
    let kind: &str = row.try_get("result_kind")?;
    if kind == "found" {
        // Allowed, but nothing changed: nothing was written. Answer the row as it is now; a
        // new statement's snapshot also sees a concurrent writer that got there first, which
        // this statement's snapshot (taken before it waited on that writer's lock) does not.
        return get(conn, cred, id).await;
    }
    outcome(row)
}

static LOAD_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM sessions s WHERE s.id = $1",
        select_list("s")
    )
});

/// Reads a session with no access check: for operator tooling and tests, never for a request
/// handler (those go through [`get`], which checks the caller).
pub async fn load(pool: &PgPool, id: &str) -> Result<Option<SessionInfo>, sqlx::Error> {
    load_stored(pool, id)
        .await?
        .map(|s| s.to_info())
        .transpose()
}

/// [`load`], keeping the row (to write its JSON the way responses do).
pub async fn load_stored(pool: &PgPool, id: &str) -> Result<Option<StoredSession>, sqlx::Error> {
    let row = sqlx::query(&LOAD_SQL).bind(id).fetch_optional(pool).await?;
    Ok(row.map(|row| StoredSession { row, first: 0 }))
}

/// Reads session `id` as the holder of `cred`.
pub async fn get(
    conn: &mut PgConnection,
    cred: &Credential,
    id: &str,
) -> Result<Outcome, sqlx::Error> {
    let row = cred
        .bind(sqlx::query(&GET_SQL[cred.kind().index()]).bind(id))
        .fetch_all(conn)
        .await?;
    let row = single_row(row)?;
    outcome(row)
}

/// The one row these statements always return. They are run with `fetch_all` rather than
/// `fetch_one`: sqlx stops reading after `fetch_one`'s row and must then send another Sync and
/// wait for its answer before the connection can be reused — a second round trip per request.
fn single_row(rows: Vec<PgRow>) -> Result<PgRow, sqlx::Error> {
    rows.into_iter().next().ok_or(sqlx::Error::RowNotFound)
}

fn outcome(row: PgRow) -> Result<Outcome, sqlx::Error> {
    // Named apart from SessionInfo's own `outcome` column.
    let kind: &str = row.try_get("result_kind")?;
    Ok(match kind {
        "unauthenticated" => Outcome::Unauthenticated,
        "notfound" => Outcome::NotFound,
        "forbidden" => Outcome::Forbidden,
        _ => Outcome::Found(StoredSession { row, first: 1 }),
    })
}

/// Inserts or replaces `s` (which must have an id and an account id) inside `tx`.
pub async fn upsert(tx: &mut PgConnection, s: &SessionInfo) -> Result<(), sqlx::Error> {
    let created_at = s
        .date_created
        .as_deref()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.with_timezone(&chrono::Utc));
    sqlx::query(&UPSERT_SQL)
        .bind(&s.id)
        .bind(&s.date_created)
        .bind(&s.date_last_modified)
        .bind(&s.created_by)
        .bind(&s.last_modified_by)
        .bind(s.dial_state.as_str())
        .bind(s.call_state.as_str())
        .bind(s.queue_state.as_str())
        .bind(&s.account_id)
        .bind(&s.account_name)
        .bind(&s.customer_id)
        .bind(json_text(&s.customer_breadcrumb)?)
        .bind(&s.customer_name)
        .bind(&s.endpoint_id)
        .bind(&s.endpoint_name)
        .bind(&s.date_completed)
        .bind(&s.destination)
        .bind(&s.to_address)
        .bind(&s.from_address)
        .bind(&s.from_name)
        .bind(&s.answered_by_name)
        .bind(&s.queue_member_id)
        .bind(s.channel.as_str())
        .bind(s.ended)
        .bind(&s.outcome)
        .bind(&s.call_sid)
        .bind(&s.console_data)
        .bind(&s.hold_queue_name)
        .bind(&s.held_by_user_id)
        .bind(s.hold_reason.as_str())
        .bind(&s.conference_sid)
        .bind(&s.display_name)
        .bind(json_text(&s.log)?)
        .bind(json_text(&s.members)?)
        .bind(&s.callback_number)
        .bind(&s.answered_by_id)
        .bind(s.direction.as_str())
        .bind(&s.from_phone_number)
        .bind(&s.most_recent_participant_call_sid)
        .bind(s.was_missed)
        .bind(&s.ring_queue_id)
        .bind(created_at)
        .execute(tx)
        .await?;
    Ok(())
}

fn json_text<T: Serialize>(v: &Option<T>) -> Result<Option<String>, sqlx::Error> {
    v.as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// A session as PostgreSQL returned it: JSON responses are written straight from the row's
/// bytes (no intermediate strings, the stored list JSON spliced in verbatim), while
/// [`StoredSession::to_info`] builds the typed SessionInfo where one is needed (XML).
#[derive(Debug)]
pub struct StoredSession {
    row: PgRow,
    /// Index of the first FIELDS column in the row (the statement's result kind comes first).
    first: usize,
}

impl StoredSession {
    pub fn to_info(&self) -> Result<SessionInfo, sqlx::Error> {
        decode(&self.row)
    }
}

impl StoredSession {
    /// ServiceStack's JSON for SessionInfo (camelCase keys in declaration order, nulls
    /// omitted), written straight from the row: keys are constants, strings are escaped from
    /// the row's bytes, and the list columns — JSON this server wrote, kept verbatim by the
    /// `json` type — are copied as they are.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), sqlx::Error> {
        let row = &self.row;
        out.push(b'{');
        let mut first = true;
        for (i, (_, key, kind)) in FIELDS.iter().enumerate() {
            let col = self.first + i;
            let value: Option<&str> = match kind {
                Text | Json => row.try_get(col)?,
                Enum => Some(row.try_get(col)?),
                Bool => Some(if row.try_get::<bool, _>(col)? {
                    "true"
                } else {
                    "false"
                }),
            };
            let Some(value) = value else { continue };
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            match kind {
                // Enum names are plain ASCII words: no escaping needed.
                Enum => {
                    out.push(b'"');
                    out.extend_from_slice(value.as_bytes());
                    out.push(b'"');
                }
                Bool | Json => out.extend_from_slice(value.as_bytes()),
                Text => serde_json::to_writer(&mut *out, value)
                    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
            }
        }
        out.push(b'}');
        Ok(())
    }
}

/// Builds a SessionInfo from a row selected with [`select_list`].
fn decode(row: &PgRow) -> Result<SessionInfo, sqlx::Error> {
    fn text(row: &PgRow, col: &str) -> Result<Option<String>, sqlx::Error> {
        row.try_get(col)
    }
    fn json<T: serde::de::DeserializeOwned>(
        row: &PgRow,
        col: &str,
    ) -> Result<Option<T>, sqlx::Error> {
        text(row, col)?
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| sqlx::Error::ColumnDecode {
                index: col.to_string(),
                source: Box::new(e),
            })
    }
    fn enumeration<T>(
        row: &PgRow,
        col: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<T, sqlx::Error> {
        let name: &str = row.try_get(col)?;
        parse(name).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: col.to_string(),
            source: format!("unknown value {name:?}").into(),
        })
    }
    Ok(SessionInfo {
        id: text(row, "id")?,
        date_created: text(row, "date_created")?,
        date_last_modified: text(row, "date_last_modified")?,
        created_by: text(row, "created_by")?,
        last_modified_by: text(row, "last_modified_by")?,
        dial_state: enumeration(row, "dial_state", SessionDialState::parse)?,
        call_state: enumeration(row, "call_state", SessionCallState::parse)?,
        queue_state: enumeration(row, "queue_state", SessionQueueStates::parse)?,
        account_id: text(row, "account_id")?,
        account_name: text(row, "account_name")?,
        customer_id: text(row, "customer_id")?,
        customer_breadcrumb: json(row, "customer_breadcrumb")?,
        customer_name: text(row, "customer_name")?,
        endpoint_id: text(row, "endpoint_id")?,
        endpoint_name: text(row, "endpoint_name")?,
        date_completed: text(row, "date_completed")?,
        destination: text(row, "destination")?,
        to_address: text(row, "to_address")?,
        from_address: text(row, "from_address")?,
        from_name: text(row, "from_name")?,
        answered_by_name: text(row, "answered_by_name")?,
        queue_member_id: text(row, "queue_member_id")?,
        channel: enumeration(row, "channel", FlowChannels::parse)?,
        ended: row.try_get("ended")?,
        outcome: text(row, "outcome")?,
        call_sid: text(row, "call_sid")?,
        console_data: text(row, "console_data")?,
        hold_queue_name: text(row, "hold_queue_name")?,
        held_by_user_id: text(row, "held_by_user_id")?,
        hold_reason: enumeration(row, "hold_reason", SessionHoldReasons::parse)?,
        conference_sid: text(row, "conference_sid")?,
        display_name: text(row, "display_name")?,
        log: json(row, "log")?,
        members: json(row, "members")?,
        callback_number: text(row, "callback_number")?,
        answered_by_id: text(row, "answered_by_id")?,
        direction: enumeration(row, "direction", SessionDirections::parse)?,
        from_phone_number: text(row, "from_phone_number")?,
        most_recent_participant_call_sid: text(row, "most_recent_participant_call_sid")?,
        was_missed: row.try_get("was_missed")?,
        ring_queue_id: text(row, "ring_queue_id")?,
    })
}

/// Whether a session with this id exists (whoever owns it).
pub async fn exists(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
}
