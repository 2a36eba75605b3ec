//! Evo Voice's authentication DTOs.

use voice_api_derive::Dto;

/// `GET /auth/status`: who the caller is, or `isAuthenticated: false`. Its CLR namespace is not
/// published; `Voice.Api.Authentication` is inferred.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Authentication")]
pub struct UserInfo {
    pub id: Option<String>,
    pub is_authenticated: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub email_address: Option<String>,
    pub roles: Option<Vec<String>>,
    pub account_ids: Option<Vec<String>>,
    pub account_names: Option<Vec<String>>,
}

/// `GET /auth/status`: the request of Evo Voice's status operation (no members; the name is
/// inferred).
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Authentication")]
pub struct GetAuthStatus {}
