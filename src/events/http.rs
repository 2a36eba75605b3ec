//! The routes of the feed besides the stream: heartbeats, unregistering, changing channels and
//! listing subscribers, by ServiceStack's paths and by the predefined routes
//! `ServerEventsClient` uses (`/api/UpdateEventSubscriber`, `/api/GetEventSubscribers`).
//!
//! A heartbeat, an unregistration and a channel change name the subscription by its id, which
//! only its stream was told, and must come from the stream's address (ServiceStack's
//! `ValidateUserAddress`); they need no credentials (the JS client sends none with them).
//! Listing subscribers shows who is on a channel, so it needs a user who may join it.

use super::{Hub, stream};
use crate::AppState;
use crate::auth::{self, Principal, SYSTEM_ADMINISTRATOR};
use crate::contract::WireType;
use crate::contract::events::{
    GetEventSubscribers, UpdateEventSubscriber, UpdateEventSubscriberResponse,
};
use crate::contract::operations as paths;
use crate::error::{ApiError, Result};
use crate::http::{Binding, RequestInput};
use crate::storage::auth::{self as users, UserInfo};
use crate::storage::events::{self as store, Subscription};
use crate::wire::{self, Format};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

/// Most subscribers one GetEventSubscribers lists.
const MAX_LISTED: i64 = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::EVENT_STREAM, get(stream::event_stream))
        .route(paths::EVENT_HEARTBEAT, any(heartbeat))
        .route(paths::EVENT_UNREGISTER, any(unregister))
        .route(paths::EVENT_SUBSCRIBERS, get(subscribers_route))
        .route(paths::EVENT_SUBSCRIBER, post(update_route))
}

/// The feed's operations on the predefined routes; the request back when `name` is not one
/// of them.
pub async fn predefined(
    name: &str,
    state: &AppState,
    format: Format,
    req: Request,
) -> std::result::Result<Result<Response>, Request> {
    if name.eq_ignore_ascii_case("UpdateEventSubscriber") {
        Ok(update(state, format, req, Binding::Predefined).await)
    } else if name.eq_ignore_ascii_case("GetEventSubscribers") {
        Ok(subscribers(state, format, req, Binding::Predefined).await)
    } else {
        Err(req)
    }
}

/// The channels a user may join of those asked for: each must be an account the user acts in
/// (a SystemAdministrator: any); none, or `*`, means all of the user's accounts (for a
/// SystemAdministrator, `*` stays: every account).
pub(crate) fn allowed(hub: &Hub, user: &UserInfo, asked: Vec<String>) -> Result<Vec<String>> {
    let admin = user.roles.iter().any(|r| r == SYSTEM_ADMINISTRATOR);
    let accounts: Vec<String> = user.accounts.iter().map(|(id, _)| id.clone()).collect();
    scope(hub, admin, &accounts, asked)
}

fn scope(hub: &Hub, admin: bool, accounts: &[String], asked: Vec<String>) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let everything = asked.is_empty() || asked.iter().any(|c| c == "*");
    for channel in asked.into_iter().filter(|c| c != "*") {
        check_name(&channel)?;
        if !admin && !accounts.contains(&channel) {
            return Err(ApiError::forbidden(format!(
                "You may not join channel '{channel}': it is not an account you act in"
            )));
        }
        if !out.contains(&channel) {
            out.push(channel);
        }
    }
    if everything {
        if admin {
            out = vec!["*".to_string()];
        } else {
            for a in accounts {
                if !out.contains(a) {
                    out.push(a.clone());
                }
            }
        }
    }
    if out.is_empty() {
        return Err(ApiError::forbidden(
            "You act in no account: there is no channel you may join",
        ));
    }
    at_most_channels(hub, "channels", &out)?;
    Ok(out)
}

/// A subscription's channels within the limit; `field` names the request member.
fn at_most_channels(hub: &Hub, field: &str, channels: &[String]) -> Result<()> {
    let max = hub.settings.max_channels;
    if channels.len() > max {
        return Err(ApiError::validation(
            field,
            "InvalidLength",
            format!("At most {max} channels per subscription"),
        ));
    }
    Ok(())
}

/// The caller and who they are now, or 401: the stream and the subscriber list need both.
pub(crate) async fn signed_in(
    state: &AppState,
    parts: &mut Parts,
) -> Result<(Principal, UserInfo)> {
    let principal = Principal::from_request_parts(parts, state).await?;
    let user = users::resolve(&state.pool, &principal.credential)
        .await?
        .ok_or_else(|| ApiError::unauthorized("Not Authenticated"))?;
    Ok((principal, user))
}

/// ServiceStack's answer for a subscription id it does not know.
fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("Subscription '{id}' does not exist"))
}

/// A channel name as ServiceStack allows one (no separators), of a sensible length.
fn check_name(channel: &str) -> Result<()> {
    let ok = channel.len() <= 128
        && !channel.is_empty()
        && !channel
            .chars()
            .any(|c| c == ',' || c == '@' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(
            "channels",
            "InvalidChannel",
            "A channel is 1 to 128 characters with no space, comma or '@'",
        ))
    }
}

/// The subscription `id` names, if the request comes from where its stream does.
async fn owned(state: &AppState, parts: &Parts, id: Option<&str>) -> Result<Subscription> {
    let id = id.unwrap_or("");
    if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
        return Err(missing(id));
    }
    let sub = store::find(&state.pool, id)
        .await?
        .ok_or_else(|| missing(id))?;
    let from = auth::client_of(parts);
    if sub
        .user_address
        .as_deref()
        .is_some_and(|a| !a.is_empty() && a != from)
    {
        return Err(ApiError::forbidden("Invalid User Address"));
    }
    Ok(sub)
}

fn query_id(parts: &Parts) -> Option<String> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .map(|(_, v)| v.into_owned())
}

/// `POST /event-heartbeat?id=`: keeps the subscription alive; its stream gets
/// `cmd.onHeartbeat`, whichever instance holds it.
async fn heartbeat(State(state): State<AppState>, req: Request) -> Result<Response> {
    let (parts, _) = req.into_parts();
    let id = query_id(&parts);
    let sub = owned(&state, &parts, id.as_deref()).await?;
    if !store::pulse(&state.pool, &sub.id).await? {
        return Err(missing(&sub.id));
    }
    Ok(StatusCode::OK.into_response())
}

/// `/event-unregister?id=`: ends the subscription; answers its Meta.
async fn unregister(State(state): State<AppState>, req: Request) -> Result<Response> {
    let (parts, _) = req.into_parts();
    let id = query_id(&parts);
    let sub = owned(&state, &parts, id.as_deref()).await?;
    store::unregister(&state.pool, &sub.id).await?;
    Ok(([(header::CONTENT_TYPE, wire::JSON_CONTENT_TYPE)], sub.meta).into_response())
}

async fn update_route(
    State(state): State<AppState>,
    Path(id): Path<String>,
    format: Format,
    req: Request,
) -> Result<Response> {
    update(&state, format, req, Binding::Custom(&[("id", &id)])).await
}

/// UpdateEventSubscriber: joins `subscribeChannels` (each one the subscription's user may
/// join) and leaves `unsubscribeChannels`.
async fn update(
    state: &AppState,
    format: Format,
    req: Request,
    binding: Binding<'_>,
) -> Result<Response> {
    let (parts, body) = req.into_parts();
    let input = RequestInput::read(&parts, body, state.config.max_body_bytes).await?;
    let dto: UpdateEventSubscriber = input.bind(binding)?;
    let sub = owned(state, &parts, dto.id.as_deref()).await?;
    let (admin, accounts) = store::scope_of(&state.pool, &sub.user_id)
        .await?
        .ok_or_else(|| missing(&sub.id))?;
    let leave = dto.unsubscribe_channels.unwrap_or_default();
    let mut channels: Vec<String> = sub
        .channels
        .iter()
        .filter(|c| !leave.contains(c))
        .cloned()
        .collect();
    let join = dto.subscribe_channels.unwrap_or_default();
    if !join.is_empty() {
        for c in scope(&state.events, admin, &accounts, join)? {
            if !channels.contains(&c) {
                channels.push(c);
            }
        }
    }
    at_most_channels(&state.events, "subscribeChannels", &channels)?;
    let meta = super::frames::extend_map(&sub.meta, &[("channels", &channels.join(","))]);
    if !store::update_channels(&state.pool, &sub.id, &channels, &meta).await? {
        return Err(missing(&sub.id));
    }
    wire::respond(format, &UpdateEventSubscriberResponse::default())
}

async fn subscribers_route(
    State(state): State<AppState>,
    format: Format,
    req: Request,
) -> Result<Response> {
    subscribers(&state, format, req, Binding::Custom(&[])).await
}

/// GetEventSubscribers: the Meta of every subscriber of the channels (by default: of all the
/// caller's accounts): a `List<Dictionary<string,string>>`, in the negotiated format.
async fn subscribers(
    state: &AppState,
    format: Format,
    req: Request,
    binding: Binding<'_>,
) -> Result<Response> {
    let (mut parts, body) = req.into_parts();
    let (_, user) = signed_in(state, &mut parts).await?;
    let input = RequestInput::read(&parts, body, state.config.max_body_bytes).await?;
    let dto: GetEventSubscribers = input.bind(binding)?;
    let asked: Vec<String> = dto
        .channels
        .unwrap_or_default()
        .iter()
        .flat_map(|c| c.split(','))
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    let channels = allowed(&state.events, &user, asked)?;
    let filter = (!channels.iter().any(|c| c == "*")).then_some(&channels[..]);
    let metas = store::subscribers(&state.pool, filter, MAX_LISTED).await?;
    wire::respond_stored_list(format, &WireType::StringMap, &metas)
}
