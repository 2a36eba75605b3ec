//! Natural batching of PatchSession: the patches that arrive while earlier batches are in
//! flight are sent together, as one statement, on connections the batcher owns.
//!
//! There is no timer and no dispatcher task: a patch that finds a batch connection free is
//! sent at once, from its request's own task (at low load a batch is one patch, with no
//! hand-over between tasks); under load, patches queue while every batch connection is busy,
//! and the batch that ends starts the next one, taking all of them (up to `max_batch`), in a
//! task of its own. One statement per batch pays one commit, one round trip and one executor
//! start for all its patches: that, not the HTTP side, was the wall (issue 14, BENCHMARKS.md).
//!
//! What each patch keeps of its own:
//! - its outcome: as for a single patch, a cheap statement writes the patches that apply
//!   (checking each distinct credential of the batch once), and only the rest, refused,
//!   missing, unchanged or stale, go through the statement that tells why (401/403/404/412
//!   per item), which decides them afresh;
//! - its order: a batch never holds two patches of one session, and a session in a batch in
//!   flight waits for that batch to end, so patches of one session apply in arrival order,
//!   each seeing the one before;
//! - its locks: two batches never share a session, so they never wait for each other; a row
//!   another transaction holds (a patch gone alone, an import, any SQL) makes the batch's
//!   statement wait at most `lock_timeout` ([`LOCK_TIMEOUT`]) on the batch connections, after
//!   which each of its patches is answered [`Answer::Busy`] and its request runs the single
//!   statement itself, which waits for the lock under the request's time limit. (The statement
//!   used to lock its rows first with `FOR UPDATE SKIP LOCKED`, so only the held row went
//!   alone; that pass cost PostgreSQL a lock record per row, and dropping it gave 9-16 % more
//!   PATCHes a second at c = 32 in a wrk A/B, for a wait that only contention pays.)
//! - its failure: a statement that fails for another reason than the connection is not
//!   retried as a batch: each of its patches is answered [`Answer::Alone`], and each request
//!   runs the single statement, so one bad item cannot fail the others;
//! - its acknowledgement: every answer comes after the batch's commit. A connection lost
//!   mid-batch answers that batch [`Answer::Unavailable`] (503: the outcome is unknown to the
//!   server, and a client's retry of the same patch changes nothing when it had applied,
//!   because a patch writes only when it changes something).
//!
//! Bounded: the queue holds at most `queue` patches (a full queue is 503), a batch at most
//! `max_batch`, and at most `connections` batches are in flight. A patch whose request went
//! away while it was queued is dropped unsent. A graceful shutdown waits for in-flight requests,
//! and so for the batches that answer them: the queue drains.

use super::auth::{Credential, CredentialKind};
use super::lease::{Leases, StatementWatch, is_connection_error, is_lock_unavailable};
use super::sessions::{
    Outcome, PATCH_COLUMNS, allowed, outcome, patch_clauses, patch_once, select_list,
};
use crate::contract::Dto;
use crate::contract::sessions::PatchSession;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use tokio::sync::oneshot;

/// Sizes of the batcher; see the module documentation.
#[derive(Debug, Clone)]
pub struct BatchSettings {
    /// Batches in flight at once (each on its own connection). One by default: every patch that
    /// queues behind a batch joins the next, so batches are as big as the load makes them, and
    /// PostgreSQL spends least per patch. Measured on 2 cores (wrk PATCH JSON, three interleaved
    /// rounds): one connection 4,683-6,163 req/s at c = 8 and 9,667-15,361 at c = 32; two
    /// connections 4,285-4,629 and 7,117-8,776; two where the second starts a batch only once
    /// as many patches wait as the last batch held, 4,310-6,064 and 8,896-12,538. What one
    /// connection risks, a batch held up by a row lock, is bounded by `lock_timeout`
    /// ([`LOCK_TIMEOUT`]); more connections suit a PostgreSQL with more cores than this.
    pub connections: usize,
    /// Most patches in one statement.
    pub max_batch: usize,
    /// Most patches waiting to be sent.
    pub queue: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            connections: 1,
            max_batch: 64,
            queue: 4096,
        }
    }
}

/// One patch as the batcher takes it.
#[derive(Debug)]
pub struct Patch {
    pub id: String,
    pub req: PatchSession,
    /// `dateLastModified` when it changes something.
    pub now: String,
    /// If-Match's version.
    pub expect: Option<i64>,
    pub cred: Credential,
}

/// What the batcher answers a patch.
#[derive(Debug)]
pub enum Answer {
    /// Decided by the batch: written, refused, missing or stale.
    Done(Outcome),
    /// Allowed but not written (nothing changed, or If-Match named another version): the
    /// request reads the row to tell which ([`super::sessions::unchanged`]).
    Unchanged,
    /// Another transaction held a row of the batch past `lock_timeout`: run the single
    /// statement, which waits.
    Busy,
    /// The batch's statement failed for a reason other than its connection: run alone.
    Alone,
    /// The connection failed or the statement was cancelled: nothing known to be applied.
    Unavailable(sqlx::Error),
    /// The queue is full.
    QueueFull,
}

struct Queued {
    patch: Patch,
    seq: u64,
    /// The request's time-limit watch, told which backend runs the batch.
    watch: Option<Arc<StatementWatch>>,
    reply: oneshot::Sender<(Patch, Answer)>,
}

/// The handle requests send their patches through (one per [`crate::AppState`]).
pub struct Batcher {
    inner: Arc<Inner>,
}

struct Inner {
    leases: Arc<Leases>,
    settings: BatchSettings,
    state: Mutex<State>,
    stats: Stats,
}

#[derive(Default)]
struct State {
    /// Patches not yet in a batch, in arrival order.
    waiting: VecDeque<Queued>,
    /// Sessions with a patch in a batch in flight.
    in_flight: HashSet<String>,
    /// Batches in flight (at most `connections`).
    running: usize,
    /// Numbers the patches, so a request knows its own.
    next_seq: u64,
    /// When the stats were last logged, and how many batches there were then.
    logged: Option<(std::time::Instant, u64)>,
}

/// Batch sizes so far, in power-of-two buckets: 1, 2–3, 4–7, … 64 and more.
pub const BUCKETS: usize = 7;

/// What the batcher has sent since it started (cumulative).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchStats {
    pub batches: u64,
    pub patches: u64,
    /// Batches by size: `sizes[k]` counts batches of 2^k to 2^(k+1)-1 patches (the last: more).
    pub sizes: [u64; BUCKETS],
}

impl BatchStats {
    /// `1:n 2-3:n 4-7:n …`, the form of the log line.
    pub fn histogram(&self) -> String {
        (0..BUCKETS)
            .map(|k| {
                let (lo, hi) = (1u64 << k, (1u64 << (k + 1)) - 1);
                let label = match k {
                    0 => "1".to_string(),
                    k if k == BUCKETS - 1 => format!("{lo}+"),
                    _ => format!("{lo}-{hi}"),
                };
                format!("{label}:{}", self.sizes[k])
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Default)]
struct Stats {
    batches: AtomicU64,
    patches: AtomicU64,
    sizes: [AtomicU64; BUCKETS],
}

impl Stats {
    fn record(&self, size: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.patches.fetch_add(size as u64, Ordering::Relaxed);
        let k = (usize::BITS - 1 - size.max(1).leading_zeros()) as usize;
        self.sizes[k.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> BatchStats {
        BatchStats {
            batches: self.batches.load(Ordering::Relaxed),
            patches: self.patches.load(Ordering::Relaxed),
            sizes: std::array::from_fn(|k| self.sizes[k].load(Ordering::Relaxed)),
        }
    }
}

impl Batcher {
    /// A batcher whose batches run on `leases` (which it should own: their count bounds the
    /// batches in flight).
    pub fn new(leases: Arc<Leases>, settings: BatchSettings) -> Self {
        Batcher {
            inner: Arc::new(Inner {
                leases,
                settings,
                state: Mutex::default(),
                stats: Stats::default(),
            }),
        }
    }

    /// Batches and patches sent so far.
    pub fn stats(&self) -> BatchStats {
        self.inner.stats.snapshot()
    }

    /// Patches waiting, not yet taken into a batch.
    pub fn queued(&self) -> usize {
        self.inner.lock().waiting.len()
    }

    /// Queues `patch` and waits for its batch's answer; the patch comes back with it (for
    /// the answers that ask the request to go on alone). An error: its batch was abandoned.
    ///
    /// A patch that finds a batch connection free starts a batch at once: alone (the usual
    /// case at low load) it runs in the request's own task, with no hand-over to another task;
    /// otherwise the batch gets a task of its own. A batch that ends starts the next one from
    /// what queued meanwhile.
    pub async fn patch(&self, patch: Patch) -> Result<(Patch, Answer), sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        let (seq, started) = {
            let mut st = self.inner.lock();
            if st.waiting.len() >= self.inner.settings.queue.max(1) {
                return Ok((patch, Answer::QueueFull));
            }
            let seq = st.next_seq;
            st.next_seq += 1;
            st.waiting.push_back(Queued {
                patch,
                seq,
                watch: super::lease::current_watch(),
                reply,
            });
            (seq, self.inner.start(&mut st))
        };
        match started {
            Some((batch, running)) if batch.len() == 1 && batch[0].seq == seq => {
                run(&self.inner.leases, batch).await;
                drop(running);
            }
            Some((batch, running)) => spawn_batch(batch, running),
            None => {}
        }
        answer
            .await
            .map_err(|_| sqlx::Error::Protocol("the batch of this patch was abandoned".into()))
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next batch, when a connection is free and something can be sent; it counts as
    /// running until its [`Running`] is dropped.
    fn start(self: &Arc<Self>, st: &mut State) -> Option<(Vec<Queued>, Running)> {
        if st.running >= self.settings.connections.max(1) {
            return None;
        }
        let batch = take_batch(
            &mut st.waiting,
            &st.in_flight,
            self.settings.max_batch.max(1),
        );
        if batch.is_empty() {
            return None;
        }
        let ids: Vec<String> = batch.iter().map(|q| q.patch.id.clone()).collect();
        st.in_flight.extend(ids.iter().cloned());
        st.running += 1;
        self.stats.record(batch.len());
        log_stats(&self.stats, &mut st.logged);
        Some((
            batch,
            Running {
                inner: self.clone(),
                ids,
                ended: false,
            },
        ))
    }
}

/// A batch in flight. Dropped when it ends (or is abandoned, with its request): its sessions
/// and connection are free again, and the next batch starts.
struct Running {
    inner: Arc<Inner>,
    ids: Vec<String>,
    /// Ended by [`Running::finish`]: dropping it then does nothing more.
    ended: bool,
}

impl Running {
    /// Ends this batch and takes the next one, if one can start (the caller runs it).
    fn finish(mut self) -> Option<(Vec<Queued>, Running)> {
        self.end()
    }

    fn end(&mut self) -> Option<(Vec<Queued>, Running)> {
        if std::mem::replace(&mut self.ended, true) {
            return None;
        }
        let mut st = self.inner.lock();
        for id in self.ids.drain(..) {
            st.in_flight.remove(&id);
        }
        st.running -= 1;
        self.inner.start(&mut st)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some((batch, running)) = self.end() {
            spawn_batch(batch, running);
        }
    }
}

/// Runs a batch in a task of its own (it answers other requests than the one starting it),
/// and then each next one in the same task, as long as one can start: the next statement goes
/// to PostgreSQL at once, before the answers just given are written to their clients, rather
/// than from a new task queued behind those requests' tasks.
fn spawn_batch(batch: Vec<Queued>, running: Running) {
    tokio::spawn(async move {
        let (mut batch, mut running) = (batch, running);
        loop {
            run(&running.inner.leases, batch).await;
            match running.finish() {
                Some(next) => (batch, running) = next,
                None => break,
            }
        }
    });
}

/// The next batch from `waiting`, taken in arrival order: at most `max_batch` patches, none of
/// a session in flight or already in the batch (those stay, in order, for a later batch).
/// Patches whose request went away while queued are dropped unsent.
///
/// The batch is sent in session id order, and its statement locks its rows in that order as
/// PostgreSQL plans it (the items, in array order, each joined to its row by the primary key;
/// a plan that hashed the rows instead would lose it): two batches that share sessions, from two
/// instances of the server on one database, then wait for each other rather than deadlock
/// (which `lock_timeout` would only have turned into every patch of both going alone). Order
/// within a batch changes nothing else: it never holds two patches of one session, and each
/// patch's answer is matched to it by its place.
fn take_batch(
    waiting: &mut VecDeque<Queued>,
    in_flight: &HashSet<String>,
    max_batch: usize,
) -> Vec<Queued> {
    let mut batch = Vec::new();
    let mut ids = HashSet::new();
    let mut rest = VecDeque::with_capacity(waiting.len());
    for q in waiting.drain(..) {
        if q.reply.is_closed() {
            continue;
        }
        if batch.len() < max_batch
            && !in_flight.contains(&q.patch.id)
            && ids.insert(q.patch.id.clone())
        {
            batch.push(q);
        } else {
            rest.push_back(q);
        }
    }
    *waiting = rest;
    batch.sort_unstable_by(|a, b| a.patch.id.cmp(&b.patch.id));
    batch
}

/// At most one line a second, and only when batches were sent: the cumulative batch sizes
/// (what `scripts/bench` reads for its distribution).
fn log_stats(stats: &Stats, logged: &mut Option<(std::time::Instant, u64)>) {
    let now = std::time::Instant::now();
    let (at, batches) = *logged.get_or_insert((now, 0));
    if now.duration_since(at) < std::time::Duration::from_secs(1) {
        return;
    }
    let s = stats.snapshot();
    if s.batches == batches {
        return;
    }
    *logged = Some((now, s.batches));
    tracing::info!(
        batches = s.batches,
        patches = s.patches,
        sizes = %s.histogram(),
        "patch batches so far"
    );
}

/// Runs one batch and answers each of its patches.
async fn run(leases: &Leases, batch: Vec<Queued>) {
    let mut lease = match leases.acquire(false).await {
        Ok(lease) => lease,
        Err(e) => return answer_all(batch, |_| unavailable(&e)),
    };
    let pid = lease.pid();
    for w in batch.iter().filter_map(|q| q.watch.as_ref()) {
        w.start(pid);
    }
    let patches: Vec<&Patch> = batch.iter().map(|q| &q.patch).collect();
    let result = match patches[..] {
        [one] => patch_one(&mut lease, one).await,
        _ => patch_batch(&mut lease, &patches).await,
    };
    for w in batch.iter().filter_map(|q| q.watch.as_ref()) {
        w.end();
    }
    match result {
        Ok(answers) => {
            lease.release();
            for (q, answer) in batch.into_iter().zip(answers) {
                let _ = q.reply.send((q.patch, answer));
            }
        }
        // The lease is dropped with the error: a connection in an unknown state is closed.
        Err(e) if is_connection_error(&e) || is_cancel(&e) => {
            tracing::warn!(cause = %e, patches = batch.len(), "a batch of patches failed");
            answer_all(batch, |_| unavailable(&e));
        }
        Err(e) => {
            tracing::debug!(cause = %e, "a batch failed; its patches run alone");
            answer_all(batch, |_| Answer::Alone);
        }
    }
}

fn answer_all(batch: Vec<Queued>, answer: impl Fn(&Patch) -> Answer) {
    for q in batch {
        let a = answer(&q.patch);
        let _ = q.reply.send((q.patch, a));
    }
}

/// The same error for every patch of a failed batch (sqlx errors are not `Clone`).
fn unavailable(e: &sqlx::Error) -> Answer {
    Answer::Unavailable(match e {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        e if is_cancel(e) => {
            sqlx::Error::Io(std::io::Error::other("the batch's statement was cancelled"))
        }
        e => sqlx::Error::Io(std::io::Error::other(e.to_string())),
    })
}

/// A batch of one: the single statement, which costs PostgreSQL about a fifth less than the
/// array statement for one row (pgbench, c = 8: 4,100-4,700 against 3,300-3,900 tps). Like the
/// batch statement it waits for a held row at most `lock_timeout` ([`LOCK_TIMEOUT`]), after which
/// the patch is [`Answer::Busy`].
async fn patch_one(conn: &mut PgConnection, p: &Patch) -> Result<Vec<Answer>, sqlx::Error> {
    let answer = match patch_once(conn, &p.cred, &p.id, &p.req, &p.now, p.expect).await {
        Ok(Some(outcome)) => Answer::Done(outcome),
        Ok(None) => Answer::Unchanged,
        Err(e) if is_lock_unavailable(&e) => Answer::Busy,
        Err(e) => return Err(e),
    };
    Ok(vec![answer])
}

/// How long a batch connection's statement waits for a lock before the patch goes alone.
pub const LOCK_TIMEOUT: &str = "20ms";

/// PostgreSQL cancelled the statement (statement_timeout, or the time limit's cancel).
fn is_cancel(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("57014"))
}

/// The batch statements: their items as arrays (one element per patch, in batch order), each
/// distinct credential once. One statement text serves every batch size, so it is prepared
/// once per connection.
///
/// `$1` the session ids, then one array per patch column, then the times, the If-Match
/// versions and each item's credential (1-based into the credential arrays); then the
/// credentials' kinds, ids and auth stamps.
///
/// `decided`: every item gets a row, which tells what the patch found (written, refused,
/// missing, unchanged); otherwise only the written items get one (the cheap statement, as
/// [`super::sessions`] has for a single patch: no second lookup of each session, no join of
/// every item with the update's result).
fn batch_sql(decided: bool) -> String {
    let columns = &*PATCH_COLUMNS;
    let p = columns.len();
    let item_columns: Vec<String> = (0..p).map(|i| format!("c{i}")).collect();
    let unnest_items: Vec<String> = (1..=p + 1)
        .map(|n| format!("${n}::text[]"))
        .chain([
            format!("${}::text[]", p + 2),
            format!("${}::bigint[]", p + 3),
            format!("${}::int[]", p + 4),
        ])
        .collect();
    let (kinds, ids, stamps) = (p + 5, p + 6, p + 7);
    let who: Vec<String> = CredentialKind::ALL
        .iter()
        .map(|k| {
            format!(
                "{} AND c.kind = {}",
                k.principal_of("c.a", "c.b"),
                k.index()
            )
        })
        .collect();
    let (sets, changes) = patch_clauses(|i| format!("t.c{i}"));
    let inputs = format!(
        "items AS MATERIALIZED (
            SELECT * FROM unnest({unnest_items}) WITH ORDINALITY
                AS i(id, {item_columns}, now, expect, cred, ord)
        ),
        creds AS MATERIALIZED (
            SELECT c.n, w.id AS user_id, w.is_admin
            FROM unnest(${kinds}::int[], ${ids}::text[], ${stamps}::bigint[]) WITH ORDINALITY
                AS c(kind, a, b, n)
            CROSS JOIN LATERAL ({who}) w
        )",
        unnest_items = unnest_items.join(", "),
        item_columns = item_columns.join(", "),
        who = who.join(" UNION ALL "),
    );
    let update = |from: &str, allowed: &str, returning: &str| {
        format!(
            "UPDATE sessions s SET {sets},
                date_last_modified = t.now,
                last_modified_by = t.user_id,
                version = s.version + 1
            FROM {from}
            WHERE s.id = t.id AND {allowed} AND ({changes})
              AND (t.expect IS NULL OR s.version = t.expect)
            RETURNING {returning}"
        )
    };
    if !decided {
        return format!(
            "WITH {inputs}
            {update}",
            update = update(
                "(SELECT i.*, p.user_id, p.is_admin FROM items i JOIN creds p ON p.n = i.cred) t",
                &allowed("t", "user_id"),
                &format!(
                    "'updated' AS result_kind, {}, t.ord AS item",
                    select_list("s")
                ),
            ),
        );
    }
    format!(
        "WITH {inputs},
        target AS MATERIALIZED (
            SELECT i.*, s.id AS found, p.user_id,
                COALESCE({allowed}, false) AS allowed
            FROM items i LEFT JOIN creds p ON p.n = i.cred LEFT JOIN sessions s ON s.id = i.id
        ),
        updated AS (
            {update}
        )
        SELECT CASE WHEN u.ord IS NOT NULL THEN 'updated'
                WHEN t.user_id IS NULL THEN 'unauthenticated'
                WHEN t.found IS NULL THEN 'notfound'
                WHEN NOT t.allowed THEN 'forbidden'
                ELSE 'found' END AS result_kind,
            {updated}, t.ord AS item
        FROM target t LEFT JOIN updated u ON u.ord = t.ord
        ORDER BY t.ord",
        allowed = allowed("p", "user_id"),
        update = update("target t", "t.allowed", "t.ord, s.*"),
        updated = select_list("u"),
    )
}

static BATCH_SQL: LazyLock<String> = LazyLock::new(|| batch_sql(true));
static BATCH_FAST_SQL: LazyLock<String> = LazyLock::new(|| batch_sql(false));

/// The batch statement the server runs first (for `voice-api patch-sql --batch` and the bench).
pub fn batch_statement() -> &'static str {
    &BATCH_FAST_SQL
}

/// Runs one batch (distinct session ids); one answer per patch, in order. The cheap
/// statement first; the patches it did not write (refused, missing, unchanged, stale: rare)
/// then go through the statement that tells why, together (one or more), which decides them
/// afresh.
pub async fn patch_batch(
    conn: &mut PgConnection,
    patches: &[&Patch],
) -> Result<Vec<Answer>, sqlx::Error> {
    let Some(rows) = batch_rows(conn, &BATCH_FAST_SQL, patches).await? else {
        return Ok(patches.iter().map(|_| Answer::Busy).collect());
    };
    let mut answers: Vec<Option<Answer>> = patches.iter().map(|_| None).collect();
    for row in rows {
        let item = item_of(&row, patches.len())?;
        if answers[item].is_some() {
            return Err(sqlx::Error::Protocol(format!(
                "a batch wrote item {item} twice"
            )));
        }
        answers[item] = Some(Answer::Done(outcome(row)?));
    }
    let rest: Vec<usize> = (0..patches.len())
        .filter(|&i| answers[i].is_none())
        .collect();
    if !rest.is_empty() {
        let some: Vec<&Patch> = rest.iter().map(|&i| patches[i]).collect();
        for (i, answer) in rest.iter().zip(patch_batch_decided(conn, &some).await?) {
            answers[*i] = Some(answer);
        }
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or(Answer::Unchanged))
        .collect())
}

/// The 0-based batch item a row answers.
fn item_of(row: &PgRow, items: usize) -> Result<usize, sqlx::Error> {
    let ord: i64 = row.try_get("item")?;
    usize::try_from(ord - 1)
        .ok()
        .filter(|&i| i < items)
        .ok_or_else(|| sqlx::Error::Protocol(format!("a batch answered an unknown item {ord}")))
}

/// The statement that tells why: one row per patch, in order.
async fn patch_batch_decided(
    conn: &mut PgConnection,
    patches: &[&Patch],
) -> Result<Vec<Answer>, sqlx::Error> {
    let Some(rows) = batch_rows(conn, &BATCH_SQL, patches).await? else {
        return Ok(patches.iter().map(|_| Answer::Busy).collect());
    };
    if rows.len() != patches.len() {
        return Err(sqlx::Error::Protocol(format!(
            "a batch of {} patches answered {} rows",
            patches.len(),
            rows.len()
        )));
    }
    rows.into_iter()
        .map(|row| {
            let kind: &str = row.try_get("result_kind")?;
            Ok(match kind {
                "found" => Answer::Unchanged,
                _ => Answer::Done(outcome(row)?),
            })
        })
        .collect()
}

/// Runs batch statement `sql` ([`batch_sql`]) over `patches`; `None` when a row another
/// transaction holds made it wait `lock_timeout` (every patch then goes alone, see the module
/// doc).
async fn batch_rows(
    conn: &mut PgConnection,
    sql: &str,
    patches: &[&Patch],
) -> Result<Option<Vec<PgRow>>, sqlx::Error> {
    let values: Vec<_> = patches.iter().map(|p| p.req.values()).collect();
    let mut creds: HashMap<&Credential, i32> = HashMap::new();
    let mut cred_of = Vec::with_capacity(patches.len());
    for p in patches {
        let next = i32::try_from(creds.len() + 1).unwrap_or(i32::MAX);
        cred_of.push(*creds.entry(&p.cred).or_insert(next));
    }
    let mut by_index: Vec<(&Credential, i32)> = creds.into_iter().collect();
    by_index.sort_by_key(|(_, n)| *n);
    let ids: Vec<&str> = patches.iter().map(|p| p.id.as_str()).collect();
    let mut q = sqlx::query(sql).bind(ids);
    for (index, _) in PATCH_COLUMNS.iter() {
        let column: Vec<Option<&str>> = values.iter().map(|v| v[*index].as_text()).collect();
        q = q.bind(column);
    }
    let nows: Vec<&str> = patches.iter().map(|p| p.now.as_str()).collect();
    let expects: Vec<Option<i64>> = patches.iter().map(|p| p.expect).collect();
    let kinds: Vec<i32> = by_index
        .iter()
        .map(|(c, _)| c.kind().index() as i32)
        .collect();
    let cred_ids: Vec<&str> = by_index.iter().map(|(c, _)| c.parts().0).collect();
    let stamps: Vec<Option<i64>> = by_index.iter().map(|(c, _)| c.parts().1).collect();
    match q
        .bind(nows)
        .bind(expects)
        .bind(cred_of)
        .bind(kinds)
        .bind(cred_ids)
        .bind(stamps)
        .fetch_all(conn)
        .await
    {
        Err(e) if is_lock_unavailable(&e) => Ok(None),
        rows => rows.map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(id: &str, seq: u64) -> (Queued, oneshot::Receiver<(Patch, Answer)>) {
        let (reply, answer) = oneshot::channel();
        let patch = Patch {
            id: id.into(),
            req: PatchSession::default(),
            now: String::new(),
            expect: None,
            cred: Credential::ApiKey { key_id: "k".into() },
        };
        let q = Queued {
            patch,
            seq,
            watch: None,
            reply,
        };
        (q, answer)
    }

    #[test]
    fn a_batch_is_taken_in_arrival_order_and_sent_in_id_order() {
        // Arrange: "c" and "a" twice, "x" in flight, "b" last, and a request that went away.
        let mut receivers = Vec::new();
        let mut waiting = VecDeque::new();
        for (seq, id) in ["c", "a", "x", "a", "gone", "b"].into_iter().enumerate() {
            let (q, answer) = queued(id, seq as u64);
            waiting.push_back(q);
            if id != "gone" {
                receivers.push(answer);
            }
        }
        let in_flight = HashSet::from(["x".to_string()]);

        // Act
        let batch = take_batch(&mut waiting, &in_flight, 64);

        // Assert: one patch of each free session, by id; the rest waits in arrival order.
        let ids = |qs: &mut dyn Iterator<Item = &Queued>| {
            qs.map(|q| (q.patch.id.clone(), q.seq)).collect::<Vec<_>>()
        };
        let a = |id: &str, seq| (id.to_string(), seq);
        assert_eq!(ids(&mut batch.iter()), [a("a", 1), a("b", 5), a("c", 0)]);
        assert_eq!(ids(&mut waiting.iter()), [a("x", 2), a("a", 3)]);
    }
}
