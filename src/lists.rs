//! ListSessions: who may see what, and the request's paging, sorting and filters turned into a
//! storage query. The answer is written from the stored rows, as PATCH and GET answers are.

use crate::AppState;
use crate::auth::{MANAGER, Principal, SYSTEM_ADMINISTRATOR};
use crate::contract::lists::{
    DeleteSessions, DeleteSessionsResponse, ListSessions, SessionList, SortOrders,
};
use crate::contract::sessions::SessionInfo;
use crate::contract::{Dto, Value, WireType};
use crate::error::{ApiError, Result};
use crate::http::held::Held;
use crate::storage::auth as store;
use crate::storage::sessions::{self, ListQuery, Page};
use crate::wire::{self, Format};
use axum::body::Body;
use axum::response::Response;
use chrono::{NaiveDate, TimeZone, Utc};
use std::borrow::Cow;
use tokio::sync::OwnedSemaphorePermit;

/// ServiceStack's default page size for Evo Voice lists.
pub const DEFAULT_COUNT_PER_PAGE: i32 = 25;
/// The largest page a client may ask for.
pub const MAX_COUNT_PER_PAGE: i32 = 1000;
/// `all=true` answers at most this many sessions (and `hasMorePages` when there are more).
pub const MAX_ALL: i64 = 10_000;
/// Sessions that lists of more than [`INLINE_ROWS`] may hold at once, over every such list in
/// progress on the server (its statement, its writing and its sending): each takes as many
/// permits as rows it asks for, and more wait, within the request's time limit. So what long
/// lists hold in memory is bounded whatever the number of connections (a client that asks for
/// pages of 1,000 and never reads them cannot make every connection hold one): 10,000 sessions
/// of the bench's data are ~22 MB of rows and ~37 MB of JSON (~80 MB of XML) until sent, so
/// this is two `all=true` lists, or twenty pages of 1,000 (each asks for 1,001 rows). Once a
/// list's statement has answered, it keeps only as many permits as rows came back.
pub const LIST_ROWS_IN_FLIGHT: usize = 20_020;
/// The permits of [`crate::AppState::list_rows`]: the configured budget, as a semaphore can
/// hold it.
pub fn row_budget(config: &crate::HttpConfig) -> usize {
    config
        .list_rows_in_flight
        .clamp(1, tokio::sync::Semaphore::MAX_PERMITS)
}

/// Pages of more sessions than this are written on a blocking thread, so that the worker
/// threads go on serving: 10,000 sessions took the server's one worker thread ~0.4 s to write,
/// and PATCHes at c = 4 beside three of them had a p99 of 506 ms (wrk, bench data).
const INLINE_ROWS: usize = 100;

/// A page of sessions read for a ListSessions, and the permits it holds when it is long.
pub struct Listed {
    page: Page,
    permit: Option<OwnedSemaphorePermit>,
}

/// The page of sessions `req` asks for, of the accounts `principal` may act in.
pub async fn list_sessions(
    state: &AppState,
    principal: &Principal,
    req: &ListSessions,
) -> Result<Listed> {
    let user = store::resolve(&state.pool, &principal.credential)
        .await?
        .ok_or_else(|| ApiError::unauthorized("Not Authenticated"))?;
    let admin = user.roles.iter().any(|r| r == SYSTEM_ADMINISTRATOR);
    let own: Vec<String> = user.accounts.iter().map(|(id, _)| id.clone()).collect();
    // An explicit account outside the caller's is refused, not silently dropped.
    if let Some(asked) = &req.account_ids
        && !admin
        && let Some(other) = asked.iter().find(|a| !own.contains(a))
    {
        return Err(ApiError::forbidden(format!(
            "You do not have access to account '{other}'"
        )));
    }
    if req.parent_session_id.is_some() {
        return Err(ApiError::validation(
            member("parent_session_id"),
            "NotSupported",
            "Sessions here have no parent session, so 'parentSessionId' cannot be answered",
        ));
    }
    let accounts = match (&req.account_ids, admin) {
        (Some(asked), _) => Some(asked.as_slice()),
        (None, true) => None,
        (None, false) => Some(own.as_slice()),
    };
    let (limit, offset, count_total) = paging(req)?;
    let query = ListQuery {
        accounts,
        customers: req.customer_ids.as_deref(),
        endpoints: req.endpoint_ids.as_deref(),
        ids: req.specific_ids.as_deref(),
        created_from: day(req.start_date.as_deref(), "start_date", 0)?,
        created_before: day(req.end_date.as_deref(), "end_date", 1)?,
        from_contains: req.from.as_deref().filter(|t| !t.is_empty()),
        to_contains: req.to.as_deref().filter(|t| !t.is_empty()),
        log_contains: req.log.as_deref().filter(|t| !t.is_empty()),
        sort: sort(req)?,
        limit,
        offset,
        count_total,
    };
    // `limit` is the rows asked for (one more than the page): a permit each, when the page
    // is long, and never more than the whole budget (which would wait forever).
    let asked = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .min(row_budget(&state.config));
    let permit = match per_page(req) > INLINE_ROWS {
        true => Some(
            state
                .list_rows
                .clone()
                .acquire_many_owned(u32::try_from(asked).unwrap_or(u32::MAX))
                .await
                .map_err(ApiError::internal)?,
        ),
        false => None,
    };
    let page = sessions::list(&state.pool, &query).await?;
    // Only what came back is held on: a short answer to a long page is written inline.
    let permit = permit.and_then(|mut permit| {
        if shown(&page, req) <= INLINE_ROWS {
            return None;
        }
        drop(permit.split(permit.num_permits().saturating_sub(page.rows.len())));
        Some(permit)
    });
    Ok(Listed { page, permit })
}

/// The answer to a ListSessions in `format`: a long page is written on a blocking thread (see
/// [`INLINE_ROWS`]), into a buffer sized for it, and a long list's permits are held until its
/// body is sent (it goes with the page into the blocking thread, so a request given up
/// meanwhile keeps it until the writing it started ends).
pub async fn respond(format: Format, listed: Listed, req: ListSessions) -> Result<Response> {
    // A long page, and only one, holds permits ([`list_sessions`] keeps none for a short one).
    let Listed { page, permit } = listed;
    let Some(permit) = permit else {
        return wire::respond_value(format, SessionList::TYPE, &page_value(&page, &req)?);
    };
    tokio::task::spawn_blocking(move || {
        let capacity = page.rows.len() * wire::session_bytes(format);
        let value = page_value(&page, &req)?;
        let res = wire::respond_value_sized(format, SessionList::TYPE, &value, capacity)?;
        Ok(res.map(|body| Body::new(Held::new(body, permit))))
    })
    .await
    .map_err(ApiError::internal)?
}

/// The JSON name of a ListSessions member, for messages.
fn member(field: &str) -> &'static str {
    ListSessions::TYPE.json_name(field)
}

/// (limit, offset, count the total): one row more than the page is read with simplified
/// paging, to know whether more pages follow without counting.
fn paging(req: &ListSessions) -> Result<(i64, i64, bool)> {
    let per_page = req.count_per_page.unwrap_or(DEFAULT_COUNT_PER_PAGE);
    if !(1..=MAX_COUNT_PER_PAGE).contains(&per_page) {
        return Err(ApiError::validation(
            member("count_per_page"),
            "InclusiveBetween",
            format!("'countPerPage' must be between 1 and {MAX_COUNT_PER_PAGE}"),
        ));
    }
    let page = req.page.unwrap_or(0);
    if page < 0 {
        return Err(ApiError::validation(
            member("page"),
            "GreaterThanOrEqual",
            "'page' must be 0 or more (pages are counted from 0)",
        ));
    }
    let simplified = req.simplified_paging.unwrap_or(false);
    if req.all.unwrap_or(false) {
        return Ok((MAX_ALL + 1, 0, !simplified));
    }
    Ok((
        i64::from(per_page) + 1,
        i64::from(page) * i64::from(per_page),
        !simplified,
    ))
}

/// Midnight UTC of a `YYYY-MM-DD` day, plus `days`; a bad date is a 400 naming the member.
fn day(text: Option<&str>, field: &str, days: i64) -> Result<Option<chrono::DateTime<Utc>>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::validation(
            member(field),
            "InvalidDate",
            format!("'{}' must be a date as YYYY-MM-DD", member(field)),
        )
    })?;
    let start = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default());
    Ok(Some(start + chrono::Duration::days(days)))
}

/// The SessionInfo member to sort by (any scalar member, by its JSON name in any case), and
/// the direction. Without a sort field: newest first.
fn sort(req: &ListSessions) -> Result<(Option<&'static str>, bool)> {
    let descending = req.sort_order.map(|o| o == SortOrders::Descend);
    let Some(field) = req.sort_field.as_deref().filter(|f| !f.trim().is_empty()) else {
        return Ok((None, descending.unwrap_or(true)));
    };
    let slot = SessionInfo::TYPE
        .slot_by_key(field.trim())
        .filter(|s| {
            matches!(
                s.member.ty,
                WireType::Text | WireType::Enum(_) | WireType::Bool | WireType::Int
            )
        })
        .ok_or_else(|| {
            ApiError::validation(
                member("sort_field"),
                "InvalidSortField",
                "'sortField' must name a SessionInfo member that holds a single value",
            )
        })?;
    Ok((Some(slot.member.field), descending.unwrap_or(false)))
}

/// The sessions a page shows at most (`all=true`: [`MAX_ALL`]).
fn per_page(req: &ListSessions) -> usize {
    match req.all.unwrap_or(false) {
        true => MAX_ALL as usize,
        false => req.count_per_page.unwrap_or(DEFAULT_COUNT_PER_PAGE).max(0) as usize,
    }
}

/// The sessions of `page` its answer shows (the statement reads one more, to tell whether
/// more pages follow).
fn shown(page: &Page, req: &ListSessions) -> usize {
    page.rows.len().min(per_page(req))
}

/// The ListResponse of a page, written from its rows: `limit` asked one row more than the
/// page, so a row beyond it means more pages follow.
pub fn page_value<'a>(page: &'a Page, req: &ListSessions) -> Result<Value<'a>> {
    let per_page = per_page(req);
    let shown = shown(page, req);
    let items = page.rows[..shown]
        .iter()
        .map(|s| s.value())
        .collect::<Result<Vec<_>, _>>()?;
    let more = page.rows.len() > shown;
    let per_page = per_page as i64;
    let (total, pages) = match page.total {
        Some(total) => (total, (total + per_page - 1) / per_page),
        None => (0, 0),
    };
    let text = |n: i64| Value::Text(Cow::Owned(n.min(i64::from(i32::MAX)).to_string()));
    // In SessionList's declaration order.
    debug_assert_eq!(SessionList::TYPE.len(), 4);
    Ok(Value::Object(vec![
        Value::List(items),
        text(total),
        text(pages),
        Value::Bool(more),
    ]))
}

/// DeleteSessions: one account's sessions created in a closed range, in one statement, by a
/// Manager of that account or a SystemAdministrator.
pub async fn delete_sessions(
    state: &AppState,
    principal: &Principal,
    req: &DeleteSessions,
) -> Result<DeleteSessionsResponse> {
    let user = store::resolve(&state.pool, &principal.credential)
        .await?
        .ok_or_else(|| ApiError::unauthorized("Not Authenticated"))?;
    let account = req.account_id.as_deref().unwrap_or_default();
    let admin = user.roles.iter().any(|r| r == SYSTEM_ADMINISTRATOR);
    let manager = user.roles.iter().any(|r| r == MANAGER)
        && user.accounts.iter().any(|(id, _)| id == account);
    if !admin && !manager {
        return Err(ApiError::forbidden(format!(
            "Only a Manager of account '{account}' (or a SystemAdministrator) may delete its sessions"
        )));
    }
    let start = instant(req.start_date_time.as_deref(), "start_date_time")?;
    let end = instant(req.end_date_time.as_deref(), "end_date_time")?;
    if start > end {
        return Err(ApiError::validation(
            delete_member("end_date_time"),
            "GreaterThanOrEqual",
            "'endDateTime' must not be before 'startDateTime'",
        ));
    }
    let count = sessions::delete_range(&state.pool, account, start, end).await?;
    Ok(DeleteSessionsResponse {
        count: i32::try_from(count).unwrap_or(i32::MAX),
    })
}

fn delete_member(field: &str) -> &'static str {
    DeleteSessions::TYPE.json_name(field)
}

/// An ISO 8601 instant with its offset (`2026-11-25T00:00:00Z`); anything else is a 400.
fn instant(text: Option<&str>, field: &str) -> Result<chrono::DateTime<Utc>> {
    chrono::DateTime::parse_from_rfc3339(text.unwrap_or_default().trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            let name = delete_member(field);
            ApiError::validation(
                name,
                "InvalidDate",
                format!("'{name}' must be an ISO 8601 time with its offset"),
            )
        })
}
