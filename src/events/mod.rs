//! The live session feed: ServiceStack Server Events (`GET /event-stream` and its neighbours,
//! as `ServerEventsClient` of `@servicestack/client` speaks them), fed from PostgreSQL.
//!
//! - Every committed change of a session is logged by a trigger, in the change's own
//!   transaction, to `event_log` (`migrations/0008_session_events.sql`); the commit announces
//!   itself with `NOTIFY`.
//! - Each instance has one [`Hub`]: one `LISTEN` connection that, on every announcement (and
//!   every [`POLL`] in case one was lost), reads the log from where it is and fans each event
//!   out, in id order, to the bounded queues of its own subscribers.
//! - Ids come from a sequence with no lock, so a transaction may commit id 12 while 11 is
//!   still open. The reader goes in id order and stops at a gap while a transaction that was in
//!   progress when it saw the gap still is ([`final_prefix`]); a gap whose transactions all
//!   ended is a rolled-back one. Every instance thus sees one order, the same a replay reads.
//!   (Measured first with ids handed out under a transaction-wide lock, which orders commits:
//!   PATCH ran at 0.54-0.65 of its throughput without the feed, in noisy runs: the commits
//!   no longer flushed together.)
//! - Channels are account ids: a session's events go to the channel of its account, as
//!   `{accountId}@cmd.SessionChanged {SessionInfo}` (`cmd.SessionDeleted` when it is deleted).
//!   A subscriber joins only channels of accounts it may act in; `*` stands for all of them
//!   (for a SystemAdministrator: every account, now and later).
//! - Every frame carries the log position it was written at (`id:`), so a client that comes
//!   back with `Last-Event-ID` (or `?lastEventId=`) first gets what it missed, in order, then
//!   the live events; a gap the log no longer holds is announced as `cmd.onReset`.
//! - Subscriptions live in PostgreSQL, so a heartbeat, an unregistration or a channel change
//!   works on any instance; joins, leaves and updates go through the log like session events.

mod frames;
mod http;
mod quiet;
mod stream;

pub use http::{predefined, routes};

use crate::storage::events::{
    self as store, EVENTS_CHANNEL, Event, Kind, PULSE_CHANNEL, QUIET_CHANNEL,
};
use crate::storage::lease::is_connection_error;
use bytes::Bytes;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How often the log is read even without an announcement (one may be lost while the
/// listening connection is re-established).
pub const POLL: Duration = Duration::from_secs(2);
/// Events read from the log per statement.
const PAGE: i64 = 500;
/// Reads of the log on announcements are at least this far apart.
const READ_INTERVAL: Duration = Duration::from_millis(2);
/// Events one pruning statement deletes at most.
const PRUNE_BATCH: i64 = 5000;
/// How soon the log is read again while a gap in it waits for a transaction to end.
const GAP_RECHECK: Duration = Duration::from_millis(5);

/// The feed's limits and timings; see `.env.example`.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// How often clients are told to send a heartbeat (`heartbeatIntervalMs`).
    pub heartbeat_interval: Duration,
    /// A subscription without a heartbeat for this long is removed (`idleTimeoutMs`).
    pub idle_timeout: Duration,
    /// How often expired and revoked subscriptions are looked for, and the log pruned.
    pub housekeeping: Duration,
    /// Frames queued for one subscriber; a subscriber that falls this far behind is dropped
    /// (it comes back with `Last-Event-ID` and misses nothing).
    pub queue: usize,
    /// Subscriptions one user may hold, on all instances together.
    pub max_per_user: usize,
    /// Streams this instance serves.
    pub max_streams: usize,
    /// Channels one subscription may join.
    pub max_channels: usize,
    /// How long the log keeps events, i.e. how long a client may be away and still resume.
    pub retention: Duration,
    /// Most events one reconnect replays; a longer gap is a `cmd.onReset`.
    pub replay_max: usize,
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings {
            heartbeat_interval: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            housekeeping: Duration::from_secs(5),
            queue: 256,
            max_per_user: 10,
            max_streams: 1000,
            max_channels: 32,
            retention: Duration::from_secs(600),
            replay_max: 10_000,
        }
    }
}

impl EventSettings {
    /// How far ahead each renewal of the feed's lease reaches (migration 0009): the retention
    /// window after the last stream's last renewal, one housekeeping interval before it closed,
    /// and two more intervals so a late housekeeping does not let it run out.
    pub fn lease(&self) -> Duration {
        self.retention + self.housekeeping * 3
    }
}

/// What a stream's queue carries.
#[derive(Debug)]
pub(crate) enum Msg {
    /// Frames of the event with this log id, ready to write.
    Event(i64, Bytes),
    /// A `data:` line with no position of its own (a heartbeat): written at the stream's.
    Plain(Bytes),
    /// The subscription ended (unregistered, expired, revoked, or too slow).
    Close,
}

/// The channels a subscriber is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Channels {
    /// `*` of a SystemAdministrator: every account.
    All,
    Some(Vec<String>),
}

impl Channels {
    pub(crate) fn from_list(list: &[String]) -> Channels {
        if list.iter().any(|c| c == "*") {
            Channels::All
        } else {
            Channels::Some(list.to_vec())
        }
    }

    pub(crate) fn has(&self, channel: &str) -> bool {
        match self {
            Channels::All => true,
            Channels::Some(list) => list.iter().any(|c| c == channel),
        }
    }

    /// For a log read: None is every channel.
    pub(crate) fn filter(&self) -> Option<&[String]> {
        match self {
            Channels::All => None,
            Channels::Some(list) => Some(list),
        }
    }
}

/// One stream of this instance.
struct Local {
    channels: Channels,
    /// The subscriber's Meta JSON (what `cmd.onHeartbeat` carries).
    meta: String,
    tx: mpsc::Sender<Msg>,
    /// Its subscription row is stored: only then may housekeeping take a missing row for a
    /// removed subscription.
    stored: bool,
}

struct State {
    /// Every event up to here has been fanned out; None until the listener has started.
    cursor: Option<i64>,
    /// The log has a gap after the cursor: ids given to these transactions (in progress when
    /// the gap was seen) may still commit. Once none of them is in progress, the gap is void.
    waiting: Option<Vec<String>>,
    /// With no stream here the log is not read: the cursor falls behind, and the next stream
    /// first moves it to a settled head ([`Hub::settled_head`]).
    stale: bool,
    /// Counts registrations: a read filtered by the channels of the streams there were is not
    /// enough for a stream added while it ran.
    added: u64,
    streams: HashMap<String, Local>,
}

impl State {
    /// Ends this instance's stream of subscription `id`, if it has one (cleanly: its response
    /// completes).
    fn close(&mut self, id: &str) {
        if let Some(local) = self.streams.remove(id) {
            let _ = local.tx.try_send(Msg::Close);
        }
    }
}

/// One instance's side of the feed.
pub struct Hub {
    pool: PgPool,
    /// The listening connection's own pool of one (sqlx reconnects through it): the listener
    /// holds its connection for good, which must not be one of the request pool's.
    listen: PgPool,
    pub(crate) settings: EventSettings,
    state: Mutex<State>,
    ready: watch::Sender<bool>,
    stop: watch::Sender<bool>,
    /// The listener is connected, so this instance hears a renewal asking for the quiet lock.
    hearing: AtomicBool,
    /// The quiet lock (migration 0010), held while this instance has no stream and the feed's
    /// lease is over: writes then decide not to log from two lock calls. Let go when a renewal
    /// asks for it ([`QUIET_CHANNEL`]) or the listener is lost.
    quiet: tokio::sync::Mutex<quiet::Quiet>,
}

impl Hub {
    pub fn new(pool: PgPool, settings: EventSettings) -> Hub {
        let listen = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with((*pool.connect_options()).clone());
        Hub {
            pool,
            listen,
            settings,
            state: Mutex::new(State {
                cursor: None,
                waiting: None,
                stale: false,
                added: 0,
                streams: HashMap::new(),
            }),
            ready: watch::channel(false).0,
            stop: watch::channel(false).0,
            hearing: AtomicBool::new(false),
            quiet: tokio::sync::Mutex::new(quiet::Quiet::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// No stream here (the log is then not read, see [`State::stale`]).
    fn idle(&self) -> bool {
        let mut state = self.state();
        if state.streams.is_empty() {
            state.stale = true;
        }
        state.stale
    }

    /// Listens, fans out and keeps house until [`Hub::shutdown`]. Started by
    /// [`crate::server::run`].
    pub async fn run(self: std::sync::Arc<Self>) {
        let housekeeping = tokio::spawn(self.clone().keep_house());
        self.listen().await;
        let _ = housekeeping.await;
    }

    /// Ends every stream (cleanly: the response completes) and stops the listener.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
        let streams = std::mem::take(&mut self.state().streams);
        for (_, local) in streams {
            let _ = local.tx.try_send(Msg::Close);
        }
    }

    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Adds a stream; answers its queue and the position it starts at (every event after it
    /// reaches the queue). None when the feed is not listening yet or this instance is full.
    pub(crate) async fn register(
        &self,
        id: &str,
        channels: Channels,
        meta: String,
    ) -> Result<(mpsc::Receiver<Msg>, i64), Unavailable> {
        let mut ready = self.ready.subscribe();
        let started = tokio::time::timeout(Duration::from_secs(2), ready.wait_for(|r| *r));
        if !matches!(started.await, Ok(Ok(_))) {
            return Err(Unavailable::NotListening);
        }
        let stale = self.state().stale;
        let head = match stale {
            true => match tokio::time::timeout(Duration::from_secs(2), self.settled_head()).await {
                Ok(Ok(head)) => Some(head),
                _ => return Err(Unavailable::NotListening),
            },
            false => None,
        };
        let mut state = self.state();
        if let Some(head) = head
            && state.stale
        {
            state.cursor = state.cursor.max(Some(head));
            state.waiting = None;
            state.stale = false;
        }
        if *self.stop.borrow() {
            return Err(Unavailable::NotListening);
        }
        if state.streams.len() >= self.settings.max_streams {
            return Err(Unavailable::Full);
        }
        let cursor = state.cursor.ok_or(Unavailable::NotListening)?;
        let (tx, rx) = mpsc::channel(self.settings.queue.max(1));
        state.added += 1;
        state.streams.insert(
            id.to_string(),
            Local {
                channels,
                meta,
                tx,
                stored: false,
            },
        );
        Ok((rx, cursor))
    }

    /// The stream's subscription row is stored.
    pub(crate) fn stored(&self, id: &str) {
        if let Some(local) = self.state().streams.get_mut(id) {
            local.stored = true;
        }
    }

    /// Forgets a stream (it ended).
    pub(crate) fn remove(&self, id: &str) {
        self.state().streams.remove(id);
    }

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The listening loop: (re)connects, then reads the log on every announcement.
    async fn listen(&self) {
        let mut stop = self.stop.subscribe();
        let mut backoff = Duration::from_millis(100);
        loop {
            if *stop.borrow() {
                return;
            }
            let mut listener = match self.connect().await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(cause = %e, "event feed cannot listen; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            self.hearing.store(true, Ordering::Relaxed);
            self.catch_up().await;
            let mut last_read = tokio::time::Instant::now();
            let mut poll = tokio::time::interval(POLL);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                enum Woke {
                    Stop,
                    Tick,
                    Heard(Result<Option<sqlx::postgres::PgNotification>, sqlx::Error>),
                }
                let gap = self.state().waiting.is_some();
                let woke = tokio::select! {
                    _ = stop.wait_for(|s| *s) => Woke::Stop,
                    _ = poll.tick() => Woke::Tick,
                    _ = tokio::time::sleep(GAP_RECHECK), if gap => Woke::Tick,
                    n = listener.try_recv() => Woke::Heard(n),
                };
                match woke {
                    Woke::Stop => {
                        self.end_quiet().await;
                        return;
                    }
                    Woke::Heard(Ok(Some(n))) if n.channel() == PULSE_CHANNEL => {
                        self.pulse(n.payload())
                    }
                    Woke::Heard(Ok(Some(n))) if n.channel() == QUIET_CHANNEL => {
                        self.asked_for_quiet().await
                    }
                    Woke::Tick => self.catch_up().await,
                    // No stream here: nothing to read (the next stream starts at a settled
                    // head), and no timer either.
                    Woke::Heard(Ok(Some(_))) if self.idle() => {
                        if self.drain(&mut listener) {
                            self.asked_for_quiet().await;
                        }
                    }
                    Woke::Heard(Ok(Some(_))) => {
                        // Everything announced meanwhile is read by one catch-up, and reads
                        // are at least READ_INTERVAL apart: under load one read serves many
                        // commits.
                        let since = last_read.elapsed();
                        if since < READ_INTERVAL {
                            tokio::time::sleep(READ_INTERVAL - since).await;
                        }
                        last_read = tokio::time::Instant::now();
                        if self.drain(&mut listener) {
                            self.asked_for_quiet().await;
                        }
                        self.catch_up().await;
                    }
                    // The connection was lost and re-established: announcements may have been
                    // missed, the log has them.
                    Woke::Heard(Ok(None)) => {
                        tracing::info!("event feed listening again");
                        // A renewal may have asked for the quiet lock meanwhile, unheard.
                        self.end_quiet().await;
                        self.catch_up().await;
                    }
                    Woke::Heard(Err(e)) => {
                        tracing::warn!(cause = %e, "event feed lost its PostgreSQL connection");
                        // Deaf, it would keep the quiet lock from a renewal.
                        self.hearing.store(false, Ordering::Relaxed);
                        self.end_quiet().await;
                        break;
                    }
                }
            }
        }
    }

    /// A listening connection; the first one also fixes where this instance starts: at the
    /// newest id, once every transaction in progress then (which may commit a lower one) is
    /// over.
    ///
    /// What the listener holds is bounded though sqlx's notification buffer is an unbounded
    /// channel: sqlx fills that channel only when the listening connection runs a statement (as
    /// `listen_all` does here, once), while `try_recv` takes one message per call out of its
    /// read buffer (a few KB) and hands it over directly (sqlx-postgres 0.8, `PgListener::try_recv`). Announcements
    /// not yet taken wait in the socket and, past its buffer, in PostgreSQL's notification
    /// queue; `drain` empties what the `LISTEN`s buffered.
    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.listen).await?;
        listener.ignore_pool_close_event(true);
        listener
            .listen_all([EVENTS_CHANNEL, PULSE_CHANNEL, QUIET_CHANNEL])
            .await?;
        if self.state().cursor.is_none() {
            let head = self.settled_head().await?;
            self.state().cursor.get_or_insert(head);
        }
        self.ready.send_replace(true);
        Ok(listener)
    }

    /// The newest id, once every transaction of this database in progress when it was read
    /// (which may still commit a lower one) is over: a position no event can precede later.
    async fn settled_head(&self) -> Result<i64, sqlx::Error> {
        let (head, running) = store::start(self.pool()).await?;
        let mut running = store::in_progress(self.pool(), &running).await?;
        while !running.is_empty() {
            tokio::time::sleep(GAP_RECHECK).await;
            running = store::in_progress(self.pool(), &running).await?;
        }
        Ok(head)
    }

    /// Reads the log after the cursor, in id order up to the first gap that may still fill,
    /// and fans out what goes to a stream of this instance (of the rest only the ids are read).
    async fn catch_up(&self) {
        let mut unfiltered = false;
        loop {
            let (after, added, channels, subscriptions) = {
                let mut state = self.state();
                let Some(after) = state.cursor else {
                    return;
                };
                if state.streams.is_empty() {
                    state.stale = true;
                    return;
                }
                let all = state.streams.values().any(|l| l.channels == Channels::All);
                let mut channels: Vec<String> = Vec::new();
                for local in state.streams.values() {
                    if let Channels::Some(list) = &local.channels {
                        for c in list {
                            if !channels.contains(c) {
                                channels.push(c.clone());
                            }
                        }
                    }
                }
                let subscriptions: Vec<String> = state.streams.keys().cloned().collect();
                let filter = (!all && !unfiltered).then_some(channels);
                (after, state.added, filter, subscriptions)
            };
            let filter = store::Filter {
                channels: channels.as_deref(),
                subscriptions: &subscriptions,
                only_wanted: false,
            };
            let page = match store::read(self.pool(), after, i64::MAX, filter, PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(cause = %e, "event feed cannot read the log; retrying");
                    return;
                }
            };
            let full = page.events.len() as i64 == PAGE;
            let earlier = self.state().waiting.clone();
            let (ready, waiting) = final_prefix(after, earlier.as_deref(), page);
            // A gap seen for the first time waits for the transactions of this database still
            // in progress (of those running when it was read); none: the next read, whose
            // snapshot sees what they committed, decides.
            let new_gap = earlier.is_none() || !ready.is_empty();
            let waiting = match waiting {
                Some(running) if new_gap => match store::in_progress(self.pool(), &running).await {
                    Ok(ours) => Some(ours),
                    Err(e) => {
                        tracing::warn!(cause = %e, "event feed cannot read the log; retrying");
                        return;
                    }
                },
                waiting => waiting,
            };
            let last = ready.last().map_or(after, |e| e.id);
            let prepared: Vec<frames::Prepared> = ready
                .into_iter()
                .filter(|e| e.wanted)
                .map(frames::Prepared::of)
                .collect();
            let gap = waiting.is_some();
            let applied = self.fan_out(
                after,
                last,
                waiting,
                &prepared,
                channels.is_some().then_some(added),
            );
            if !applied {
                // A stream came while this read ran, maybe for a channel it left out.
                unfiltered = true;
                continue;
            }
            if !full || gap {
                return;
            }
        }
    }

    /// Hands prepared events to the queues, in order, and moves the cursor past them (unless
    /// another reader got there first).
    /// With `added`, the read was filtered by the channels of the streams there were then:
    /// if a stream was added since, nothing is done and false returned.
    fn fan_out(
        &self,
        after: i64,
        last: i64,
        waiting: Option<Vec<String>>,
        events: &[frames::Prepared],
        added: Option<u64>,
    ) -> bool {
        let mut state = self.state();
        if added.is_some_and(|a| a != state.added) {
            return false;
        }
        if state.cursor != Some(after) {
            return true;
        }
        state.waiting = waiting;
        for event in events {
            if let Some(sub) = &event.subscription {
                match event.kind {
                    Kind::Join | Kind::Update => {
                        if let Some(local) = state.streams.get_mut(sub) {
                            if let Some(now) = &event.now_channels {
                                local.channels = Channels::from_list(now);
                            }
                            if let Some(body) = &event.body {
                                local.meta.clone_from(body);
                            }
                        }
                    }
                    Kind::Leave => state.close(sub),
                    Kind::Changed | Kind::Deleted => {}
                }
            }
            // A stream whose queue refuses an event is dropped before the next one: it must
            // hold no event after one it missed, or its Last-Event-ID would skip that one.
            state.streams.retain(|id, local| {
                let Some(bytes) = event.frames_for(&local.channels) else {
                    return true;
                };
                match local.tx.try_send(Msg::Event(event.id, bytes)) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!(
                            subscription = %id,
                            "event subscriber dropped: its queue is full, it reads too slowly"
                        );
                        false
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                }
            });
        }
        state.cursor = Some(last);
        true
    }

    /// Takes what the listener has buffered: heartbeats are answered, event announcements
    /// need nothing more than the one read that follows.
    /// Answers whether a renewal asked for the quiet lock among them.
    fn drain(&self, listener: &mut PgListener) -> bool {
        let mut quiet = false;
        while let Some(n) = listener.next_buffered() {
            match n.channel() {
                PULSE_CHANNEL => self.pulse(n.payload()),
                QUIET_CHANNEL => quiet = true,
                _ => {}
            }
        }
        quiet
    }

    /// A heartbeat reached some instance: the one with the stream answers `cmd.onHeartbeat`.
    fn pulse(&self, id: &str) {
        let state = self.state();
        if let Some(local) = state.streams.get(id) {
            let _ = local
                .tx
                .try_send(Msg::Plain(frames::heartbeat(&local.meta)));
        }
    }

    /// Removes expired subscriptions (of any instance: one that died leaves its own), ends the
    /// streams whose user may no longer read their channels, and prunes the log.
    async fn keep_house(self: std::sync::Arc<Self>) {
        let mut stop = self.stop.subscribe();
        let mut tick =
            tokio::time::interval(self.settings.housekeeping.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if let Err(e) = self.sweep().await {
                tracing::warn!(cause = %e, "event housekeeping failed; retrying");
            }
        }
    }

    async fn sweep(&self) -> Result<(), sqlx::Error> {
        let expired = store::expire(self.pool(), self.settings.idle_timeout).await?;
        if !expired.is_empty() {
            tracing::info!(count = expired.len(), "event subscriptions expired");
        }
        let local: Vec<String> = self
            .state()
            .streams
            .iter()
            .filter(|(_, l)| l.stored)
            .map(|(id, _)| id.clone())
            .collect();
        if !local.is_empty() {
            // This instance streams: the feed is listened. A lease found run out (housekeeping
            // held up for longer than it lasts) may have let writes go unlogged: the streams
            // end, and their clients come back to a reset (the renewal moved the horizon).
            let renewed = async {
                // Before the transaction, so the quiet lock's holder lets it go meanwhile.
                store::nudge(self.pool()).await?;
                let mut tx = self.pool().begin().await?;
                let lapsed = store::listen(&mut tx, self.settings.lease()).await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(lapsed)
            }
            .await;
            if let Err(e) = &renewed
                && !is_connection_error(e)
            {
                // Not renewed, and not for want of PostgreSQL (which writes need as well): the
                // lease may have run out, and writes may be going unlogged meanwhile.
                tracing::warn!(
                    streams = local.len(),
                    cause = %e,
                    "the feed's lease could not be renewed; its streams end"
                );
                let mut state = self.state();
                for id in &local {
                    state.close(id);
                }
            }
            let lapsed = renewed?;
            if lapsed {
                tracing::warn!(
                    streams = local.len(),
                    "the feed's lease ran out while streaming; its streams end and resume with a reset"
                );
                let mut state = self.state();
                for id in &local {
                    state.close(id);
                }
            }
            for id in store::revoked(self.pool(), &local).await? {
                tracing::info!(subscription = %id, "event subscription revoked");
                self.state().close(&id);
                store::unregister(self.pool(), &id).await?;
            }
        }
        if self.state().streams.is_empty() {
            self.keep_quiet().await?;
        }
        // Batches until one comes back short or a second is spent: the log grows by every
        // write, and one small batch per tick would fall behind a busy server.
        let budget = tokio::time::Instant::now() + Duration::from_secs(1);
        while store::prune(self.pool(), self.settings.retention, PRUNE_BATCH).await?
            == PRUNE_BATCH as u64
            && tokio::time::Instant::now() < budget
        {}
        Ok(())
    }
}

/// The events of `page` (read after `after`) that no lower id can still precede: up to the
/// first gap a transaction in progress may yet fill, and the transactions that gap waits for.
/// `earlier`: what a gap right after `after` waited for at the last read.
fn final_prefix(
    after: i64,
    earlier: Option<&[String]>,
    page: store::Page,
) -> (Vec<Event>, Option<Vec<String>>) {
    let mut expected = after + 1;
    let mut ready = Vec::new();
    for event in page.events {
        if event.id != expected {
            // Ids in [expected, event.id) were given before this read's snapshot, to
            // transactions then in progress or over. The same gap seen before: of those it
            // waited for, the ones still in progress (a transaction begun since cannot hold
            // one of its ids).
            let running: Vec<String> = match earlier {
                Some(then) if expected == after + 1 => page
                    .in_progress
                    .iter()
                    .filter(|x| then.contains(x))
                    .cloned()
                    .collect(),
                _ => page.in_progress.clone(),
            };
            if !running.is_empty() {
                return (ready, Some(running));
            }
        }
        expected = event.id + 1;
        ready.push(event);
    }
    (ready, None)
}

/// Why a stream could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unavailable {
    NotListening,
    Full,
}

/// The log events a reader needs, for a replay.
pub(crate) async fn replay_events(
    pool: &PgPool,
    after: i64,
    upto: i64,
    channels: &Channels,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let filter = store::Filter {
        channels: channels.filter(),
        subscriptions: &[],
        only_wanted: true,
    };
    Ok(store::read(pool, after, upto, filter, limit).await?.events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(ids: &[i64], running: &[&str]) -> store::Page {
        store::Page {
            events: ids
                .iter()
                .map(|&id| Event {
                    id,
                    wanted: true,
                    kind: Kind::Changed,
                    channels: vec!["A".into()],
                    subscription: None,
                    now_channels: None,
                    body: None,
                    session: None,
                })
                .collect(),
            in_progress: running.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn ids(events: &[Event]) -> Vec<i64> {
        events.iter().map(|e| e.id).collect()
    }

    #[test]
    fn a_gap_a_running_transaction_may_fill_holds_back_what_follows() {
        let (ready, waiting) = final_prefix(10, None, page(&[11, 12, 14, 15], &["900"]));
        assert_eq!(ids(&ready), [11, 12]);
        assert_eq!(waiting, Some(vec!["900".to_string()]));
        // Without a transaction in progress a gap is void: rolled back.
        let (ready, waiting) = final_prefix(10, None, page(&[11, 12, 14, 15], &[]));
        assert_eq!(ids(&ready), [11, 12, 14, 15]);
        assert_eq!(waiting, None);
    }

    #[test]
    fn a_gap_waits_only_for_the_transactions_running_when_it_was_first_seen() {
        let then = ["900".to_string(), "901".to_string()];
        // 900 ended (rolled back: 13 never came); 950 began later and cannot hold 13.
        let (ready, waiting) = final_prefix(12, Some(&then), page(&[14, 15], &["901", "950"]));
        assert_eq!(ids(&ready), Vec::<i64>::new());
        assert_eq!(waiting, Some(vec!["901".to_string()]));
        let (ready, waiting) = final_prefix(12, Some(&then), page(&[14, 15], &["950"]));
        assert_eq!(ids(&ready), [14, 15]);
        assert_eq!(waiting, None);
        // A gap further on is new: everything running now may hold its ids.
        let (ready, waiting) = final_prefix(12, Some(&then), page(&[13, 15], &["950"]));
        assert_eq!(ids(&ready), [13]);
        assert_eq!(waiting, Some(vec!["950".to_string()]));
    }
}
