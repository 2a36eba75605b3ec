//! The Evo Voice Sessions DTOs and enums, as the seed (`shared/seed/PatchSession.txt`) gives
//! them: members in the seed's declaration order, descriptions from its `@ApiMember`s.
//!
//! Namespaces: `EntityInfo` is in `Voice.Api` and `CustomerBreadcrumb` in `Voice.Api.Customers`
//! (both visible in the seed's XML sample); everything else is in `Voice.Api.Sessions` but
//! `FlowChannels`, whose CLR namespace the seed does not show (`Voice.Api.Flows` is inferred;
//! enums are written as names, so no wire format depends on it).

use super::{Dto, StringMap};
use voice_api_derive::{Dto, WireEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireEnum)]
#[dto(namespace = "Voice.Api.Sessions")]
pub enum SessionDialState {
    None = 0,
    Active = 1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireEnum)]
#[dto(namespace = "Voice.Api.Sessions")]
pub enum SessionCallState {
    Disconnected = 0,
    Ringing = 1,
    Connected = 2,
    Hold = 3,
    Passive = 4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireEnum)]
#[dto(namespace = "Voice.Api.Sessions")]
pub enum SessionQueueStates {
    None = 0,
    Queued = 1,
    Ringing = 2,
    Connected = 3,
    Hold = 4,
    Disconnected = 5,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireEnum)]
#[dto(namespace = "Voice.Api.Flows")]
pub enum FlowChannels {
    Voice = 0,
    Chat = 1,
    Fax = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireEnum)]
#[dto(namespace = "Voice.Api.Sessions")]
pub enum SessionHoldReasons {
    None = 0,
    Transferring = 1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireEnum)]
#[dto(namespace = "Voice.Api.Sessions")]
pub enum SessionMemberCallState {
    None = 0,
    Ringing = 1,
    Connected = 2,
    Hold = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireEnum)]
#[dto(namespace = "Voice.Api.Sessions")]
pub enum SessionMemberRoles {
    None = 0,
    Caller = 1,
    Agent = 2,
    Transfer = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireEnum)]
#[dto(namespace = "Voice.Api.Sessions")]
pub enum SessionDirections {
    Incoming = 0,
    Outgoing = 1,
}

/// The base class of every stored Evo Voice object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api")]
pub struct EntityInfo {
    #[dto(description = "The ID of the object")]
    pub id: Option<String>,
    #[dto(description = "The date the object was created")]
    pub date_created: Option<String>,
    #[dto(description = "The date the object was last modified")]
    pub date_last_modified: Option<String>,
    #[dto(description = "The user that created this object")]
    pub created_by: Option<String>,
    #[dto(description = "The user that last modified this object")]
    pub last_modified_by: Option<String>,
}

/// One step of the customer hierarchy, root first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Customers")]
pub struct CustomerBreadcrumb {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// One entry of a session's log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Sessions")]
pub struct SessionLogInfo {
    pub date: Option<String>,
    pub message: Option<String>,
}

/// A participant of a session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Sessions")]
pub struct SessionMemberInfo {
    pub identity: Option<String>,
    pub endpoint_id: Option<String>,
    pub display_name: Option<String>,
    pub is_original_member: bool,
    pub avatar_url: Option<String>,
    pub application_data: Option<StringMap>,
    pub call_state: SessionMemberCallState,
    pub role: SessionMemberRoles,
    pub call_sid: Option<String>,
    pub muted: bool,
}

/// The full state of a call session: what PatchSession and GetSession return. Stored one column
/// per member in `sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Sessions", table = "sessions")]
pub struct SessionInfo {
    #[dto(base)]
    pub entity: EntityInfo,
    #[dto(description = "The state of the session")]
    pub dial_state: SessionDialState,
    #[dto(description = "The call state of the session")]
    pub call_state: SessionCallState,
    #[dto(description = "The queue state of the session")]
    pub queue_state: SessionQueueStates,
    #[dto(description = "The ID of the account associated with the flow")]
    pub account_id: Option<String>,
    #[dto(description = "The name of the account associated with the session")]
    pub account_name: Option<String>,
    #[dto(description = "The ID of the customer this session is associated with")]
    pub customer_id: Option<String>,
    #[dto(description = "The customer breadcrumb this session is associated with")]
    pub customer_breadcrumb: Option<Vec<CustomerBreadcrumb>>,
    #[dto(description = "The name of the customer this session is associated with")]
    pub customer_name: Option<String>,
    #[dto(description = "The ID of the endpoint associated with this session")]
    pub endpoint_id: Option<String>,
    #[dto(description = "The name of the endpoint associated with this session")]
    pub endpoint_name: Option<String>,
    #[dto(description = "The date the call completed")]
    pub date_completed: Option<String>,
    #[dto(
        description = "The destination of the session (e.g. what was entered into the Dial box)"
    )]
    pub destination: Option<String>,
    #[dto(description = "The to address if any")]
    pub to_address: Option<String>,
    #[dto(description = "The from address if any")]
    pub from_address: Option<String>,
    #[dto(description = "The from name if any")]
    pub from_name: Option<String>,
    #[dto(description = "Answered by name (if any)")]
    pub answered_by_name: Option<String>,
    #[dto(description = "The ID of the queue member assigned to this call")]
    pub queue_member_id: Option<String>,
    #[dto(description = "The flow channel")]
    pub channel: FlowChannels,
    #[dto(description = "Has the session ended")]
    pub ended: bool,
    #[dto(description = "The outcome of the call")]
    pub outcome: Option<String>,
    #[dto(description = "The twilio Call SID of this session")]
    pub call_sid: Option<String>,
    #[dto(description = "Any console data for this session")]
    pub console_data: Option<String>,
    #[dto(description = "The name of the hold queue for this call")]
    pub hold_queue_name: Option<String>,
    #[dto(description = "The user ID who put this call on hold")]
    pub held_by_user_id: Option<String>,
    #[dto(description = "The reason for the hold")]
    pub hold_reason: SessionHoldReasons,
    #[dto(description = "The SID of the conference if in a conference call")]
    pub conference_sid: Option<String>,
    #[dto(description = "The display name for this session")]
    pub display_name: Option<String>,
    #[dto(description = "The log entries for this session")]
    pub log: Option<Vec<SessionLogInfo>>,
    #[dto(description = "The members of this session")]
    pub members: Option<Vec<SessionMemberInfo>>,
    #[dto(description = "The callback number (typically used for SIP to User calls)")]
    pub callback_number: Option<String>,
    #[dto(description = "The ID of the endpoint that answered")]
    pub answered_by_id: Option<String>,
    #[dto(description = "Is this session incoming or outgoing?")]
    pub direction: SessionDirections,
    #[dto(description = "The phone number that this session is coming from (used with SMS chats)")]
    pub from_phone_number: Option<String>,
    #[dto(description = "The Call SID of the most recently added conference participant")]
    pub most_recent_participant_call_sid: Option<String>,
    #[dto(description = "Was this session missed?")]
    pub was_missed: bool,
    #[dto(description = "The ring queue that the call is currently in")]
    pub ring_queue_id: Option<String>,
}

impl SessionInfo {
    /// What a stored session must have: its id and its account, each with its JSON name.
    pub fn keys(&self) -> [(&'static str, Option<&str>); 2] {
        [
            (Self::TYPE.json_name("id"), self.id.as_deref()),
            (
                Self::TYPE.json_name("account_id"),
                self.account_id.as_deref(),
            ),
        ]
    }
}

impl std::ops::Deref for SessionInfo {
    type Target = EntityInfo;
    /// `session.id` reads the base class's member, as it would in .NET.
    fn deref(&self) -> &EntityInfo {
        &self.entity
    }
}

impl std::ops::DerefMut for SessionInfo {
    fn deref_mut(&mut self) -> &mut EntityInfo {
        &mut self.entity
    }
}

/// `PATCH /sessions/{sessionId}`: a sparse update; an absent member leaves the stored value
/// alone. Each `patch` member sets the SessionInfo member of the same name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Sessions")]
pub struct PatchSession {
    #[dto(required, max_chars = 128)]
    pub session_id: Option<String>,
    // A note on the call, not a document.
    #[dto(patch, max_bytes = 65536)]
    pub console_data: Option<String>,
    #[dto(patch)]
    pub call_state: Option<SessionCallState>,
    #[dto(patch)]
    pub hold_reason: Option<SessionHoldReasons>,
    #[dto(patch)]
    pub queue_state: Option<SessionQueueStates>,
}

impl PatchSession {
    /// True when the patch names no member to change.
    pub fn is_empty(&self) -> bool {
        let patch = Self::TYPE.members.iter().map(|m| m.rules.patch);
        self.values()
            .iter()
            .zip(patch)
            .all(|(v, p)| !p || v.is_null())
    }
}

/// `GET /sessions/{sessionId}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Sessions")]
pub struct GetSession {
    #[dto(required, max_chars = 128)]
    pub session_id: Option<String>,
}

/// The longest id the contract accepts (Evo Voice ids are 24 characters).
pub fn max_id_chars() -> usize {
    GetSession::TYPE.members[0]
        .rules
        .max_chars
        .unwrap_or(usize::MAX)
}
