//! Serving: takes an already bound listener (tests bind port 0 and read the address back)
//! and a shutdown future, so nothing here sleeps or guesses ports.
//!
//! Connections are served by hyper's HTTP/1.1 connection directly (not `axum::serve`), so that
//! each one is bounded:
//! - a request head must arrive whole within `header_read_timeout` of the connection opening,
//!   or of its first byte on a kept-alive connection;
//! - a connection with no request in progress and nothing received is closed after
//!   `keepalive_idle`;
//! - a response the client takes none of for `send_timeout` (the socket full all along) closes
//!   its connection: what the response holds (a long list's permits, its buffer) is not held
//!   for a client that stopped reading; nor for one that reads a trickle to keep the timeout
//!   from running out: a response may wait for its client at most `send_timeout` in all, plus
//!   one second for every `min_send_rate` bytes the client has taken of it (see
//!   [`send_allowance`]);
//! - heads are bounded in bytes (`max_header_bytes`, also the read buffer's size, so a flood of
//!   huge heads costs at most that per connection and nothing once they close) and in count
//!   (`max_headers`); hyper answers 431 beyond them, and 400 to a head it cannot parse, each
//!   with a ServiceStack error body ([`crate::http::rejected`]);
//! - at most `max_connections` are open; at the cap the longest-waiting connection without a
//!   request in progress is closed to make room, a new connection waits up to
//!   `connection_wait` for a slot and is closed if none frees, and the cap is logged; it
//!   waits in a task of its own (at most `max(64, max_connections / 8)` wait, more are closed
//!   at once), so the accept loop never waits and keeps making room;
//! - on shutdown the listener closes, connections without a request in progress (idle,
//!   half-sent heads) close at once, and requests in progress get the drain timeout.
//!
//! HTTP/2 is not served: the ServiceStack clients speak HTTP/1.1, and one protocol keeps one
//! set of limits.

use crate::http::held::Held;
use crate::{AppState, router};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// Limits on connections; see the module documentation and `.env.example`.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub keepalive_idle: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// How long a connection over the cap waits for a slot before it is closed.
    pub connection_wait: Duration,
    /// How long a response may wait for the client to take any of it (the socket not
    /// writable) before the connection is closed.
    pub send_timeout: Duration,
    /// Bytes a second a client must take of a response it keeps waiting, over the whole
    /// response (0: no minimum, only `send_timeout` at a stretch); see [`send_allowance`].
    pub min_send_rate: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            keepalive_idle: Duration::from_secs(60),
            max_connections: 4096,
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            connection_wait: Duration::from_millis(250),
            send_timeout: Duration::from_secs(60),
            min_send_rate: 4096,
        }
    }
}

/// Raises the soft limit on open files to the hard limit; returns (soft, hard) afterwards.
#[cfg(unix)]
pub fn raise_open_file_limit() -> std::io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            lim = raised;
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every unix
    Ok((lim.rlim_cur as u64, lim.rlim_max as u64))
}

/// How much longer a response whose write just found the socket full may wait for its client:
/// `send_timeout` at a stretch, and in all (`waited` before this wait) `send_timeout` plus a
/// second for each `min_send_rate` bytes the client has `taken` of it since it first waited
/// (what went before only filled the kernel's buffers).
///
/// So a client taking at least `min_send_rate` bytes a second earns its waits as it goes (a
/// slow link is served, however long the answer), and one that reads a few bytes now and
/// then to keep `send_timeout` from running out is closed once its waits add up to about
/// `send_timeout / (1 - its rate / min_send_rate)`: it cannot hold a long list's rows, its
/// buffer and its connection for hours. The same idea as Kestrel's minimum response data
/// rate (240 bytes a second there, after a grace period); the default here, 4 KiB a second,
/// is still below any link a client of this API is used over.
pub fn send_allowance(limits: &ConnectionLimits, taken: u64, waited: Duration) -> Duration {
    if limits.min_send_rate == 0 {
        return limits.send_timeout;
    }
    let earned = Duration::try_from_secs_f64(taken as f64 / limits.min_send_rate as f64)
        .unwrap_or(Duration::MAX);
    let left = limits
        .send_timeout
        .saturating_add(earned)
        .saturating_sub(waited);
    limits.send_timeout.min(left)
}

/// `now + d`, or a year from now when that would overflow (a `send_timeout` of
/// `Duration::MAX` set in code).
fn far(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// What a connection's watchdog needs to know about it.
#[derive(Debug)]
struct ConnState {
    inner: Mutex<ConnInner>,
    /// Asks the connection to close as soon as it has no request in progress.
    evict: Notify,
    /// Requests started on the connection (a response's writes are counted from its own).
    requests: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct ConnInner {
    in_flight: usize,
    /// When the connection opened, or its last response was handed to hyper.
    waiting_since: Instant,
    /// First byte received while no request was in progress (a head arriving).
    head_started: Option<Instant>,
    /// A write has found the socket full, with nothing written since (the client is not
    /// taking its response): when the connection closes if that goes on ([`send_allowance`]).
    send_deadline: Option<Instant>,
    served: u64,
}

impl ConnInner {
    /// A request in progress, or a response whose write waits for the client: hyper drops a
    /// small response's body (and with it the request's [`InFlight`]) once its last frame is
    /// buffered, before the bytes are on their way, so a response still being written may
    /// count no request in progress.
    fn busy(&self) -> bool {
        self.in_flight > 0 || self.send_deadline.is_some()
    }
}

impl ConnState {
    fn new() -> Self {
        ConnState {
            inner: Mutex::new(ConnInner {
                in_flight: 0,
                waiting_since: Instant::now(),
                head_started: None,
                send_deadline: None,
                served: 0,
            }),
            evict: Notify::new(),
            requests: AtomicU64::new(0),
        }
    }

    fn get(&self) -> ConnInner {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes only ever happen while the connection's own task polls it (hyper reads the
    /// socket, calls the service and drops its futures there), so the [`Watchdog`] sees each
    /// one when that poll returns: no wake-up is needed, and none is sent.
    fn update(&self, f: impl FnOnce(&mut ConnInner)) {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// When the watchdog must act if nothing changes, and why: the send deadline while a
    /// write waits for the client (whether or not its request still counts as in progress:
    /// see [`ConnInner::busy`]), else nothing while a request is in progress, else the header
    /// or idle timeout.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, Ended)> {
        let s = self.get();
        if let Some(t) = s.send_deadline {
            return Some((t, Ended::SendTimeout));
        }
        if s.in_flight > 0 {
            return None;
        }
        let idle = match s.head_started {
            // A head on a kept-alive connection: the header timeout from its first byte.
            Some(t) if s.served > 0 => t + limits.header_read_timeout,
            // The first head: the header timeout from the connection opening.
            Some(_) => s.waiting_since + limits.header_read_timeout,
            None if s.served == 0 => {
                s.waiting_since + limits.header_read_timeout.min(limits.keepalive_idle)
            }
            None => s.waiting_since + limits.keepalive_idle,
        };
        Some((idle, Ended::Idle))
    }
}

/// The socket, noting in its [`ConnState`] when a head starts to arrive and when a write
/// finds it full.
struct Watched {
    tcp: TcpStream,
    state: Arc<ConnState>,
    limits: Arc<ConnectionLimits>,
    /// The request whose response is being written (its number in `state.requests`), how
    /// many bytes of it the client has taken since a write of it first found the socket full
    /// (before that they only filled the kernel's buffers, which a client that reads nothing
    /// also gets), and how long it has waited for the client; `taken` is `None` until then.
    response: u64,
    taken: Option<u64>,
    waited: Duration,
    /// A write found the socket full and none has gone through since (kept here too, so a
    /// write that goes through touches the shared state only when it was).
    blocked: Option<Instant>,
    /// hyper's refusal of a head, rewritten ([`crate::http::rejected`]), and how much of it
    /// has been sent: hyper was told all of its own was written.
    refusal: Option<(Vec<u8>, usize)>,
}

impl Watched {
    fn new(tcp: TcpStream, state: Arc<ConnState>, limits: Arc<ConnectionLimits>) -> Self {
        Watched {
            tcp,
            state,
            limits,
            response: 0,
            taken: None,
            waited: Duration::ZERO,
            blocked: None,
            refusal: None,
        }
    }

    /// hyper writing its own refusal of a head (no request in progress): takes it, rewritten,
    /// and answers how many of hyper's bytes count as written.
    fn take_refusal(&mut self, buf: &[u8]) -> Option<usize> {
        if !crate::http::rejected::may_be_refusal(buf) || self.state.get().in_flight > 0 {
            return None;
        }
        let rewritten = crate::http::rejected::replace(buf, &self.limits)?;
        self.refusal = Some((rewritten, 0));
        Some(buf.len())
    }

    /// Sends what is left of a rewritten refusal, before anything else.
    fn poll_refusal(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while let Some((bytes, sent)) = &mut self.refusal {
            if *sent == bytes.len() {
                self.refusal = None;
                break;
            }
            match Pin::new(&mut self.tcp).poll_write(cx, &bytes[*sent..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => *sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// A write of hyper's: a refusal is taken and sent rewritten (the rest of it, if the
    /// socket is full, by the flush hyper calls next).
    fn poll_written(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Option<Poll<std::io::Result<usize>>> {
        match self.poll_refusal(cx) {
            Poll::Ready(Ok(())) => {}
            other => return Some(other.map(|r| r.map(|()| 0))),
        }
        let n = self.take_refusal(buf)?;
        Some(match self.poll_refusal(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(n)),
        })
    }

    /// Notes how a write went: pending starts the wait for the client (until the deadline of
    /// [`send_allowance`]), progress ends it.
    fn wrote(&mut self, res: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
        let response = self.state.requests.load(Ordering::Relaxed);
        if response != self.response {
            (self.response, self.taken, self.waited) = (response, None, Duration::ZERO);
        }
        match (&res, self.blocked) {
            (Poll::Pending, None) => {
                let now = Instant::now();
                self.blocked = Some(now);
                let taken = *self.taken.get_or_insert(0);
                let deadline = far(now, send_allowance(&self.limits, taken, self.waited));
                self.state.update(|s| s.send_deadline = Some(deadline));
            }
            (Poll::Ready(done), blocked) => {
                if let (Ok(n), Some(taken)) = (done, self.taken.as_mut()) {
                    *taken += *n as u64;
                }
                if let Some(since) = blocked {
                    self.blocked = None;
                    self.waited += since.elapsed();
                    self.state.update(|s| s.send_deadline = None);
                }
            }
            _ => {}
        }
        res
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            let s = self.state.get();
            if s.in_flight == 0 && s.head_started.is_none() {
                self.state.update(|s| s.head_started = Some(Instant::now()));
            }
        }
        res
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(done) = self.poll_written(cx, buf) {
            return done;
        }
        let res = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.wrote(res)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_refusal(cx))?;
        Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_refusal(cx))?;
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        // hyper's refusal is a head alone, one slice: anything else is written as it is (after
        // what is left of a refusal).
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        let only = match (filled.next(), filled.next()) {
            (Some(one), None) => Some(&one[..]),
            _ => None,
        };
        if (self.refusal.is_some() || only.is_some())
            && let Some(done) = self.poll_written(cx, only.unwrap_or_default())
        {
            return done;
        }
        let res = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.wrote(res)
    }
    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Counts a request in progress on its connection until dropped (also when hyper drops the
/// handler because the client went away).
struct InFlight(Arc<ConnState>);

impl InFlight {
    fn start(state: &Arc<ConnState>) -> Self {
        state.requests.fetch_add(1, Ordering::Relaxed);
        state.update(|s| {
            s.in_flight += 1;
            s.head_started = None;
        });
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|s| {
            s.in_flight -= 1;
            s.served += 1;
            s.waiting_since = Instant::now();
        });
    }
}

/// Why a watched connection ended other than by finishing.
enum Ended {
    /// It sat past its deadline with no request in progress.
    Idle,
    /// The client took none of its response for the send timeout.
    SendTimeout,
    Failed(hyper::Error),
}

/// A connection and its deadline in one future, polled by the connection's task.
///
/// After every poll of the connection it re-reads the [`ConnState`] (a request may have
/// started or ended, a head begun) and moves its one timer only when the deadline moved; a
/// request in progress leaves it unarmed. Measured: a `Notify` per change (three a request)
/// woke the task three extra times and often another worker thread with it.
struct Watchdog<C> {
    conn: Pin<Box<C>>,
    state: Arc<ConnState>,
    limits: Arc<ConnectionLimits>,
    timer: Pin<Box<tokio::time::Sleep>>,
    closing: bool,
}

impl<I, S> Watchdog<hyper::server::conn::http1::Connection<I, S>>
where
    S: hyper::service::HttpService<hyper::body::Incoming>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S::ResBody: hyper::body::Body + 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// Lets the request in progress finish, then closes; only the send timeout still applies.
    fn close_gracefully(&mut self) {
        self.closing = true;
        self.conn.as_mut().graceful_shutdown();
    }
}

impl<C: Future<Output = hyper::Result<()>>> Future for Watchdog<C> {
    type Output = Result<(), Ended>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(done) = this.conn.as_mut().poll(cx) {
            return Poll::Ready(done.map_err(Ended::Failed));
        }
        // Closing, only the send timeout still applies: the request in progress finishes, but
        // not for a client that stopped taking its response.
        let deadline = match this.state.deadline(&this.limits) {
            Some((_, Ended::Idle)) if this.closing => None,
            deadline => deadline,
        };
        let Some((deadline, why)) = deadline else {
            return Poll::Pending;
        };
        if deadline != this.timer.deadline() {
            this.timer.as_mut().reset(deadline);
        }
        match this.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(why)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The open connections, for making room at the cap.
struct Registry {
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
    next: AtomicU64,
    at_cap: AtomicBool,
    /// New connections over the cap waiting for a slot.
    waiting: AtomicUsize,
}

impl Registry {
    /// Asks the longest-waiting connection without a request in progress to close.
    fn evict_one(&self) -> bool {
        let conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let victim = conns
            .values()
            .map(|c| (c, c.get()))
            .filter(|(_, s)| !s.busy())
            .min_by_key(|(_, s)| s.head_started.unwrap_or(s.waiting_since));
        match victim {
            Some((c, _)) => {
                c.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Serves the API on `listener` until `shutdown` completes, then lets in-flight requests finish.
///
/// After `shutdown`, the listener stops accepting at once, connections without a request in
/// progress close at once, and requests already being handled get the configured drain
/// timeout to finish, after which the server returns anyway. Also runs the periodic sweep
/// ([`crate::sweep`]) while serving.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let drain = state.config.drain_timeout;
    let limits = Arc::new(state.config.connections.clone());
    let max = limits.max_connections.max(1);
    let (stop_tx, stop_rx) = watch::channel(false);
    if let Some(interval) = state.config.sweep_interval {
        tokio::spawn(crate::sweep::run(state.clone(), interval, stop_rx.clone()));
    }
    let trusted: Arc<[std::net::IpAddr]> = state.config.trusted_proxies.clone().into();
    let events = state.events.clone();
    let feed = tokio::spawn(events.clone().run());
    let app = router(state);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        .max_headers(limits.max_headers)
        .max_header_size(limits.max_header_bytes)
        // The read buffer never grows past what a head may need (hyper's floor is 8 KiB).
        .max_buf_size(limits.max_header_bytes.max(8192))
        // hyper's own head timeout (30 s by default once a timer is set) must never fire
        // before the watchdog's, which tells the first head from a kept-alive one.
        .header_read_timeout(
            limits.header_read_timeout.max(limits.keepalive_idle) + Duration::from_secs(1),
        );
    let slots = Arc::new(Semaphore::new(max));
    let registry = Arc::new(Registry {
        conns: Mutex::new(HashMap::new()),
        next: AtomicU64::new(0),
        at_cap: AtomicBool::new(false),
        waiting: AtomicUsize::new(0),
    });
    let max_waiting = (max / 8).max(64);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or the like: back off instead of spinning.
                    tracing::warn!(cause = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (tcp, peer) = tcp;
        // A connection over the cap waits for a slot in a task of its own, so the accept loop
        // goes on (and goes on making room) whatever the connections it holds do; at most
        // `max_waiting` wait, the rest are closed at once.
        let permit = slots.clone().try_acquire_owned().ok();
        if permit.is_none() {
            if !registry.at_cap.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    max_connections = max,
                    "connection limit reached; closing idle connections to make room"
                );
            }
            registry.evict_one();
            if registry.waiting.fetch_add(1, Ordering::Relaxed) >= max_waiting {
                registry.waiting.fetch_sub(1, Ordering::Relaxed);
                tracing::debug!("too many connections waiting for a slot; closing a new one");
                continue;
            }
        } else if slots.available_permits() > max / 10
            && registry.at_cap.swap(false, Ordering::Relaxed)
        {
            tracing::info!("connections below the limit again");
        }
        let (app, builder, limits, registry, trusted, slots) = (
            app.clone(),
            builder.clone(),
            limits.clone(),
            registry.clone(),
            trusted.clone(),
            slots.clone(),
        );
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = match permit {
                Some(p) => p,
                None => {
                    let got =
                        tokio::time::timeout(limits.connection_wait, slots.acquire_owned()).await;
                    registry.waiting.fetch_sub(1, Ordering::Relaxed);
                    match got {
                        Ok(Ok(p)) => p,
                        _ => {
                            tracing::debug!(
                                "no connection slot freed in time; closing a new connection"
                            );
                            return;
                        }
                    }
                }
            };
            // Responses are small and the client waits for each: send them at once (no Nagle
            // delay).
            let _ = tcp.set_nodelay(true);
            let conn_state = Arc::new(ConnState::new());
            let id = registry.next.fetch_add(1, Ordering::Relaxed);
            registry
                .conns
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, conn_state.clone());
            let io = TokioIo::new(Watched::new(tcp, conn_state.clone(), limits.clone()));
            let svc_state = conn_state.clone();
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    let guard = InFlight::start(&svc_state);
                    let client = ClientAddr::of(peer.ip(), req.headers(), &trusted);
                    req.extensions_mut().insert(client);
                    let app = app.clone();
                    async move {
                        // The request is in progress until its body is sent: a streamed answer
                        // (the event stream) is not an idle connection.
                        let res = app.oneshot(req.map(axum::body::Body::new)).await;
                        res.map(|res| {
                            // The request counts as in progress until its body is sent.
                            res.map(|body| Held::new(body, guard))
                        })
                    }
                },
            );
            let conn = builder.serve_connection(io, service);
            let mut watched = Watchdog {
                conn: Box::pin(conn),
                state: conn_state.clone(),
                limits,
                timer: Box::pin(tokio::time::sleep_until(Instant::now())),
                closing: false,
            };
            loop {
                tokio::select! {
                    end = &mut watched => {
                        match end {
                            Ok(()) => {}
                            Err(Ended::Idle) => {
                                // No request in progress: dropping the connection loses
                                // nothing. (hyper's graceful shutdown would wait for a
                                // half-sent head.)
                                tracing::debug!("closing a connection that sent no complete request in time");
                            }
                            Err(Ended::SendTimeout) => {
                                tracing::info!(
                                    send_timeout_ms = watched.limits.send_timeout.as_millis() as u64,
                                    min_send_rate = watched.limits.min_send_rate,
                                    "closing a connection whose client did not take its response in time"
                                );
                            }
                            Err(Ended::Failed(e)) => {
                                tracing::debug!(cause = %e, "connection ended with an error");
                            }
                        }
                        break;
                    }
                    () = conn_state.evict.notified(), if !watched.closing => {
                        if !conn_state.get().busy() {
                            break;
                        }
                        watched.close_gracefully();
                    }
                    _ = stop.wait_for(|s| *s), if !watched.closing => {
                        if !conn_state.get().busy() {
                            break;
                        }
                        watched.close_gracefully();
                    }
                }
            }
            registry
                .conns
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Event streams never end by themselves: end them, so their connections can close.
    events.shutdown();
    // Every connection returns its slot when it ends.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("drain timeout reached; abandoning requests still in flight");
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), feed).await;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

/// The address a request came from: the TCP peer, or, when the peer is one of the configured
/// trusted proxies, the nearest address in `X-Forwarded-For` that is not (a client can put
/// anything in the header, so only the hops added by trusted proxies are believed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

impl ClientAddr {
    pub fn of(
        peer: std::net::IpAddr,
        headers: &hyper::HeaderMap,
        trusted: &[std::net::IpAddr],
    ) -> ClientAddr {
        if !trusted.contains(&peer) {
            return ClientAddr(peer);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        // From the nearest hop outwards; a hop that is not a plain address ends the walk (what
        // lies beyond it may be the client's own writing), and the peer is used.
        for hop in hops.iter().rev() {
            match hop.trim().parse::<std::net::IpAddr>() {
                Ok(ip) if trusted.contains(&ip) => continue,
                Ok(ip) => return ClientAddr(ip),
                Err(_) => break,
            }
        }
        ClientAddr(peer)
    }
}

#[cfg(test)]
mod client_addr_tests {
    use super::ClientAddr;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_are_believed_about_the_client() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.9, 10.0.0.2".parse().unwrap(),
        );
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // From a trusted proxy: the nearest hop that is not a proxy.
        assert_eq!(
            ClientAddr::of(ip("10.0.0.1"), &headers, &trusted).0,
            ip("203.0.113.9")
        );
        // From anyone else: the peer, whatever the header says.
        assert_eq!(
            ClientAddr::of(ip("198.51.100.7"), &headers, &trusted).0,
            ip("198.51.100.7")
        );
        assert_eq!(
            ClientAddr::of(ip("10.0.0.1"), &hyper::HeaderMap::new(), &trusted).0,
            ip("10.0.0.1")
        );
        // A hop a trusted proxy wrote with a port (or `unknown`) ends the walk: the peer.
        let mut odd = hyper::HeaderMap::new();
        odd.insert("x-forwarded-for", "203.0.113.9, unknown".parse().unwrap());
        assert_eq!(
            ClientAddr::of(ip("10.0.0.1"), &odd, &trusted).0,
            ip("10.0.0.1")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(min_send_rate: u64) -> ConnectionLimits {
        ConnectionLimits {
            send_timeout: Duration::from_secs(60),
            min_send_rate,
            ..ConnectionLimits::default()
        }
    }

    #[test]
    fn a_response_waits_the_send_timeout_in_all_plus_what_its_taken_bytes_earn() {
        let s = Duration::from_secs;
        let l = limits(4096);
        // A first wait: the send timeout.
        assert_eq!(send_allowance(&l, 0, Duration::ZERO), s(60));
        // 50 s waited in short stretches, 8 KiB taken (2 s earned): 12 s left.
        assert_eq!(send_allowance(&l, 8192, s(50)), s(12));
        // Waited past what it had: nothing left.
        assert_eq!(send_allowance(&l, 4096, s(70)), Duration::ZERO);
        // A client keeping up earns more than it waits, but a wait is still at most the
        // send timeout at a stretch.
        assert_eq!(send_allowance(&l, 4096 * 1000, s(500)), s(60));
        // No minimum rate: the send timeout at a stretch, however long it waited before.
        assert_eq!(send_allowance(&limits(0), 0, s(10_000)), s(60));
        // Limits set in code to the extreme neither overflow nor panic.
        let huge = ConnectionLimits {
            send_timeout: Duration::MAX,
            min_send_rate: 1,
            ..ConnectionLimits::default()
        };
        assert_eq!(
            send_allowance(&huge, u64::MAX, Duration::ZERO),
            Duration::MAX
        );
        let now = Instant::now();
        assert!(far(now, Duration::MAX) > now + s(364 * 24 * 3600));
    }
}
