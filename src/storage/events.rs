//! SQL for the live session feed ([`crate::events`]): reading the event log (live and for a
//! replay), pruning it, and the subscriptions every instance shares. The log is written by
//! triggers (`migrations/0008_session_events.sql`) in the transaction of the change itself;
//! subscription events are written here, in the transaction that changes the subscription.

use super::auth::{Credential, CredentialKind};
use super::lease::is_lock_unavailable;
use super::sessions::LoggedSession;
use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection, PgPool, Row};
use std::sync::LazyLock;
use std::time::Duration;

/// The channel a committed event is announced on (payload empty: listeners read the log).
pub const EVENTS_CHANNEL: &str = "voice_api_events";
/// The channel a heartbeat is announced on (payload: the subscription id), so the instance
/// holding the stream answers it with `cmd.onHeartbeat`.
pub const PULSE_CHANNEL: &str = "voice_api_pulse";

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Changed,
    Deleted,
    Join,
    Leave,
    Update,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "changed" => Kind::Changed,
            "deleted" => Kind::Deleted,
            "join" => Kind::Join,
            "leave" => Kind::Leave,
            "update" => Kind::Update,
            _ => return None,
        })
    }
}

/// One row of the log.
#[derive(Debug)]
pub struct Event {
    pub id: i64,
    /// It goes to one of the channels (or is about one of the subscriptions) the read asked
    /// for; only then is the rest read.
    pub wanted: bool,
    pub kind: Kind,
    /// The channels it goes to: the session's account, or the subscriber's channels.
    pub channels: Vec<String>,
    /// The subscription a join, leave or update is about.
    pub subscription: Option<String>,
    /// The subscription's channels after a join or update.
    pub now_channels: Option<Vec<String>>,
    /// A subscription event's body: the subscriber's Meta as JSON.
    pub body: Option<String>,
    /// A session event's session, as committed.
    pub session: Option<LoggedSession>,
}

/// One read of the log: its rows in id order, and the transactions in progress when it ran
/// (as `xid8` text), which may still commit ids it did not see.
#[derive(Debug, Default)]
pub struct Page {
    pub events: Vec<Event>,
    pub in_progress: Vec<String>,
}

/// The transactions in progress in the statement's snapshot (as `xid8` text, of every
/// database): those that may still commit ids the statement did not see.
const RUNNING: &str = "ARRAY(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) x)";

static READ_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH snap AS (SELECT {RUNNING} AS xip),
        ev AS (
            SELECT e.*, COALESCE($3::text[] IS NULL OR e.channels && $3
                OR e.subscription = ANY ($4), false) AS wanted
            FROM event_log e
            WHERE e.id > $1 AND e.id <= $2 AND (NOT $6 OR $3::text[] IS NULL
                OR e.channels && $3 OR e.subscription = ANY ($4))
            ORDER BY e.id LIMIT $5)
        SELECT ev.id, ev.wanted, ev.kind, ev.channels, ev.subscription, ev.now_channels, ev.body,
            snap.xip, CASE WHEN ev.wanted THEN ev.session::text END AS session
        FROM snap LEFT JOIN ev ON true
        ORDER BY ev.id"
    )
});

fn event(row: PgRow) -> Result<Event, sqlx::Error> {
    let kind: String = row.try_get(2)?;
    let kind = Kind::parse(&kind).ok_or_else(|| sqlx::Error::Decode(kind.into()))?;
    let wanted: bool = row.try_get(1)?;
    Ok(Event {
        id: row.try_get(0)?,
        wanted,
        kind,
        channels: row.try_get(3)?,
        subscription: row.try_get(4)?,
        now_channels: row.try_get(5)?,
        body: row.try_get(6)?,
        session: if wanted && matches!(kind, Kind::Changed | Kind::Deleted) {
            Some(LoggedSession::new(row.try_get(8)?))
        } else {
            None
        },
    })
}

/// What to read: with `channels`, only events going to one of them or about one of
/// `subscriptions` are wanted (None: all); with `only_wanted`, the others are left out, else
/// they come as ids (for a reader that must see every id).
#[derive(Debug, Clone, Copy)]
pub struct Filter<'a> {
    pub channels: Option<&'a [String]>,
    pub subscriptions: &'a [String],
    pub only_wanted: bool,
}

/// Events after `after` and up to `upto`, in id order, at most `limit`.
pub async fn read(
    pool: &PgPool,
    after: i64,
    upto: i64,
    filter: Filter<'_>,
    limit: i64,
) -> Result<Page, sqlx::Error> {
    let rows = sqlx::query(&READ_SQL)
        .bind(after)
        .bind(upto)
        .bind(filter.channels)
        .bind(filter.subscriptions)
        .bind(limit)
        .bind(filter.only_wanted)
        .fetch_all(pool)
        .await?;
    let mut page = Page::default();
    for row in rows {
        if page.in_progress.is_empty() {
            page.in_progress = row.try_get(7)?;
        }
        if row.try_get::<Option<i64>, _>(0)?.is_some() {
            page.events.push(event(row)?);
        }
    }
    Ok(page)
}

/// Of these transactions (`xid8` text), the ones still in progress, less those known to be
/// another database's (a transaction of this one may be hidden from `pg_stat_activity`, so
/// only the others are taken out).
pub async fn in_progress(pool: &PgPool, xids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT x FROM unnest($1::text[]) x
        WHERE pg_xact_status(x::xid8) = 'in progress'
            AND (x::numeric % 4294967296)::text NOT IN (
                SELECT backend_xid::text FROM pg_stat_activity
                WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL)",
    )
    .bind(xids)
    .fetch_all(pool)
    .await
}

/// Where a reader starts: the newest id, and the transactions in progress then (which may
/// still commit lower ids).
pub async fn start(pool: &PgPool) -> Result<(i64, Vec<String>), sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT COALESCE(max(id), 0) AS head, {RUNNING} AS xip FROM event_log"
    ))
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("head")?, row.try_get("xip")?))
}

/// The newest event id visible.
pub async fn head(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM event_log")
        .fetch_one(pool)
        .await
}

/// Every id up to this one may have been pruned.
pub async fn pruned_through(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT pruned_through FROM event_log_horizon")
        .fetch_one(pool)
        .await
}

/// Deletes at most `batch` events older than `keep`, and moves the horizon past them.
///
/// The events are locked as they are chosen, skipping those another prune has: two instances'
/// housekeeping pruning at once used to delete the same events in different orders and
/// deadlock (PostgreSQL's log, three servers on one lab database: a prune failed with
/// `deadlock detected` after `deadlock_timeout`, waiting on the other's event rows).
pub async fn prune(pool: &PgPool, keep: Duration, batch: i64) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "WITH gone AS (
            DELETE FROM event_log WHERE id IN (
                SELECT id FROM event_log
                WHERE created_at < now() - make_interval(secs => $1)
                ORDER BY created_at LIMIT $2
                FOR UPDATE SKIP LOCKED)
            RETURNING id),
        moved AS (
            UPDATE event_log_horizon SET pruned_through = GREATEST(pruned_through,
                (SELECT max(id) FROM gone))
            WHERE EXISTS (SELECT 1 FROM gone) RETURNING 1)
        SELECT (SELECT count(*) FROM gone) + 0 * (SELECT count(*) FROM moved)",
    )
    .bind(keep.as_secs_f64())
    .bind(batch)
    .fetch_one(pool)
    .await?;
    Ok(n as u64)
}

/// A subscription as stored.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub user_id: String,
    pub user_address: Option<String>,
    pub channels: Vec<String>,
    pub meta: String,
}

fn subscription(row: &PgRow) -> Result<Subscription, sqlx::Error> {
    Ok(Subscription {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        user_address: row.try_get("user_address")?,
        channels: row.try_get("channels")?,
        meta: row.try_get("meta")?,
    })
}

/// A new subscription's row.
#[derive(Debug)]
pub struct NewSubscription<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub user_name: &'a str,
    pub display_name: &'a str,
    pub user_address: &'a str,
    pub channels: &'a [String],
    pub meta: &'a str,
    pub credential: &'a Credential,
}

/// Why a subscription was not stored.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The user holds `max_per_user` subscriptions already (on any instance).
    TooMany,
}

/// Stores a subscription and its join event in one transaction; the user's count is checked
/// under a lock of that user, so parallel connects on any number of instances stay within it.
pub async fn subscribe(
    pool: &PgPool,
    sub: &NewSubscription<'_>,
    max_per_user: i64,
    keep: Duration,
) -> Result<Result<(), Refused>, sqlx::Error> {
    // Before the transaction, so it needs no second connection while holding one.
    nudge(pool).await?;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('voice_api.subscriber:' || $1, 0))")
        .bind(sub.user_id)
        .execute(&mut *tx)
        .await?;
    let held: i64 =
        sqlx::query_scalar("SELECT count(*) FROM event_subscriptions WHERE user_id = $1")
            .bind(sub.user_id)
            .fetch_one(&mut *tx)
            .await?;
    if held >= max_per_user {
        return Ok(Err(Refused::TooMany));
    }
    listen(&mut tx, keep).await?;
    sqlx::query(
        "WITH added AS (
            INSERT INTO event_subscriptions (id, user_id, user_name, display_name,
                user_address, channels, meta, credential_kind, credential_id, credential_stamp)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id, channels, meta)
        INSERT INTO event_log (kind, channels, subscription, now_channels, body)
        SELECT 'join', channels, id, channels, meta FROM added",
    )
    .bind(sub.id)
    .bind(sub.user_id)
    .bind(sub.user_name)
    .bind(sub.display_name)
    .bind(sub.user_address)
    .bind(sub.channels)
    .bind(sub.meta)
    .bind(sub.credential.kind().index() as i16)
    .bind(sub.credential.parts().0)
    .bind(sub.credential.parts().1)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The advisory lock of the feed's lease: `hashtextextended('voice_api.feed', 0)`, the
/// constant migration 0009's triggers take.
pub const FEED_LOCK: i64 = -7903422596081875140;

/// The advisory lock a quiet instance holds while the lease is over (migration 0010):
/// `hashtextextended('voice_api.feed.quiet', 0)`.
pub const QUIET_LOCK: i64 = 7558824018757872809;

/// Where a subscription asks the instance holding [`QUIET_LOCK`] to let it go ([`nudge`]).
pub const QUIET_CHANNEL: &str = "voice_api_quiet";

/// How long a renewal of the lease waits for each lock: the lease's row, the quiet lock once
/// its holder was asked to let go (or was disconnected), and the writes in progress that did
/// not log; past it the renewal fails (a subscription is then answered 503).
const RENEWAL_LOCK_TIMEOUT: &str = "5s";

/// How long a renewal waits for the quiet lock's holder to let it go before disconnecting it.
const QUIET_RELEASE_TIMEOUT: &str = "1s";

/// The other sessions holding [`QUIET_LOCK`] exclusively (in this database: advisory locks
/// are per database; a bigint key is listed as its high and low halves, `objsubid` 1).
const QUIET_HOLDERS: &str = "FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
    AND granted AND mode = 'ExclusiveLock' AND pid <> pg_backend_pid()
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND ((classid::bigint << 32) | objid::bigint) = $1";

/// Takes [`QUIET_LOCK`] for `conn`'s session if the lease is over and nobody renews it;
/// answers whether `conn` now holds it. Under the lease row's lock, which a renewal holds from
/// its judgement to its commit, and without waiting for it: a renewal either committed before
/// (the lease is not over) or comes after, and then takes the quiet lock ([`listen`]).
pub async fn hold_quiet(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let mut tx = conn.begin().await?;
    match sqlx::query("SELECT 1 FROM event_log_horizon FOR UPDATE NOWAIT")
        .execute(&mut *tx)
        .await
    {
        Err(e) if is_lock_unavailable(&e) => {
            // Now, not at the connection's next use (a dropped transaction's rollback waits
            // for that), so the connection does not sit in an aborted transaction.
            tx.rollback().await?;
            return Ok(false);
        }
        locked => locked?,
    };
    let held = !listened(&mut tx).await?
        && sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
            .bind(QUIET_LOCK)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(held)
}

/// Whether the lease holds at this statement's start (as a write judges it).
pub async fn listened(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT listened_until > now() FROM event_log_horizon")
        .fetch_one(conn)
        .await
}

/// Lets [`QUIET_LOCK`] go (held by `conn`'s session through [`hold_quiet`]).
pub async fn release_quiet(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(QUIET_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

/// Asks whichever instance holds [`QUIET_LOCK`] to let it go, ahead of a renewal (from its own
/// connection: a `NOTIFY` in the renewal's transaction would be heard only at its commit).
pub async fn nudge(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(QUIET_CHANNEL)
        .execute(pool)
        .await?;
    Ok(())
}

/// Sets `lock_timeout` for the rest of the caller's transaction (or savepoint).
async fn set_lock_timeout(conn: &mut PgConnection, timeout: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('lock_timeout', $1, true)")
        .bind(timeout)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes advisory lock `key` exclusively for the caller's transaction, waiting at most
/// `lock_timeout`.
async fn xact_lock(conn: &mut PgConnection, key: i64) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Renews the feed's lease (migration 0009) for `keep` from now, in the caller's transaction;
/// answers whether it had run out. Renewing a lease that had run out takes the quiet lock
/// (migration 0010; [`take_quiet`]) and then waits for every write that decided not to log
/// (the feed's lock), and moves the horizon past every id so far, so a client resuming from
/// before is told to reload. Each wait lasts at most [`RENEWAL_LOCK_TIMEOUT`].
///
/// The horizon row is locked first and the lease judged after, on its latest value, and the
/// renewal follows that judgement (a renewal read before a concurrent change, then applied on
/// top of it, would miss that the lease had run out; a judgement made in the statement that
/// waits for the lock would not be made again after a holder that did not change the row).
/// It is judged by the clock, not the transaction's start, with a margin ([`listen_margin`]):
/// a lease that runs out while this transaction is under way, letting a write go unlogged,
/// counts as run out already. A quiet lock held beside a lease that holds (renewed by an
/// instance from before migration 0010, or a clock set back) has let writes go unlogged too,
/// and counts as run out.
pub async fn listen(conn: &mut PgConnection, keep: Duration) -> Result<bool, sqlx::Error> {
    set_lock_timeout(conn, RENEWAL_LOCK_TIMEOUT).await?;
    sqlx::query("SELECT 1 FROM event_log_horizon FOR UPDATE")
        .execute(&mut *conn)
        .await?;
    let margin = listen_margin(keep).as_secs_f64();
    let listened: bool = sqlx::query_scalar(&format!(
        "SELECT listened_until > clock_timestamp() + make_interval(secs => $1)
            AND NOT EXISTS (SELECT 1 {QUIET_HOLDERS})
        FROM event_log_horizon"
    ))
    .bind(margin)
    .bind(QUIET_LOCK)
    .fetch_one(&mut *conn)
    .await?;
    if !listened {
        take_quiet(conn).await?;
        xact_lock(conn, FEED_LOCK).await?;
    }
    sqlx::query(
        "UPDATE event_log_horizon SET
            pruned_through = CASE WHEN $2 THEN pruned_through
                ELSE GREATEST(pruned_through, nextval('event_log_id_seq')) END,
            listened_until = GREATEST(listened_until, clock_timestamp() + make_interval(secs => $1))",
    )
    .bind(keep.as_secs_f64())
    .bind(listened)
    .execute(&mut *conn)
    .await?;
    Ok(!listened)
}

/// Takes [`QUIET_LOCK`] for the caller's transaction. Its holder was asked to let it go
/// ([`nudge`]); one that has not within [`QUIET_RELEASE_TIMEOUT`] (it did not hear: its
/// listener was reconnecting, or it is cut off) is disconnected, which lets it go: its
/// connection holds nothing else, and it takes a new one when it is next quiet.
async fn take_quiet(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SAVEPOINT quiet_wait")
        .execute(&mut *conn)
        .await?;
    set_lock_timeout(conn, QUIET_RELEASE_TIMEOUT).await?;
    match xact_lock(conn, QUIET_LOCK).await {
        Ok(_) => {
            // The lock stays with the transaction; the wait's own timeout goes.
            sqlx::query("RELEASE SAVEPOINT quiet_wait")
                .execute(&mut *conn)
                .await?;
            set_lock_timeout(conn, RENEWAL_LOCK_TIMEOUT).await?;
        }
        Err(e) if is_lock_unavailable(&e) => {
            // Back to before the wait, with its timeout.
            sqlx::query("ROLLBACK TO SAVEPOINT quiet_wait")
                .execute(&mut *conn)
                .await?;
            let cut: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) {QUIET_HOLDERS}"
            ))
            .bind(QUIET_LOCK)
            .fetch_one(&mut *conn)
            .await?;
            tracing::warn!(
                disconnected = cut,
                "the quiet lock was not let go when asked; its holder was disconnected"
            );
            xact_lock(conn, QUIET_LOCK).await?;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// How close to its end a lease already counts as run out: ten seconds, or a quarter of the
/// lease when that is shorter. A renewal every housekeeping keeps a lease far from its end, so
/// only one renewed after a retention window with nobody listening comes near it; the margin
/// is what a renewal that judged the lease as holding may then take to commit (a review showed,
/// in psql, that one held up past a 1 s margin lets a write go unlogged without a reset).
fn listen_margin(keep: Duration) -> Duration {
    (keep / 4).min(Duration::from_secs(10))
}

/// One subscription, wherever its stream is.
pub async fn find(pool: &PgPool, id: &str) -> Result<Option<Subscription>, sqlx::Error> {
    sqlx::query("SELECT * FROM event_subscriptions WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(subscription)
        .transpose()
}

/// Records a heartbeat and announces it to the instance holding the stream; false when the
/// subscription is gone.
pub async fn pulse(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    let pulsed: Option<String> = sqlx::query_scalar(
        "WITH p AS (UPDATE event_subscriptions SET last_pulse_at = now() WHERE id = $1 \
         RETURNING id) SELECT pg_notify($2, id)::text FROM p",
    )
    .bind(id)
    .bind(PULSE_CHANNEL)
    .fetch_optional(pool)
    .await?;
    Ok(pulsed.is_some())
}

/// Removes the subscriptions `condition` selects and logs their leave events, in one
/// statement; answers the ids removed.
fn remove_sql(condition: &str) -> String {
    format!(
        "WITH gone AS (DELETE FROM event_subscriptions WHERE {condition} \
             RETURNING id, channels, meta), \
         logged AS (INSERT INTO event_log (kind, channels, subscription, body) \
             SELECT 'leave', channels, id, meta FROM gone RETURNING subscription) \
         SELECT subscription FROM logged"
    )
}

static UNREGISTER_SQL: LazyLock<String> = LazyLock::new(|| remove_sql("id = $1"));
static EXPIRE_SQL: LazyLock<String> =
    LazyLock::new(|| remove_sql("last_pulse_at < now() - make_interval(secs => $1)"));

/// Removes one subscription (its stream ends wherever it is); false when it was gone.
pub async fn unregister(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    let gone: Vec<String> = sqlx::query_scalar(&UNREGISTER_SQL)
        .bind(id)
        .fetch_all(pool)
        .await?;
    Ok(!gone.is_empty())
}

/// Removes every subscription, on any instance, without a heartbeat for `idle`.
pub async fn expire(pool: &PgPool, idle: Duration) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(&EXPIRE_SQL)
        .bind(idle.as_secs_f64())
        .fetch_all(pool)
        .await
}

/// Of these subscriptions, the ones that may no longer stream: gone from the table, opened
/// with a credential no longer valid (logged out, key revoked, password changed), or whose user
/// may no longer act in one of its channels (left an account, lost the administrator role:
/// `*` is an administrator's alone).
static REVOKED_SQL: LazyLock<String> = LazyLock::new(|| {
    let valid: Vec<String> = CredentialKind::ALL
        .iter()
        .map(|kind| {
            format!(
                "WHEN {} THEN EXISTS (SELECT 1 FROM ({}) p WHERE p.id = s.user_id)",
                kind.index(),
                kind.principal_of("s.credential_id", "s.credential_stamp")
            )
        })
        .collect();
    format!(
        "SELECT l.id FROM unnest($1::text[]) AS l(id)
        WHERE NOT EXISTS (
            SELECT 1 FROM event_subscriptions s JOIN users u ON u.id = s.user_id
            WHERE s.id = l.id
                AND CASE s.credential_kind {} ELSE false END
                AND ('SystemAdministrator' = ANY (u.roles) OR NOT EXISTS (
                    SELECT 1 FROM unnest(s.channels) c(name) WHERE NOT EXISTS (
                        SELECT 1 FROM user_accounts ua
                        WHERE ua.user_id = s.user_id AND ua.account_id = c.name))))",
        valid.join(" ")
    )
});

pub async fn revoked(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(&REVOKED_SQL)
        .bind(ids)
        .fetch_all(pool)
        .await
}

/// Sets a subscription's channels and Meta and logs the update, to the old channels and the
/// new; false when the subscription is gone.
pub async fn update_channels(
    pool: &PgPool,
    id: &str,
    channels: &[String],
    meta: &str,
) -> Result<bool, sqlx::Error> {
    let logged: Option<i64> = sqlx::query_scalar(
        "WITH old AS (SELECT channels FROM event_subscriptions WHERE id = $1 FOR UPDATE),
        changed AS (UPDATE event_subscriptions SET channels = $2, meta = $3 WHERE id = $1
            RETURNING id)
        INSERT INTO event_log (kind, channels, subscription, now_channels, body)
        SELECT 'update', ARRAY(SELECT DISTINCT c FROM unnest(old.channels || $2::text[]) c),
            $1, $2, $3
        FROM old, changed RETURNING id",
    )
    .bind(id)
    .bind(channels)
    .bind(meta)
    .fetch_optional(pool)
    .await?;
    Ok(logged.is_some())
}

/// The Meta of every subscription to one of `channels` (any channel: None), oldest first.
pub async fn subscribers(
    pool: &PgPool,
    channels: Option<&[String]>,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT meta FROM event_subscriptions WHERE $1::text[] IS NULL OR channels && $1 \
         ORDER BY created_at, id LIMIT $2",
    )
    .bind(channels)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Who a user is for the feed: whether an administrator, and the accounts they act in.
pub async fn scope_of(
    pool: &PgPool,
    user_id: &str,
) -> Result<Option<(bool, Vec<String>)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT 'SystemAdministrator' = ANY (u.roles) AS is_admin,
            ARRAY(SELECT account_id FROM user_accounts WHERE user_id = u.id ORDER BY account_id)
                AS accounts
        FROM users u WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((r.try_get("is_admin")?, r.try_get("accounts")?)))
        .transpose()
}
