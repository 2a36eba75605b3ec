//! `GET /event-stream?channels=a,b`: one subscription's stream. It opens with `cmd.onConnect`
//! (the subscription and the URLs to keep it alive), then what a returning client missed, then
//! the live events; it ends when the subscription does, or the server shuts down.

use super::{Channels, Hub, Msg, Unavailable, frames, replay_events};
use crate::AppState;
use crate::auth;
use crate::contract::operations as paths;
use crate::error::{ApiError, Result};
use crate::storage::auth::UserInfo;
use crate::storage::events::{self as store, NewSubscription, Refused};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

pub async fn event_stream(State(state): State<AppState>, req: Request) -> Result<Response> {
    let (mut parts, _) = req.into_parts();
    let (principal, user) = super::http::signed_in(&state, &mut parts).await?;
    let hub = state.events.clone();
    let query = parts.uri.query().unwrap_or("");
    let channels = super::http::allowed(&hub, &user, requested_channels(query)?)?;
    let since = last_event_id(&parts.headers, query);

    let id = auth::random_hex(16);
    let display_name = user
        .display_name
        .clone()
        .unwrap_or_else(|| user.email.clone());
    let meta = meta(&user, &display_name, &channels);
    let (rx, at) = hub
        .register(&id, Channels::from_list(&channels), meta.clone())
        .await
        .map_err(|why| match why {
            Unavailable::NotListening => {
                ApiError::service_unavailable("The event feed is not listening yet; retry shortly")
            }
            Unavailable::Full => ApiError::service_unavailable(
                "This server holds as many event streams as it may; retry shortly",
            ),
        })?;
    // From here on the stream is registered: dropping the guard undoes it.
    let guard = Registered {
        hub: hub.clone(),
        id: id.clone(),
    };
    let address = auth::client_of(&parts);
    let new = NewSubscription {
        id: &id,
        user_id: &user.id,
        user_name: &user.email,
        display_name: &display_name,
        user_address: &address,
        channels: &channels,
        meta: &meta,
        credential: &principal.credential,
    };
    let max = i64::try_from(hub.settings.max_per_user).unwrap_or(i64::MAX);
    if let Err(Refused::TooMany) =
        store::subscribe(&state.pool, &new, max, hub.settings.lease()).await?
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManySubscriptions",
            format!("A user may hold {max} event subscriptions at once"),
        ));
    }
    hub.stored(&id);
    let (position, missed) = catch_up(&state, &hub, since, at, &channels).await?;
    let mut first = BytesMut::new();
    first.extend_from_slice(&connect_frame(&hub, &parts, &id, &meta, position));
    first.extend_from_slice(&missed);
    let feed = Feed {
        first: Some(first.freeze()),
        rx,
        position,
        stop: hub.stopping(),
        _guard: guard,
    };
    let body = Body::from_stream(futures_util::stream::unfold(feed, Feed::next));
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        body,
    )
        .into_response())
}

/// `?channels=a,b` and ServiceStack's older `?channel=a,b`, together; a name that is not UTF-8
/// is a 400 (decoded lossily, it would name a channel nobody asked for).
fn requested_channels(query: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (k, v) in crate::http::decoded_pairs(query.as_bytes(), false)? {
        if k.eq_ignore_ascii_case("channels") || k.eq_ignore_ascii_case("channel") {
            out.extend(v.split(',').filter(|c| !c.is_empty()).map(str::to_string));
        }
    }
    Ok(out)
}

/// Where a returning client was: `Last-Event-ID` (EventSource sends it when it reconnects),
/// or `?lastEventId=` (for clients that cannot set headers). Some(None): it sent something
/// that is not a position of this server's log.
fn last_event_id(headers: &HeaderMap, query: &str) -> Option<Option<i64>> {
    let header = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("").trim().to_string());
    let query = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("lastEventId"))
        .map(|(_, v)| v.trim().to_string());
    let text = header.or(query).filter(|t| !t.is_empty())?;
    Some(text.parse::<i64>().ok().filter(|n| *n >= 0))
}

/// ServiceStack's subscription Meta (every value a string).
fn meta(user: &UserInfo, display_name: &str, channels: &[String]) -> String {
    let created = chrono::Utc::now().timestamp_millis().to_string();
    frames::string_map(&[
        ("userId", &user.id),
        ("isAuthenticated", "true"),
        ("displayName", display_name),
        ("channels", &channels.join(",")),
        ("createdAt", &created),
        ("userName", &user.email),
    ])
}

/// `cmd.onConnect`: the Meta and where to send heartbeats, unregister and change channels.
fn connect_frame(hub: &Hub, parts: &Parts, id: &str, meta: &str, position: i64) -> Bytes {
    let base = base_url(parts);
    let heartbeat = format!("{base}{}?id={id}", paths::EVENT_HEARTBEAT);
    let unregister = format!("{base}{}?id={id}", paths::EVENT_UNREGISTER);
    let update = format!("{base}{}", paths::EVENT_SUBSCRIBER.replace("{id}", id));
    let interval = hub.settings.heartbeat_interval.as_millis().to_string();
    let idle = hub.settings.idle_timeout.as_millis().to_string();
    let args = frames::extend_map(
        meta,
        &[
            ("id", id),
            ("unRegisterUrl", &unregister),
            ("heartbeatUrl", &heartbeat),
            ("updateSubscriberUrl", &update),
            ("heartbeatIntervalMs", &interval),
            ("idleTimeoutMs", &idle),
        ],
    );
    frames::frame(Some(position), "cmd.onConnect", args.as_bytes())
}

/// The absolute URL of this server as the client reached it.
fn base_url(parts: &Parts) -> String {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let https = parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// What a client returning from `since` missed, up to `at` (where its queue starts); answers
/// the position the stream goes on from and the frames to write first.
async fn catch_up(
    state: &AppState,
    hub: &Hub,
    since: Option<Option<i64>>,
    at: i64,
    channels: &[String],
) -> Result<(i64, Vec<u8>)> {
    let reset = |last: &str, reason: &str| {
        let body = frames::string_map(&[("lastEventId", last), ("reason", reason)]);
        (
            at,
            frames::frame(Some(at), "cmd.onReset", body.as_bytes()).to_vec(),
        )
    };
    let since = match since {
        None => return Ok((at, Vec::new())),
        Some(None) => return Ok(reset("", "not a position of this feed")),
        Some(Some(n)) => n,
    };
    let last = since.to_string();
    if since < store::pruned_through(&state.pool).await? {
        return Ok(reset(&last, "older than the events this feed keeps"));
    }
    if since >= at {
        // Another instance may be ahead of this one; past the newest event, it is not ours.
        if since > store::head(&state.pool).await? {
            return Ok(reset(&last, "not a position of this feed"));
        }
        return Ok((since, Vec::new()));
    }
    let max = hub.settings.replay_max;
    let channels = Channels::from_list(channels);
    let events = replay_events(&state.pool, since, at, &channels, max as i64 + 1).await?;
    if events.len() > max {
        return Ok(reset(
            &last,
            "more events were missed than one reconnect replays",
        ));
    }
    let mut out = Vec::new();
    for event in events {
        if let Some(f) = frames::Prepared::of(event).frames_for(&channels) {
            out.extend_from_slice(&f);
        }
    }
    Ok((at, out))
}

/// Undoes a registration when the stream ends, however it ends: forgets the local stream and
/// removes the subscription (its leave event tells the channels).
struct Registered {
    hub: Arc<Hub>,
    id: String,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.hub.remove(&self.id);
        let pool = self.hub.pool().clone();
        let id = std::mem::take(&mut self.id);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store::unregister(&pool, &id).await {
                    tracing::warn!(cause = %e, subscription = %id, "could not unregister; it will expire");
                }
            });
        }
    }
}

/// The body: the opening frames, then the queue, until the subscription or the server ends.
struct Feed {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Msg>,
    position: i64,
    stop: watch::Receiver<bool>,
    _guard: Registered,
}

impl Feed {
    async fn next(
        mut self,
    ) -> Option<(std::result::Result<Bytes, std::convert::Infallible>, Feed)> {
        if let Some(first) = self.first.take() {
            return Some((Ok(first), self));
        }
        loop {
            let msg = tokio::select! {
                msg = self.rx.recv() => msg?,
                _ = self.stop.wait_for(|s| *s) => return None,
            };
            match msg {
                // Already written (replayed, or before the position a client came back at).
                Msg::Event(id, _) if id <= self.position => continue,
                Msg::Event(id, bytes) => {
                    self.position = id;
                    return Some((Ok(bytes), self));
                }
                Msg::Plain(bytes) => return Some((Ok(frames::at(self.position, &bytes)), self)),
                Msg::Close => return None,
            }
        }
    }
}
