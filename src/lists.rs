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
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
/// The part of [`LIST_ROWS_IN_FLIGHT`] one user's long lists may hold at once: half, one
/// `all=true` list (10,001 rows asked). Without it one user whose clients never read their
/// answers could hold the whole budget, and every other user's long lists would wait out
/// their time limit and fail, until the send timeout freed the rows; with it, half the
/// budget is always left to the others. A user's next long list waits for their own rows
/// first, then for the server's.
pub const LIST_ROWS_PER_USER: usize = 10_010;

/// The rows long lists may hold ([`LIST_ROWS_IN_FLIGHT`]), and each user's share of them
/// ([`LIST_ROWS_PER_USER`]): a semaphore for the server, and one for each user with a long
/// list in progress (waiting, reading or being written), dropped when their last one ends.
pub struct RowBudget {
    all: Arc<Semaphore>,
    per_user: usize,
    /// Each user with a long list in progress: their share, and how many lists hold it.
    users: Mutex<HashMap<String, (Arc<Semaphore>, usize)>>,
}

impl RowBudget {
    pub fn new(config: &crate::HttpConfig) -> Self {
        let all = config.list_rows_in_flight.clamp(1, Semaphore::MAX_PERMITS);
        RowBudget {
            all: Arc::new(Semaphore::new(all)),
            per_user: config.list_rows_per_user.clamp(1, all),
            users: Mutex::new(HashMap::new()),
        }
    }

    /// `rows` (at most a user's share: more would wait forever) of `user`'s share, then of
    /// the server's, waiting for each in that order.
    async fn acquire(self: &Arc<Self>, user: &str, rows: usize) -> Result<Rows> {
        let rows = u32::try_from(rows.min(self.per_user)).unwrap_or(u32::MAX);
        let share = {
            let mut users = self.users();
            let (share, lists) = users
                .entry(user.to_owned())
                .or_insert_with(|| (Arc::new(Semaphore::new(self.per_user)), 0));
            *lists += 1;
            share.clone()
        };
        // From here on `Rows` counts this list out again, even if the wait is given up.
        let mut held = Rows {
            budget: self.clone(),
            user: user.to_owned(),
            share: None,
            all: None,
        };
        held.share = Some(
            share
                .acquire_many_owned(rows)
                .await
                .map_err(ApiError::internal)?,
        );
        held.all = Some(
            self.all
                .clone()
                .acquire_many_owned(rows)
                .await
                .map_err(ApiError::internal)?,
        );
        Ok(held)
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<Semaphore>, usize)>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rows of the server's budget free now.
    #[cfg(test)]
    fn available(&self) -> usize {
        self.all.available_permits()
    }

    /// Users with a long list in progress now.
    #[cfg(test)]
    fn users_holding(&self) -> usize {
        self.users().len()
    }
}

/// Rows held by one long list, of its user's share and of the server's budget.
struct Rows {
    budget: Arc<RowBudget>,
    user: String,
    share: Option<OwnedSemaphorePermit>,
    all: Option<OwnedSemaphorePermit>,
}

impl Rows {
    /// Gives back all but `keep` rows.
    fn keep(&mut self, keep: usize) {
        for permit in [&mut self.share, &mut self.all].into_iter().flatten() {
            drop(permit.split(permit.num_permits().saturating_sub(keep)));
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        self.share = None;
        self.all = None;
        let mut users = self.budget.users();
        if let Some((_, lists)) = users.get_mut(&self.user) {
            *lists -= 1;
            if *lists == 0 {
                users.remove(&self.user);
            }
        }
    }
}

/// Pages of more sessions than this are written on a blocking thread, so that the worker
/// threads go on serving: 10,000 sessions took the server's one worker thread ~0.4 s to write,
/// and PATCHes at c = 4 beside three of them had a p99 of 506 ms (wrk, bench data).
const INLINE_ROWS: usize = 100;

/// A page of sessions read for a ListSessions, and the permits it holds when it is long.
pub struct Listed {
    page: Page,
    permit: Option<Rows>,
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
    // is long (never more than a user's share, which [`RowBudget::acquire`] sees to).
    let asked = usize::try_from(limit).unwrap_or(usize::MAX);
    let permit = match per_page(req) > INLINE_ROWS {
        true => Some(state.list_rows.acquire(&user.id, asked).await?),
        false => None,
    };
    let page = sessions::list(&state.pool, &query).await?;
    // Only what came back is held on: a short answer to a long page is written inline.
    let permit = permit.and_then(|mut permit| {
        if shown(&page, req) <= INLINE_ROWS {
            return None;
        }
        permit.keep(page.rows.len());
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
    let invalid = || {
        ApiError::validation(
            member(field),
            "InvalidDate",
            format!("'{}' must be a date as YYYY-MM-DD", member(field)),
        )
    };
    // .NET's DateTime range, years 1 to 9999 (chrono and PostgreSQL reach further, and a day
    // past chrono's last overflows): a date outside it is as invalid as a malformed one.
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1..=9999).contains(&d.year()))
        .ok_or_else(invalid)?;
    let start = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default());
    start
        .checked_add_signed(chrono::Duration::days(days))
        .map(Some)
        .ok_or_else(invalid)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(all: usize, per_user: usize) -> Arc<RowBudget> {
        Arc::new(RowBudget::new(&crate::HttpConfig {
            list_rows_in_flight: all,
            list_rows_per_user: per_user,
            ..Default::default()
        }))
    }

    /// Whether `user`'s list of `rows` would still be waiting after 50 ms (the wait is then
    /// given up).
    async fn waits(b: &Arc<RowBudget>, user: &str, rows: usize) -> bool {
        let wait = b.acquire(user, rows);
        tokio::time::timeout(std::time::Duration::from_millis(50), wait)
            .await
            .is_err()
    }

    #[tokio::test]
    async fn a_users_rows_come_from_their_share_and_the_server_budget_and_go_back_with_them() {
        let b = budget(10, 6);
        let mut first = b.acquire("u1", 4).await.unwrap();
        assert_eq!((b.available(), b.users_holding()), (6, 1));
        // u1 has 2 of its 6 left: a list of 3 waits, u2's of 3 does not.
        let waiting = tokio::spawn({
            let b = b.clone();
            async move { b.acquire("u1", 3).await.map(|_| ()) }
        });
        let second = b.acquire("u2", 3).await.unwrap();
        assert_eq!((b.available(), b.users_holding()), (3, 2));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        // Keeping only the rows that came back frees the rest of both.
        first.keep(1);
        assert_eq!(b.available(), 6);
        waiting.await.unwrap().unwrap();
        drop((first, second));
        assert_eq!((b.available(), b.users_holding()), (10, 0));
    }

    #[tokio::test]
    async fn a_list_asks_at_most_a_users_share_and_a_wait_given_up_leaves_nothing_behind() {
        let b = budget(10, 4);
        let whole = b.acquire("u1", 1_000).await.unwrap();
        assert_eq!(b.available(), 6);
        assert!(waits(&b, "u1", 1).await);
        assert_eq!(b.users_holding(), 1);
        drop(whole);
        assert_eq!((b.available(), b.users_holding()), (10, 0));
        // A wait for the server's rows given up, with nothing else of the user's in
        // progress, leaves no entry.
        let b = budget(4, 4);
        let other = b.acquire("u2", 10).await.unwrap();
        assert!(waits(&b, "u3", 1).await);
        assert_eq!(b.users_holding(), 1);
        drop(other);
        assert_eq!((b.available(), b.users_holding()), (4, 0));
    }
}
