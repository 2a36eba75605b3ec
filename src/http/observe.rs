//! Request observability and bounds: a request id (`X-Request-Id`, generated when absent,
//! echoed back), one structured log line per request, and the per-request time limit.
//! Nothing here logs headers or bodies, so passwords, keys and cookies never reach the logs.

use crate::error::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};
use tracing::Instrument;

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
    let span = tracing::info_span!("request", request_id = id.to_str().unwrap_or(""));
    let mut res = next.run(req).instrument(span).await;
    let route = res
        .extensions()
        .get::<MatchedRoute>()
        .map(|r| r.0.as_str())
        .unwrap_or("(unmatched)");
    tracing::info!(
        request_id = id.to_str().unwrap_or(""),
        method = %method,
        route,
        status = res.status().as_u16(),
        latency_ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
    res.headers_mut().insert(REQUEST_ID.clone(), id);
    res
}

/// Answers 503 when the handler has not finished within `limit`. Dropping the handler's future
/// cancels its database work; PostgreSQL's own `statement_timeout` (set to the same bound)
/// aborts a statement still running there, so its transaction is rolled back.
pub async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::service_unavailable(format!(
            "The request did not complete within {} ms",
            limit.as_millis()
        ))
        .into_response(),
    }
}
