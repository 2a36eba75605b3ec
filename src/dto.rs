//! Wire types: the request and response DTOs of the Evo Voice Sessions API, as the seed
//! (`shared/seed/PatchSession.txt`) defines them.
//!
//! These types are format-neutral. JSON (de)serialisation is derived here with serde because
//! ServiceStack's JSON shape (camelCase, nulls omitted) is exactly serde's with the right
//! attributes; DataContract XML lives in [`crate::wire::xml`]. Request DTOs are bound from
//! string fields (see [`crate::wire::fields`]) so JSON, XML, form and query input share one
//! validation path.

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Declares a wire enum: names are the canonical spelling on the wire, numbers are the .NET
/// integer values (ServiceStack accepts either on input, case-insensitively).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $num:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            #[default]
            $($variant),+
        }

        impl $name {
            /// Every variant, in declaration (integer) order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The .NET type name, used in error messages.
            pub const TYPE_NAME: &'static str = stringify!($name);

            /// The canonical wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }

            /// Parses a name case-insensitively, or the variant's integer value.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                $(if s.eq_ignore_ascii_case(stringify!($variant)) || s == stringify!($num) {
                    return Some($name::$variant);
                })+
                None
            }

            /// "A, B, C": the allowed names, for error messages.
            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(EnumVisitor(Self::parse, Self::TYPE_NAME, Self::allowed))
            }
        }
    };
}

/// Deserialises a wire enum from a name (any case) or its integer value.
struct EnumVisitor<T>(fn(&str) -> Option<T>, &'static str, fn() -> String);

impl<T> Visitor<'_> for EnumVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", (self.2)())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).ok_or_else(|| {
            E::custom(format_args!(
                "'{v}' is not a valid {}; allowed values: {}",
                self.1,
                (self.2)()
            ))
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
}

wire_enum!(SessionDialState { None = 0, Active = 1 });
wire_enum!(SessionCallState {
    Disconnected = 0,
    Ringing = 1,
    Connected = 2,
    Hold = 3,
    Passive = 4,
});
wire_enum!(SessionQueueStates {
    None = 0,
    Queued = 1,
    Ringing = 2,
    Connected = 3,
    Hold = 4,
    Disconnected = 5,
});
wire_enum!(FlowChannels {
    Voice = 0,
    Chat = 1,
    Fax = 2
});
wire_enum!(SessionHoldReasons {
    None = 0,
    Transferring = 1
});
wire_enum!(SessionMemberCallState {
    None = 0,
    Ringing = 1,
    Connected = 2,
    Hold = 3,
});
wire_enum!(SessionMemberRoles {
    None = 0,
    Caller = 1,
    Agent = 2,
    Transfer = 3,
});
wire_enum!(SessionDirections {
    Incoming = 0,
    Outgoing = 1
});

/// One step of the customer hierarchy, root first (namespace `Voice.Api.Customers` in XML).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerBreadcrumb {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One entry of a session's log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionLogInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A `Dictionary<string,string>` that keeps its entries in the order they were written, as
/// .NET's `Dictionary` enumerates them; serialised as a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StringMap(pub Vec<(String, String)>);

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = StringMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StringMap, A::Error> {
                let mut entries: Vec<(String, String)> = Vec::new();
                while let Some((k, v)) = access.next_entry::<String, Option<String>>()? {
                    // A repeated key replaces the earlier value, as assigning into a Dictionary does.
                    let v = v.unwrap_or_default();
                    match entries.iter_mut().find(|(ek, _)| *ek == k) {
                        Some(e) => e.1 = v,
                        None => entries.push((k, v)),
                    }
                }
                Ok(StringMap(entries))
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

/// A participant of a session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionMemberInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub is_original_member: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_data: Option<StringMap>,
    pub call_state: SessionMemberCallState,
    pub role: SessionMemberRoles,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_sid: Option<String>,
    pub muted: bool,
}

/// The full state of a call session: what PatchSession and GetSession return.
///
/// Field order follows the seed's TypeScript DTO (the declaration order ServiceStack's JSON
/// serialiser uses); XML uses its own (ordinal) order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionInfo {
    // EntityInfo
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_last_modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
    // SessionInfo
    pub dial_state: SessionDialState,
    pub call_state: SessionCallState,
    pub queue_state: SessionQueueStates,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_breadcrumb: Option<Vec<CustomerBreadcrumb>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_completed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_member_id: Option<String>,
    pub channel: FlowChannels,
    pub ended: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_queue_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by_user_id: Option<String>,
    pub hold_reason: SessionHoldReasons,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conference_sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<SessionLogInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<SessionMemberInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by_id: Option<String>,
    pub direction: SessionDirections,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub most_recent_participant_call_sid: Option<String>,
    pub was_missed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ring_queue_id: Option<String>,
}

/// `PATCH /sessions/{sessionId}`: a sparse update; a `None` field leaves the stored value alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatchSession {
    pub session_id: Option<String>,
    pub console_data: Option<String>,
    pub call_state: Option<SessionCallState>,
    pub hold_reason: Option<SessionHoldReasons>,
    pub queue_state: Option<SessionQueueStates>,
}

impl PatchSession {
    /// True when the patch names no field to change.
    pub fn is_empty(&self) -> bool {
        self.console_data.is_none()
            && self.call_state.is_none()
            && self.hold_reason.is_none()
            && self.queue_state.is_none()
    }
}

/// `GET /sessions/{sessionId}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetSession {
    pub session_id: Option<String>,
}

/// One field-level problem in a [`ResponseStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseError {
    pub error_code: String,
    pub field_name: String,
    pub message: String,
}

/// ServiceStack's error envelope content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseStatus {
    pub error_code: String,
    pub message: String,
    pub errors: Vec<ResponseError>,
}

/// `{"responseStatus": {...}}`: the body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    pub response_status: ResponseStatus,
}

/// ServiceStack's `Authenticate` request (`/auth`, `/auth/{provider}`, `/api/Authenticate`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authenticate {
    pub provider: Option<String>,
    pub user_name: Option<String>,
    pub password: Option<String>,
    pub remember_me: bool,
}

/// ServiceStack's `AuthenticateResponse`, members in its DataMember order; nulls omitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Set when the login failed: ServiceStack answers a failed Authenticate with its typed
    /// response carrying the status, not with an `ErrorResponse`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<ResponseStatus>,
}

/// Evo Voice's `UserInfo` (`GET /auth/status`): who the caller is, or `isAuthenticated: false`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub is_authenticated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_names: Option<Vec<String>>,
}
