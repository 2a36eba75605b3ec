//! Request observability and bounds: a request id (`X-Request-Id`, generated when absent,
//! echoed back), one structured log line per request, and the per-request time limit.
//! Nothing here logs headers or bodies, so passwords, keys and cookies never reach the logs.

use crate::error::ApiError;
use crate::storage::lease::{self, StatementWatch};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Body as _;
use sqlx::PgPool;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route template a request matched, carried out of the router for the log line.
#[derive(Clone)]
pub struct MatchedRoute(pub String);

/// Inside the router (as a route layer): remembers which route matched.
pub async fn record_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(MatchedRoute(route));
    }
    res
}

/// A client's request id is kept when it is short, visible ASCII (it goes into logs and back
/// into a header); otherwise a new one is made.
fn request_id(req: &Request) -> HeaderValue {
    req.headers()
        .get(&REQUEST_ID)
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            // A v4 UUID from the thread's userspace generator: `Uuid::new_v4` asks the kernel
            // for randomness on every request. Request ids need uniqueness, not secrecy.
            let bytes: [u8; 16] = rand::random();
            let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
            HeaderValue::from_str(&id.to_string()).expect("a uuid is header-safe")
        })
}

/// Outermost: assigns the request id and logs one line when the response is ready.
pub async fn log_requests(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    req.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    let method = req.method().clone();
    // Everything logged while handling the request (an internal error's cause) carries its id.
    let mut res = crate::logging::with_request_id(id.clone(), next.run(req)).await;
    let route = res
        .extensions()
        .get::<MatchedRoute>()
        .map(|r| r.0.as_str())
        .unwrap_or("(unmatched)");
    // Milliseconds to two places, rounded, in integers (a float's formatting is most of the
    // cost of the line's fields).
    let hundredths = (started.elapsed().as_micros() + 5) / 10;
    tracing::info!(
        request_id = id.to_str().unwrap_or(""),
        method = %method,
        route,
        status = res.status().as_u16(),
        latency_ms = format_args!("{}.{:02}", hundredths / 100, hundredths % 100),
        "request"
    );
    res.headers_mut().insert(REQUEST_ID.clone(), id);
    res
}

/// Answers 503 when the handler has not finished within `limit` and nothing it did can still
/// take effect; a 503 from here means nothing was applied.
///
/// PostgreSQL's `statement_timeout` is set shorter than `limit`
/// ([`crate::HttpConfig::statement_timeout`]), so a statement sent early in the request is
/// cancelled by PostgreSQL (and rolled back) before this timer fires, and the handler answers
/// from what it was told. When the timer fires first:
/// - no statement was sent: the handler is dropped and 503 answered at once, or 408
///   `RequestTimeout` when it was waiting for the rest of the request's body (the client's
///   slowness, not the server's; the operation was not applied either way);
/// - a statement was sent: only PostgreSQL knows whether it committed, so the one in flight
///   is cancelled (`pg_cancel_backend`, repeated until it ends) and the handler's own answer
///   is awaited: 200 when it had committed, its 503 when it was cancelled and rolled back. If
///   PostgreSQL answers nothing for another `limit`, 504 says the outcome is unknown.
pub async fn time_limit(
    State((limit, pool)): State<(Duration, PgPool)>,
    req: Request,
    next: Next,
) -> Response {
    let arrived = req.extensions().get::<Arrived>().map(|a| a.0);
    let deadline = arrived.unwrap_or_else(tokio::time::Instant::now) + limit;
    let watch = Arc::new(StatementWatch::default());
    let (req, body) = Arriving::track(req);
    let handler = lease::watched(watch.clone(), next.run(req));
    let mut handler = std::pin::pin!(handler);
    if let Ok(res) = tokio::time::timeout_at(deadline, &mut handler).await {
        return res;
    }
    if !watch.sent() && Arriving::awaited(&body) {
        // Waiting for the client's body, not for the server: the operation was not applied.
        return ApiError::body_timeout(limit).into_response();
    }
    if !watch.sent() {
        return ApiError::service_unavailable(format!(
            "The request did not complete within {} ms",
            limit.as_millis()
        ))
        .into_response();
    }
    let give_up = deadline + limit;
    loop {
        if let Some(pid) = watch.in_flight() {
            // The handler is not polled while this runs, so its lease (and backend) stay its own.
            let cancel = tokio::time::timeout(CANCEL_WAIT, lease::cancel(&pool, pid));
            if !matches!(cancel.await, Ok(Ok(_))) {
                tracing::warn!(pid, "could not cancel a statement over the time limit");
            }
        }
        let wait = tokio::time::Instant::now() + CANCEL_REPEAT;
        if let Ok(res) = tokio::time::timeout_at(wait.min(give_up), &mut handler).await {
            return res;
        }
        if tokio::time::Instant::now() >= give_up {
            tracing::error!("a statement's outcome is unknown after twice the time limit");
            return ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "GatewayTimeout",
                "The database did not answer in time; the outcome of the request is unknown",
            )
            .into_response();
        }
    }
}

/// When the time limit of a request started, if before it was routed (a form body read for
/// the method override): the limit covers the whole request, that read included.
#[derive(Clone, Copy)]
pub struct Arrived(tokio::time::Instant);

impl Arrived {
    pub fn now() -> Self {
        Arrived(tokio::time::Instant::now())
    }
}

/// The request's body, noting whether the handler is waiting for more of it: a request that
/// runs out of time while its body is still arriving is the client's slowness (408), not the
/// server's (503).
struct Arriving {
    body: axum::body::Body,
    /// The handler asked for more of the body than has come.
    waiting: Arc<AtomicBool>,
}

impl Arriving {
    /// `req` with its body tracked, and the body's progress; a request with no body (a GET)
    /// is left as it is.
    fn track(req: Request) -> (Request, Option<Arc<AtomicBool>>) {
        if req.body().is_end_stream() {
            return (req, None);
        }
        let (parts, body) = req.into_parts();
        let waiting = Arc::new(AtomicBool::new(false));
        let body = axum::body::Body::new(Arriving {
            body,
            waiting: waiting.clone(),
        });
        (Request::from_parts(parts, body), Some(waiting))
    }

    /// The handler was waiting for more of the body.
    fn awaited(waiting: &Option<Arc<AtomicBool>>) -> bool {
        waiting.as_ref().is_some_and(|w| w.load(Ordering::Relaxed))
    }
}

impl hyper::body::Body for Arriving {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        let waiting = match &frame {
            Poll::Ready(Some(Ok(_))) => !self.body.is_end_stream(),
            Poll::Pending => true,
            // The end, or a failure (the client gone): nothing to wait for.
            Poll::Ready(_) => false,
        };
        self.waiting.store(waiting, Ordering::Relaxed);
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// How long one cancel may take, and how often it is repeated while the statement runs (a
/// cancel that arrives before the backend read the statement is ignored by PostgreSQL).
const CANCEL_WAIT: Duration = Duration::from_secs(1);
const CANCEL_REPEAT: Duration = Duration::from_millis(100);
