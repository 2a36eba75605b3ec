//! The operations, as data: name, routes and verbs, whether the caller must be authenticated,
//! whether it changes data, and its request and response types. The router registers the
//! custom routes from this table, the predefined routes (`/api/{Op}`, `/json/reply/{Op}`,
//! `/xml/reply/{Op}`) find operations by name in it, and negotiation learns the route shapes
//! from it.

use super::TypeDef;
use super::auth::{GetAuthStatus, UserInfo};
use super::lists::{DeleteSessions, DeleteSessionsResponse, ListSessions, SessionList};
use super::servicestack::{Authenticate, AuthenticateResponse};
use super::sessions::{GetSession, PatchSession, SessionInfo};
use super::value::Dto;

/// Which operation a request runs (the handler dispatches on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpId {
    PatchSession,
    GetSession,
    Authenticate,
    GetAuthStatus,
    ListSessions,
    DeleteSessions,
}

/// A custom route: a path template (`{member}` variables bind request members) and its verbs.
#[derive(Debug)]
pub struct Route {
    pub path: &'static str,
    pub verbs: &'static [&'static str],
}

#[derive(Debug)]
pub struct Operation {
    pub id: OpId,
    pub request: &'static TypeDef,
    pub response: &'static TypeDef,
    pub routes: &'static [Route],
    /// Anonymous callers get 401 before anything else happens.
    pub requires_auth: bool,
    /// Changes data: refused on GET/HEAD and cross-site (see `http::routes`).
    pub mutates: bool,
    /// Reachable by name on the predefined routes.
    pub predefined: bool,
}

impl Operation {
    /// The operation name: its request DTO's name, as in ServiceStack.
    pub fn name(&self) -> &'static str {
        self.request.name
    }
}

pub static OPERATIONS: &[Operation] = &[
    Operation {
        id: OpId::PatchSession,
        request: PatchSession::TYPE,
        response: SessionInfo::TYPE,
        routes: &[Route {
            path: "/sessions/{sessionId}",
            verbs: &["PATCH"],
        }],
        requires_auth: true,
        mutates: true,
        predefined: true,
    },
    Operation {
        id: OpId::GetSession,
        request: GetSession::TYPE,
        response: SessionInfo::TYPE,
        routes: &[Route {
            path: "/sessions/{sessionId}",
            verbs: &["GET"],
        }],
        requires_auth: true,
        mutates: false,
        predefined: true,
    },
    Operation {
        id: OpId::ListSessions,
        request: ListSessions::TYPE,
        response: SessionList::TYPE,
        routes: &[Route {
            path: "/sessions",
            verbs: &["GET"],
        }],
        requires_auth: true,
        mutates: false,
        predefined: true,
    },
    Operation {
        id: OpId::DeleteSessions,
        request: DeleteSessions::TYPE,
        response: DeleteSessionsResponse::TYPE,
        routes: &[Route {
            path: "/sessions",
            verbs: &["DELETE"],
        }],
        requires_auth: true,
        mutates: true,
        predefined: true,
    },
    Operation {
        id: OpId::Authenticate,
        request: Authenticate::TYPE,
        response: AuthenticateResponse::TYPE,
        routes: &[
            Route {
                path: "/auth",
                verbs: &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"],
            },
            Route {
                path: "/auth/{provider}",
                verbs: &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"],
            },
        ],
        // It is how a caller becomes authenticated; logins are POST-only (see `login`).
        requires_auth: false,
        mutates: false,
        predefined: true,
    },
    Operation {
        id: OpId::GetAuthStatus,
        request: GetAuthStatus::TYPE,
        response: UserInfo::TYPE,
        routes: &[Route {
            path: "/auth/status",
            verbs: &["GET"],
        }],
        requires_auth: false,
        mutates: false,
        predefined: false,
    },
];

/// The routes that are not operations of the contract: ServiceStack's predefined routes and
/// the health checks.
pub const PREDEFINED_ROUTES: &[&str] = &["/api/{op}", "/json/reply/{op}", "/xml/reply/{op}"];
pub const HEALTH_ROUTES: &[&str] = &["/health/live", "/health/ready"];
/// ServiceStack's Server Events paths (`crate::events`), outside the operation table as
/// ServiceStack keeps them out of its metadata.
pub const EVENT_STREAM: &str = "/event-stream";
pub const EVENT_HEARTBEAT: &str = "/event-heartbeat";
pub const EVENT_UNREGISTER: &str = "/event-unregister";
pub const EVENT_SUBSCRIBERS: &str = "/event-subscribers";
/// UpdateEventSubscriber's custom route (`{id}` the subscription).
pub const EVENT_SUBSCRIBER: &str = "/event-subscribers/{id}";
pub const EVENT_ROUTES: &[&str] = &[
    EVENT_STREAM,
    EVENT_HEARTBEAT,
    EVENT_UNREGISTER,
    EVENT_SUBSCRIBERS,
    EVENT_SUBSCRIBER,
];
/// The service's description of itself: metadata pages and Add ServiceStack Reference
/// (`crate::metadata`). Listed here so `/Types/TypeScript` routes as ServiceStack routes it.
pub const METADATA_ROUTES: &[&str] = &[
    "/metadata",
    "/json/metadata",
    "/xml/metadata",
    "/types",
    "/types/{lang}",
];

/// The OpenAPI document of these operations (`crate::openapi`).
pub const OPENAPI_ROUTE: &str = "/openapi";

pub fn operation(id: OpId) -> &'static Operation {
    OPERATIONS
        .iter()
        .find(|op| op.id == id)
        .expect("every OpId has its operation")
}

/// The operation a predefined route names (case-insensitively, as ServiceStack matches).
pub fn by_name(name: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|op| op.predefined && op.name().eq_ignore_ascii_case(name))
}

/// Every route path the server answers, as segments with `*` for a variable: what negotiation
/// needs to canonicalise the case of literal segments before routing.
pub fn route_shapes() -> Vec<Vec<&'static str>> {
    let paths = OPERATIONS
        .iter()
        .flat_map(|op| op.routes.iter().map(|r| r.path))
        .chain(PREDEFINED_ROUTES.iter().copied())
        .chain(HEALTH_ROUTES.iter().copied())
        .chain(EVENT_ROUTES.iter().copied())
        .chain(METADATA_ROUTES.iter().copied())
        .chain([OPENAPI_ROUTE]);
    let mut shapes: Vec<Vec<&str>> = Vec::new();
    for path in paths {
        let shape: Vec<&str> = path
            .trim_start_matches('/')
            .split('/')
            .map(|seg| if seg.starts_with('{') { "*" } else { seg })
            .collect();
        if !shapes.contains(&shape) {
            shapes.push(shape);
        }
    }
    // Literal routes before variable ones of the same length (`/auth/status` before
    // `/auth/{provider}`).
    shapes.sort_by_key(|s| s.iter().filter(|seg| **seg == "*").count());
    shapes
}
