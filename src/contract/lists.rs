//! ListSessions and its answer. Evo Voice declares the paging members on a generic base class
//! (`ListRequest<T>`) and answers a generic `ListResponse<T>`; the contract has no generics, so
//! the paging members are declared on ListSessions itself (in the order the Evo Voice client
//! sends them) and the answer is the closed type `ListResponse<SessionInfo>` under the name
//! .NET's DataContractSerializer gives a closed generic, `ListResponseOfSessionInfo` (inferred:
//! .NET appends a hash of the type arguments' namespaces when they differ from the generic
//! type's; the hash is not reproduced).

use super::sessions::SessionInfo;
use voice_api_derive::{Dto, WireEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireEnum)]
#[dto(namespace = "Voice.Api")]
pub enum SortOrders {
    Ascend = 0,
    Descend = 1,
}

/// `GET /sessions`: the sessions of the accounts the caller may act in, filtered, sorted and
/// paged.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Sessions")]
pub struct ListSessions {
    #[dto(description = "The IDs of the accounts whose sessions you want to retrieve")]
    pub account_ids: Option<Vec<String>>,
    #[dto(description = "The IDs of the customers whose sessions you want to retrieve")]
    pub customer_ids: Option<Vec<String>>,
    #[dto(description = "The IDs of the endpoints whose sessions you want to retrieve")]
    pub endpoint_ids: Option<Vec<String>>,
    #[dto(description = "The start date for sessions to retrieve (YYYY-MM-DD, UTC)")]
    pub start_date: Option<String>,
    #[dto(description = "The end date for sessions to retrieve (YYYY-MM-DD, UTC, inclusive)")]
    pub end_date: Option<String>,
    #[dto(description = "Filter by the from address (contains)", max_chars = 256)]
    pub from: Option<String>,
    #[dto(description = "Filter by the to address (contains)", max_chars = 256)]
    pub to: Option<String>,
    #[dto(description = "Filter by text in the log messages", max_chars = 256)]
    pub log: Option<String>,
    #[dto(description = "Filter by the parent session")]
    pub parent_session_id: Option<String>,
    #[dto(description = "Search the archived sessions as well")]
    pub search_archive: Option<bool>,
    #[dto(description = "The page of data to retrieve, 0 based")]
    pub page: Option<i32>,
    #[dto(description = "The number per page to retrieve")]
    pub count_per_page: Option<i32>,
    #[dto(description = "Specific IDs")]
    pub specific_ids: Option<Vec<String>>,
    #[dto(description = "Specify a sort field")]
    pub sort_field: Option<String>,
    #[dto(description = "Specify a sort order")]
    pub sort_order: Option<SortOrders>,
    #[dto(description = "Disables paging and returns all items")]
    pub all: Option<bool>,
    #[dto(description = "Returns items with the paging information omitted")]
    pub simplified_paging: Option<bool>,
}

/// One page of sessions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(name = "ListResponseOfSessionInfo", namespace = "Voice.Api")]
pub struct SessionList {
    #[dto(description = "The items")]
    pub items: Vec<SessionInfo>,
    #[dto(description = "The total number of items")]
    pub total_count: i32,
    #[dto(description = "The total number of pages")]
    pub total_pages: i32,
    #[dto(description = "Are there more pages of items? Used with simplified paging")]
    pub has_more_pages: bool,
}

/// `DELETE /sessions?accountId&startDateTime&endDateTime`: deletes the sessions of one account
/// created in a closed time range, in one statement. Only a Manager of the account (or a
/// SystemAdministrator) may.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Sessions")]
pub struct DeleteSessions {
    #[dto(
        description = "The account whose sessions to delete",
        required,
        max_chars = 128
    )]
    pub account_id: Option<String>,
    #[dto(
        description = "Delete sessions created at or after this time (ISO 8601)",
        required
    )]
    pub start_date_time: Option<String>,
    #[dto(
        description = "Delete sessions created at or before this time (ISO 8601)",
        required
    )]
    pub end_date_time: Option<String>,
}

/// How many sessions a DeleteSessions deleted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Sessions")]
pub struct DeleteSessionsResponse {
    #[dto(description = "How many sessions were deleted")]
    pub count: i32,
}
