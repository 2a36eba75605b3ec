//! ServiceStack's own DTOs, as ServiceStack 6 declares them (`ServiceStack.Interfaces`):
//! `[DataContract]`s in `http://schemas.servicestack.net/types` whose members carry explicit
//! `DataMember(Order)`, so DataContract order is declaration order.
//!
//! `AuthenticateResponse` follows `AuthDtos.cs`: `RefreshTokenExpiry` is there, and there is no
//! `AuthProvider` member (an earlier version of this server wrote one). `Authenticate` carries
//! only the members the credentials provider reads; the XML and JSON readers skip the others
//! as ServiceStack skips unknown members.

use super::StringMap;
use voice_api_derive::Dto;

/// One field-level problem in a [`ResponseStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(
    namespace = "ServiceStack",
    xml_namespace = "http://schemas.servicestack.net/types",
    ordered
)]
pub struct ResponseError {
    pub error_code: String,
    pub field_name: String,
    pub message: String,
    pub meta: Option<StringMap>,
}

/// ServiceStack's error envelope content. `StackTrace` is only set in debug mode, which this
/// server never enables; `Errors` is always a list (ServiceStack initialises it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(
    namespace = "ServiceStack",
    xml_namespace = "http://schemas.servicestack.net/types",
    ordered
)]
pub struct ResponseStatus {
    pub error_code: String,
    pub message: String,
    pub stack_trace: Option<String>,
    pub errors: Vec<ResponseError>,
    pub meta: Option<StringMap>,
}

/// `{"responseStatus": {...}}`: the body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(
    namespace = "ServiceStack",
    xml_namespace = "http://schemas.servicestack.net/types",
    ordered
)]
pub struct ErrorResponse {
    pub response_status: ResponseStatus,
}

/// ServiceStack's `Authenticate` request (`/auth`, `/auth/{provider}`, `/api/Authenticate`).
/// ServiceStack declares `provider` in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(
    namespace = "ServiceStack",
    xml_namespace = "http://schemas.servicestack.net/types",
    ordered
)]
pub struct Authenticate {
    #[dto(name = "provider", description = "AuthProvider, e.g. credentials")]
    pub provider: Option<String>,
    pub user_name: Option<String>,
    pub password: Option<String>,
    pub remember_me: Option<bool>,
}

/// ServiceStack's `AuthenticateResponse`. A failed login answers this type carrying the
/// status, not an `ErrorResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(
    namespace = "ServiceStack",
    xml_namespace = "http://schemas.servicestack.net/types",
    ordered
)]
pub struct AuthenticateResponse {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub user_name: Option<String>,
    pub display_name: Option<String>,
    pub referrer_url: Option<String>,
    pub bearer_token: Option<String>,
    pub refresh_token: Option<String>,
    pub refresh_token_expiry: Option<String>,
    pub profile_url: Option<String>,
    pub roles: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
    pub response_status: Option<ResponseStatus>,
    pub meta: Option<StringMap>,
}
