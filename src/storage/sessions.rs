//! SQL for call sessions: the PATCH hot path, GetSession, and the import upsert.
//!
//! Access control lives in the same statement as the read or update: the statement computes
//! whether the caller may act on the session's account, and a refused row never leaves the
//! database.

use crate::dto::{
    FlowChannels, PatchSession, SessionCallState, SessionDialState, SessionDirections,
    SessionHoldReasons, SessionInfo, SessionQueueStates,
};
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use std::sync::LazyLock;

/// The caller, as far as storage needs to know it.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub user_id: &'a str,
    /// SystemAdministrator: acts in every account.
    pub is_admin: bool,
}

/// What a read or patch found.
#[derive(Debug)]
pub enum Outcome {
    /// The session, after the patch when one applied.
    Found(Box<SessionInfo>),
    /// The session exists in an account the caller may not act in.
    Forbidden,
    NotFound,
}

/// Every column of `sessions` that maps to a SessionInfo field, in DTO order; the json columns
/// are read as text so they decode with serde (the `json` type keeps their exact text).
const COLUMNS: &[&str] = &[
    "id",
    "date_created",
    "date_last_modified",
    "created_by",
    "last_modified_by",
    "dial_state",
    "call_state",
    "queue_state",
    "account_id",
    "account_name",
    "customer_id",
    "customer_breadcrumb",
    "customer_name",
    "endpoint_id",
    "endpoint_name",
    "date_completed",
    "destination",
    "to_address",
    "from_address",
    "from_name",
    "answered_by_name",
    "queue_member_id",
    "channel",
    "ended",
    "outcome",
    "call_sid",
    "console_data",
    "hold_queue_name",
    "held_by_user_id",
    "hold_reason",
    "conference_sid",
    "display_name",
    "log",
    "members",
    "callback_number",
    "answered_by_id",
    "direction",
    "from_phone_number",
    "most_recent_participant_call_sid",
    "was_missed",
    "ring_queue_id",
];

const JSON_COLUMNS: &[&str] = &["customer_breadcrumb", "log", "members"];

/// `alias.col, ...` with the json columns cast to text.
fn select_list(alias: &str) -> String {
    COLUMNS
        .iter()
        .map(|c| {
            if JSON_COLUMNS.contains(c) {
                format!("{alias}.{c}::text AS {c}")
            } else {
                format!("{alias}.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the caller ($2 is_admin, $3 user id) may act in the account of `s`.
const ALLOWED: &str = "($2 OR EXISTS (SELECT 1 FROM user_accounts ua \
                        WHERE ua.user_id = $3 AND ua.account_id = s.account_id))";

/// One statement, one round trip: find the session and the caller's right to it, update only
/// when the caller may and something actually changes, and return the row as it now is.
/// Each SET reads the column's current value (`COALESCE($n, s.col)`), and PostgreSQL re-reads
/// the row after waiting on a concurrent writer's lock, so patches of different fields never
/// undo each other.
static PATCH_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH target AS (
            SELECT s.id, {ALLOWED} AS allowed FROM sessions s WHERE s.id = $1
        ), updated AS (
            UPDATE sessions s SET
                console_data = COALESCE($4, s.console_data),
                call_state = COALESCE($5, s.call_state),
                hold_reason = COALESCE($6, s.hold_reason),
                queue_state = COALESCE($7, s.queue_state),
                date_last_modified = $8,
                last_modified_by = $3
            FROM target t
            WHERE s.id = t.id AND t.allowed
              AND (s.console_data IS DISTINCT FROM COALESCE($4, s.console_data)
                OR s.call_state IS DISTINCT FROM COALESCE($5, s.call_state)
                OR s.hold_reason IS DISTINCT FROM COALESCE($6, s.hold_reason)
                OR s.queue_state IS DISTINCT FROM COALESCE($7, s.queue_state))
            RETURNING s.*
        )
        SELECT 'updated' AS result_kind, {updated} FROM updated u
        UNION ALL
        SELECT CASE WHEN t.allowed THEN 'unchanged' ELSE 'forbidden' END, {current}
        FROM target t LEFT JOIN sessions s ON s.id = t.id AND t.allowed
        WHERE NOT EXISTS (SELECT 1 FROM updated)",
        updated = select_list("u"),
        current = select_list("s"),
    )
});

static GET_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH target AS (
            SELECT s.id, {ALLOWED} AS allowed FROM sessions s WHERE s.id = $1
        )
        SELECT CASE WHEN t.allowed THEN 'found' ELSE 'forbidden' END AS result_kind, {current}
        FROM target t LEFT JOIN sessions s ON s.id = t.id AND t.allowed",
        current = select_list("s"),
    )
});

/// Insert or replace a whole session by id.
static UPSERT_SQL: LazyLock<String> = LazyLock::new(|| {
    let all: Vec<&str> = COLUMNS.iter().copied().chain(["created_at"]).collect();
    let values = all
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if JSON_COLUMNS.contains(c) {
                format!("${}::json", i + 1)
            } else {
                format!("${}", i + 1)
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
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

/// Applies `patch` to session `id` as `caller`, stamping `now` when something changed.
pub async fn patch(
    pool: &PgPool,
    caller: Caller<'_>,
    id: &str,
    patch: &PatchSession,
    now: &str,
) -> Result<Outcome, sqlx::Error> {
    let row = sqlx::query(&PATCH_SQL)
        .bind(id)
        .bind(caller.is_admin)
        .bind(caller.user_id)
        .bind(patch.console_data.as_deref())
        .bind(patch.call_state.map(|v| v.as_str()))
        .bind(patch.hold_reason.map(|v| v.as_str()))
        .bind(patch.queue_state.map(|v| v.as_str()))
        .bind(now)
        .fetch_optional(pool)
        .await?;
    outcome(row)
}

/// Reads session `id` as `caller`.
pub async fn get(pool: &PgPool, caller: Caller<'_>, id: &str) -> Result<Outcome, sqlx::Error> {
    let row = sqlx::query(&GET_SQL)
        .bind(id)
        .bind(caller.is_admin)
        .bind(caller.user_id)
        .fetch_optional(pool)
        .await?;
    outcome(row)
}

fn outcome(row: Option<PgRow>) -> Result<Outcome, sqlx::Error> {
    let Some(row) = row else {
        return Ok(Outcome::NotFound);
    };
    // Named apart from SessionInfo's own `outcome` column.
    let kind: &str = row.try_get("result_kind")?;
    if kind == "forbidden" {
        return Ok(Outcome::Forbidden);
    }
    Ok(Outcome::Found(Box::new(decode(&row)?)))
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
