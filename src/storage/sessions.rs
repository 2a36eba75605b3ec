//! SQL for call sessions: the PATCH hot path, GetSession, and the import upsert. Columns, SET
//! clauses and row reading all come from the contract (SessionInfo is stored one column per
//! member); rows are handed out as [`Value`]s, never as a wire format.
//!
//! Access control lives in the same statement as the read or update: the statement computes
//! whether the caller may act on the session's account, and a refused row never leaves the
//! database.

use super::auth::{Credential, CredentialKind};
use crate::contract::sessions::{PatchSession, SessionInfo};
use crate::contract::{Dto, Slot, TypeDef, Value, WireType};
use sqlx::postgres::PgRow;
use sqlx::{Column, PgConnection, PgPool, Row};
use std::borrow::Cow;
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
    /// If-Match named another version than the stored one: nothing was written.
    Stale,
}

/// The stored type: one column per member, named as the contract's field.
pub(super) const STORED: &TypeDef = SessionInfo::TYPE;

/// How a column is read: scalars as themselves, composites (lists) as their JSON text. They
/// are kept as `json` (not jsonb) so the text, key order included, comes back exactly.
pub(super) fn is_composite(ty: &WireType) -> bool {
    !ty.is_scalar()
}

/// A member's column: stored types keep one per member, named as its field.
fn column(slot: &Slot) -> &'static str {
    slot.member.field
}

/// `alias.col, ...` in contract order, then the version (storage's own column, not a member:
/// it becomes the ETag). The json columns come as they are: their binary form is their text,
/// which [`text_column`] reads as such. (A `::text` cast made PostgreSQL convert each through
/// its output and input functions; dropping it changed nothing measurable, 121 µs of batch
/// backend CPU a patch at c = 8 either way, and is kept as the simpler statement.)
pub(super) fn select_list(alias: &str) -> String {
    let mut columns: Vec<String> = STORED
        .slots()
        .iter()
        .map(|slot| format!("{alias}.{}", column(slot)))
        .collect();
    columns.push(format!("{alias}.version"));
    columns.join(", ")
}

/// The stored column each `patch` member of PatchSession sets (the SessionInfo member with
/// the same field), in PatchSession's order.
fn patch_columns() -> Vec<(usize, &'static str)> {
    PatchSession::TYPE
        .slots()
        .iter()
        .filter(|slot| slot.member.rules.patch)
        .map(|slot| {
            let stored = STORED
                .slot_by_field(slot.member.field)
                .expect("every patch member names a stored member");
            (slot.index, column(&stored))
        })
        .collect()
}

/// Whether the principal in row `p` (its user id in column `user`, and `is_admin`) may act in
/// the account of session `s`: the one statement of that rule, for every PATCH and GET
/// statement.
pub(super) fn allowed(p: &str, user: &str) -> String {
    format!(
        "({p}.is_admin OR EXISTS (SELECT 1 FROM user_accounts ua \
         WHERE ua.user_id = {p}.{user} AND ua.account_id = s.account_id))"
    )
}

/// `target`: the session by id ($1) and whether the principal may act in its account.
static TARGET: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT s.id, EXISTS (SELECT 1 FROM principal p WHERE {}) AS allowed \
         FROM sessions s WHERE s.id = $1",
        allowed("p", "id")
    )
});

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
    // $1 the id, then one parameter per patch member, then the time, then the credential.
    let (sets, changes) = patch_clauses(|i| format!("${}", i + 2));
    let now = PATCH_COLUMNS.len() + 2;
    // If-Match's version comes after the credential's parameters (NULL: no condition).
    let expect = now + 1 + kind.parameter_count();
    format!(
        "WITH principal AS ({principal}),
        target AS ({target}),
        updated AS (
            UPDATE sessions s SET {sets},
                date_last_modified = ${now},
                last_modified_by = p.id,
                version = s.version + 1
            FROM target t, principal p
            WHERE s.id = t.id AND t.allowed AND ({changes})
              AND (${expect}::bigint IS NULL OR s.version = ${expect}::bigint)
            RETURNING s.*
        )
        SELECT k.result_kind, r.* FROM (
            SELECT CASE WHEN EXISTS (SELECT 1 FROM updated) THEN 'updated' ELSE {KIND} END AS result_kind
        ) k
        LEFT JOIN LATERAL (SELECT {updated} FROM updated u) r ON true",
        principal = kind.principal_sql(now + 1),
        target = *TARGET,
        updated = select_list("u"),
    )
}

/// The common case alone, as cheaply as PostgreSQL can run it: the update of an allowed
/// session that changes something, with the credential and the account checked in its WHERE
/// clause, no CTE. It returns no row for everything else (refused, missing, unchanged, stale),
/// and then [`patch_sql`], which tells those apart, runs instead: it decides afresh, so what the
/// first statement saw does not matter. Same parameters as [`patch_sql`].
///
/// Measured with pgbench (c = 1, the bench's table, 6 s runs, two rounds): the plain statement
/// 3,350-3,600 tps, this one 3,040-3,070, [`patch_sql`] 2,340-2,500: the CTEs, the second
/// lookup of the session and the final join cost PostgreSQL about 90 µs a patch.
fn patch_fast_sql(kind: CredentialKind) -> String {
    let (sets, changes) = patch_clauses(|i| format!("${}", i + 2));
    let now = PATCH_COLUMNS.len() + 2;
    let expect = now + 1 + kind.parameter_count();
    format!(
        "UPDATE sessions s SET {sets},
            date_last_modified = ${now},
            last_modified_by = p.id,
            version = s.version + 1
        FROM ({principal}) p
        WHERE s.id = $1 AND {allowed} AND ({changes})
          AND (${expect}::bigint IS NULL OR s.version = ${expect}::bigint)
        RETURNING 'updated' AS result_kind, {updated}",
        principal = kind.principal_sql(now + 1),
        allowed = allowed("p", "id"),
        updated = select_list("s"),
    )
}

/// A patch's SET clauses (`col = COALESCE(new, s.col)`) and its "changes something" test
/// (`… IS DISTINCT FROM …` of each, OR-ed), the new value of the i-th patch column given by
/// `value(i)`: a parameter of the single statement, or a batch item's column.
pub(super) fn patch_clauses(value: impl Fn(usize) -> String) -> (String, String) {
    let new = |i: usize, c: &str| format!("COALESCE({}, s.{c})", value(i));
    let columns = &*PATCH_COLUMNS;
    let sets = columns
        .iter()
        .enumerate()
        .map(|(i, (_, c))| format!("{c} = {}", new(i, c)))
        .collect::<Vec<_>>()
        .join(", ");
    let changes = columns
        .iter()
        .enumerate()
        .map(|(i, (_, c))| format!("s.{c} IS DISTINCT FROM {}", new(i, c)))
        .collect::<Vec<_>>()
        .join(" OR ");
    (sets, changes)
}

fn get_sql(kind: CredentialKind) -> String {
    format!(
        "WITH principal AS ({principal}),
        target AS ({target})
        SELECT k.result_kind, r.* FROM (SELECT {KIND} AS result_kind) k
        LEFT JOIN LATERAL (
            SELECT {current} FROM target t JOIN sessions s ON s.id = t.id WHERE t.allowed
        ) r ON true",
        principal = kind.principal_sql(2),
        target = *TARGET,
        current = select_list("s"),
    )
}

/// The statements, built once per credential kind (sqlx then prepares each once per connection).
static PATCH_SQL: LazyLock<Vec<String>> =
    LazyLock::new(|| CredentialKind::ALL.iter().map(|k| patch_sql(*k)).collect());
static PATCH_FAST_SQL: LazyLock<Vec<String>> = LazyLock::new(|| {
    CredentialKind::ALL
        .iter()
        .map(|k| patch_fast_sql(*k))
        .collect()
});
static GET_SQL: LazyLock<Vec<String>> =
    LazyLock::new(|| CredentialKind::ALL.iter().map(|k| get_sql(*k)).collect());

/// Insert or replace a whole session by id (the first column), with `created_at` last.
static UPSERT_SQL: LazyLock<String> = LazyLock::new(|| {
    let slots = STORED.slots();
    let mut columns: Vec<&str> = slots.iter().map(column).collect();
    let mut values: Vec<String> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| {
            if is_composite(&slot.member.ty) {
                format!("${}::json", i + 1)
            } else {
                format!("${}", i + 1)
            }
        })
        .collect();
    columns.push("created_at");
    values.push(format!("${}", slots.len() + 1));
    let updates = columns
        .iter()
        .skip(1)
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO sessions ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {updates}, \
         version = sessions.version + 1",
        columns.join(", "),
        values.join(", ")
    )
});

/// The PATCH statement for a kind of credential that the server runs for a patch that applies
/// (for benchmarks that compare the server with PostgreSQL running the same statement).
pub fn patch_statement(kind: CredentialKind) -> &'static str {
    &PATCH_FAST_SQL[kind.index()]
}

/// Applies `patch` to session `id` as the holder of `cred`, stamping `now` when something changed.
pub async fn patch(
    conn: &mut PgConnection,
    cred: &Credential,
    id: &str,
    patch: &PatchSession,
    now: &str,
    expect: Option<i64>,
) -> Result<Outcome, sqlx::Error> {
    match patch_once(conn, cred, id, patch, now, expect).await? {
        Some(outcome) => Ok(outcome),
        None => unchanged(conn, cred, id, expect).await,
    }
}

/// The patch statements alone: `None` when the patch was allowed but wrote nothing (see
/// [`unchanged`] for the answer). The cheap statement first, then, when it wrote nothing, the
/// one that tells why ([`patch_fast_sql`]).
pub async fn patch_once(
    conn: &mut PgConnection,
    cred: &Credential,
    id: &str,
    patch: &PatchSession,
    now: &str,
    expect: Option<i64>,
) -> Result<Option<Outcome>, sqlx::Error> {
    let rows = run_patch(conn, &PATCH_FAST_SQL, cred, id, patch, now, expect).await?;
    if let Some(row) = rows.into_iter().next() {
        return outcome(row).map(Some);
    }
    let rows = run_patch(conn, &PATCH_SQL, cred, id, patch, now, expect).await?;
    let row = single_row(rows)?;
    let kind: &str = row.try_get("result_kind")?;
    if kind == "found" {
        return Ok(None);
    }
    outcome(row).map(Some)
}

/// Runs the credential's statement of `statements` (both number their parameters alike).
async fn run_patch(
    conn: &mut PgConnection,
    statements: &[String],
    cred: &Credential,
    id: &str,
    patch: &PatchSession,
    now: &str,
    expect: Option<i64>,
) -> Result<Vec<PgRow>, sqlx::Error> {
    let values = patch.values();
    let mut q = sqlx::query(&statements[cred.kind().index()]).bind(id);
    for (index, _) in PATCH_COLUMNS.iter() {
        q = q.bind(values[*index].as_text());
    }
    cred.bind(q.bind(now))
        .bind(expect)
        .fetch_all(&mut *conn)
        .await
}

/// The answer to a patch that was allowed but wrote nothing: nothing changed, or If-Match
/// named another version. Reads the row as it is now; a new statement's snapshot also sees a
/// concurrent writer that got there first, which the patch's snapshot (taken before it waited
/// on that writer's lock) does not — so a lost If-Match race is told apart here.
pub async fn unchanged(
    conn: &mut PgConnection,
    cred: &Credential,
    id: &str,
    expect: Option<i64>,
) -> Result<Outcome, sqlx::Error> {
    match get(conn, cred, id).await? {
        Outcome::Found(s) if expect.is_some() && expect != Some(s.version()?) => Ok(Outcome::Stale),
        other => Ok(other),
    }
}

pub(super) static PATCH_COLUMNS: LazyLock<Vec<(usize, &'static str)>> =
    LazyLock::new(patch_columns);

static LOAD_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM sessions s WHERE s.id = $1",
        select_list("s")
    )
});

/// Reads a session with no access check: for operator tooling and tests, never for a request
/// handler (those go through [`get`], which checks the caller).
pub async fn load(pool: &PgPool, id: &str) -> Result<Option<StoredSession>, sqlx::Error> {
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

pub(super) fn outcome(row: PgRow) -> Result<Outcome, sqlx::Error> {
    // Named apart from SessionInfo's own `outcome` column.
    let kind: &str = row.try_get("result_kind")?;
    Ok(match kind {
        "unauthenticated" => Outcome::Unauthenticated,
        "notfound" => Outcome::NotFound,
        "forbidden" => Outcome::Forbidden,
        _ => Outcome::Found(StoredSession { row, first: 1 }),
    })
}

/// Inserts or replaces a session inside `tx`: `session` is a [`Value::Object`] of SessionInfo
/// whose composite members are [`Value::Json`] (as they are stored), and which has an id and an
/// account id. `created_at` is its creation time as a timestamp, where it has one.
pub async fn upsert(
    tx: &mut PgConnection,
    session: &Value<'_>,
    created_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), sqlx::Error> {
    let Value::Object(values) = session else {
        return Err(sqlx::Error::Encode("a session must be an object".into()));
    };
    let mut q = sqlx::query(&UPSERT_SQL);
    for (slot, value) in STORED.slots().iter().zip(values) {
        q = match (&slot.member.ty, value) {
            (WireType::Bool, Value::Bool(b)) => q.bind(*b),
            (_, Value::Text(t) | Value::Json(t)) => q.bind(t.as_ref()),
            (_, Value::Null) => q.bind(None::<&str>),
            _ => {
                return Err(sqlx::Error::Encode(
                    format!("'{}' is not in its stored form", slot.member.name).into(),
                ));
            }
        };
    }
    q.bind(created_at).execute(tx).await?;
    Ok(())
}

/// A session as PostgreSQL returned it, read as a [`Value`] borrowing the row's bytes: no
/// intermediate strings, the stored list JSON as it is.
#[derive(Debug)]
pub struct StoredSession {
    row: PgRow,
    /// Index of the first column of the session in the row (the statement's result kind
    /// comes first).
    first: usize,
}

impl StoredSession {
    /// The stored version, which every write bumps (the ETag).
    pub fn version(&self) -> Result<i64, sqlx::Error> {
        self.row.try_get("version")
    }

    /// The session as a [`Value::Object`] of SessionInfo; composites are [`Value::Json`].
    pub fn value(&self) -> Result<Value<'_>, sqlx::Error> {
        let row = &self.row;
        let mut values = Vec::with_capacity(STORED.len());
        STORED.try_for_each_slot(&mut |slot| {
            let col = self.first + slot.index;
            values.push(match &slot.member.ty {
                WireType::Bool => Value::Bool(row.try_get(col)?),
                WireType::Enum(_) => Value::Text(Cow::Borrowed(text_column::<&str>(row, col)?)),
                ty => text_value(
                    ty,
                    text_column::<Option<&str>>(row, col)?.map(Cow::Borrowed),
                ),
            });
            Ok::<(), sqlx::Error>(())
        })?;
        Ok(Value::Object(values))
    }
}

/// A session as the feed's log keeps it: `row_to_json` of the row as committed (keys are the
/// columns; a `json` column is embedded as its text, verbatim). The log is read as this text
/// and turned into the same [`Value`] a [`StoredSession`] gives, here rather than by
/// PostgreSQL: `json_populate_record` of every event read cost the database more than the
/// whole PATCH that logged it (wrk, c = 32, one subscriber streaming every account).
#[derive(Debug)]
pub struct LoggedSession {
    json: String,
}

impl LoggedSession {
    pub(super) fn new(json: String) -> Self {
        LoggedSession { json }
    }

    /// The session as a [`Value::Object`] of SessionInfo, as [`StoredSession::value`]; a column
    /// the row image lacks (logged before a migration added it) reads as null.
    pub fn value(&self) -> Result<Value<'_>, String> {
        let row: std::collections::HashMap<&str, &serde_json::value::RawValue> =
            serde_json::from_str(&self.json).map_err(|e| format!("a logged session: {e}"))?;
        let mut values = Vec::with_capacity(STORED.len());
        STORED.try_for_each_slot(&mut |slot| {
            let col = column(&slot);
            let raw = row.get(col).map(|r| r.get()).unwrap_or("null");
            let bad = |e: serde_json::Error| format!("logged column {col}: {e}");
            let text = |raw| serde_json::from_str::<Cow<'_, str>>(raw).map_err(bad);
            values.push(match &slot.member.ty {
                WireType::Bool => Value::Bool(serde_json::from_str(raw).map_err(bad)?),
                WireType::Enum(_) => Value::Text(text(raw)?),
                // A json column is embedded as its text: it is the stored list itself.
                ty if is_composite(ty) => text_value(ty, (raw != "null").then_some(raw.into())),
                ty => text_value(ty, (raw != "null").then(|| text(raw)).transpose()?),
            });
            Ok::<(), String>(())
        })?;
        Ok(Value::Object(values))
    }
}

/// A member stored as text (every one but the booleans and enums): null, a composite's JSON,
/// or text.
fn text_value<'a>(ty: &WireType, text: Option<Cow<'a, str>>) -> Value<'a> {
    match text {
        None => Value::Null,
        Some(t) if is_composite(ty) => Value::Json(t),
        Some(t) => Value::Text(t),
    }
}

/// The OID of `text` (what `&str` reads without conversion).
static TEXT_OID: LazyLock<Option<sqlx::postgres::types::Oid>> =
    LazyLock::new(|| <&str as sqlx::Type<sqlx::Postgres>>::type_info().oid());

/// The OID of `json` (PostgreSQL's catalogue fixes it). Its binary form, which sqlx asks for,
/// is the document's text, as `text`'s is: `json_send` and `textsend` write the same bytes.
const JSON_OID: sqlx::postgres::types::Oid = sqlx::postgres::types::Oid(114);

/// Reads text column `col` of `row`. sqlx's checked `try_get` builds its list of compatible
/// types (one of them by name) on every call, which was a third of reading a session row
/// (callgrind, GET: 6.6 K of 20 K instructions). A `text` or `json` column, as every one read
/// here is, is recognised by one OID comparison and read unchecked as UTF-8 text; a column of
/// any other type takes the checked read and fails as it always did.
fn text_column<'r, T>(row: &'r PgRow, col: usize) -> Result<T, sqlx::Error>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    let is_text = row
        .columns()
        .get(col)
        .and_then(|c| c.type_info().oid())
        .is_some_and(|oid| Some(oid) == *TEXT_OID || oid == JSON_OID);
    if is_text {
        row.try_get_unchecked(col)
    } else {
        row.try_get(col)
    }
}

/// Whether a session with this id exists (whoever owns it).
pub async fn exists(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// What ListSessions asks of storage, already checked: every filter is optional; `accounts`
/// `None` means every account (a SystemAdministrator's list).
#[derive(Debug, Default)]
pub struct ListQuery<'a> {
    pub accounts: Option<&'a [String]>,
    pub customers: Option<&'a [String]>,
    pub endpoints: Option<&'a [String]>,
    pub ids: Option<&'a [String]>,
    /// Created at or after.
    pub created_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Created before.
    pub created_before: Option<chrono::DateTime<chrono::Utc>>,
    /// Case-insensitive "contains" on the from and to addresses and the log messages.
    pub from_contains: Option<&'a str>,
    pub to_contains: Option<&'a str>,
    pub log_contains: Option<&'a str>,
    /// The field of the SessionInfo member to sort by (`None`: the creation time), and
    /// whether descending.
    pub sort: (Option<&'static str>, bool),
    pub limit: i64,
    pub offset: i64,
    /// Also count every matching row (the page's `totalCount`).
    pub count_total: bool,
}

/// One page of sessions, and the number of all matching ones when asked.
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<StoredSession>,
    pub total: Option<i64>,
}

/// The text of a session's log messages, as the trigram index of migration 0006 holds it:
/// the log filter must spell exactly this for PostgreSQL to use that index.
pub const LOG_TEXT: &str = "session_log_text(s.log)";

/// `%text%` for ILIKE, with the pattern characters of `text` escaped.
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Lists sessions. The statement holds only the filters asked for (each with its own
/// parameter), so PostgreSQL plans each shape with its indexes; the sort column comes from the
/// contract, never from the request's text; the id breaks ties so pages are stable.
pub async fn list(pool: &PgPool, q: &ListQuery<'_>) -> Result<Page, sqlx::Error> {
    let mut filters: Vec<String> = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let lists = [
        ("account_id", q.accounts),
        ("customer_id", q.customers),
        ("endpoint_id", q.endpoints),
        ("id", q.ids),
    ];
    // One value is compared with `=`: PostgreSQL reads a page in order off an index on
    // (account_id, created_at, id) for `account_id = $1`, never for `= ANY($1)` (scripts/scale
    // measures one account's first page that way).
    for (column, values) in &lists {
        match values {
            Some([_]) => filters.push(format!("s.{column} = ${}", next())),
            Some(_) => filters.push(format!("s.{column} = ANY(${})", next())),
            None => {}
        }
    }
    if q.created_from.is_some() {
        filters.push(format!("s.created_at >= ${}", next()));
    }
    if q.created_before.is_some() {
        filters.push(format!("s.created_at < ${}", next()));
    }
    let texts = [
        ("s.from_address", q.from_contains),
        ("s.to_address", q.to_contains),
    ];
    for (column, text) in &texts {
        if text.is_some() {
            filters.push(format!("{column} ILIKE ${} ESCAPE '\\'", next()));
        }
    }
    // The joined messages are what the trigram index holds (migration 0006); each message is
    // then checked alone, so a match never spans two.
    if q.log_contains.is_some() {
        let n = next();
        filters.push(format!(
            "{LOG_TEXT} ILIKE ${n} ESCAPE '\\' AND EXISTS (SELECT 1 FROM json_array_elements(s.log) e \
             WHERE e->>'message' ILIKE ${n} ESCAPE '\\')"
        ));
    }
    let (limit, offset) = (next(), next());
    let where_clause = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    // dateCreated sorts by its timestamp (`created_at`), which the indexes cover.
    let (column, descending) = q.sort;
    let column = match column {
        None | Some("date_created") => "created_at",
        Some(column) => column,
    };
    let dir = if descending { "DESC" } else { "ASC" };
    let total = if q.count_total {
        ", count(*) OVER () AS total_count"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {select}{total} FROM sessions s {where_clause}
         ORDER BY s.{column} {dir} NULLS LAST, s.id {dir} LIMIT ${limit} OFFSET ${offset}",
        select = select_list("s"),
    );
    let mut query = sqlx::query(&sql);
    for (_, values) in &lists {
        match values {
            Some([value]) => query = query.bind(value.as_str()),
            Some(values) => query = query.bind(*values),
            None => {}
        }
    }
    if let Some(t) = q.created_from {
        query = query.bind(t);
    }
    if let Some(t) = q.created_before {
        query = query.bind(t);
    }
    for text in [q.from_contains, q.to_contains, q.log_contains]
        .into_iter()
        .flatten()
    {
        query = query.bind(contains_pattern(text));
    }
    let rows = query.bind(q.limit).bind(q.offset).fetch_all(pool).await?;
    let total = match (q.count_total, rows.first()) {
        (false, _) => None,
        (true, None) => Some(0),
        (true, Some(row)) => Some(row.try_get::<i64, _>("total_count")?),
    };
    Ok(Page {
        rows: rows
            .into_iter()
            .map(|row| StoredSession { row, first: 0 })
            .collect(),
        total,
    })
}

/// Deletes the sessions of `account` created from `start` to `end` (both included), in one
/// statement; returns how many. Sessions whose creation time is not a timestamp are kept.
pub async fn delete_range(
    pool: &PgPool,
    account: &str,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE account_id = $1 AND created_at >= $2 AND created_at <= $3",
    )
    .bind(account)
    .bind(start)
    .bind(end)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
