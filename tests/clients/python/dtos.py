"""The Sessions DTOs as `x python` generates them from the seed, shared by the client scripts
(conformance.py, auth.py)."""

from dataclasses import dataclass
from enum import Enum
from typing import Dict, List, Optional

from dataclasses_json import LetterCase, Undefined, dataclass_json
from servicestack import IGet, IPatch, IReturn


class SessionDialState(str, Enum):
    NONE = 'None'
    ACTIVE = 'Active'


class SessionCallState(str, Enum):
    DISCONNECTED = 'Disconnected'
    RINGING = 'Ringing'
    CONNECTED = 'Connected'
    HOLD = 'Hold'
    PASSIVE = 'Passive'


class SessionQueueStates(str, Enum):
    NONE = 'None'
    QUEUED = 'Queued'
    RINGING = 'Ringing'
    CONNECTED = 'Connected'
    HOLD = 'Hold'
    DISCONNECTED = 'Disconnected'


class FlowChannels(str, Enum):
    VOICE = 'Voice'
    CHAT = 'Chat'
    FAX = 'Fax'


class SessionHoldReasons(str, Enum):
    NONE = 'None'
    TRANSFERRING = 'Transferring'


class SessionMemberCallState(str, Enum):
    NONE = 'None'
    RINGING = 'Ringing'
    CONNECTED = 'Connected'
    HOLD = 'Hold'


class SessionMemberRoles(str, Enum):
    NONE = 'None'
    CALLER = 'Caller'
    AGENT = 'Agent'
    TRANSFER = 'Transfer'


class SessionDirections(str, Enum):
    INCOMING = 'Incoming'
    OUTGOING = 'Outgoing'


@dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)
@dataclass
class EntityInfo:
    # The ID of the object
    id: Optional[str] = None
    # The date the object was created
    date_created: Optional[str] = None
    # The date the object was last modified
    date_last_modified: Optional[str] = None
    # The user that created this object
    created_by: Optional[str] = None
    # The user that last modified this object
    last_modified_by: Optional[str] = None


@dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)
@dataclass
class CustomerBreadcrumb:
    id: Optional[str] = None
    name: Optional[str] = None


@dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)
@dataclass
class SessionLogInfo:
    date: Optional[str] = None
    message: Optional[str] = None


@dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)
@dataclass
class SessionMemberInfo:
    identity: Optional[str] = None
    endpoint_id: Optional[str] = None
    display_name: Optional[str] = None
    is_original_member: bool = False
    avatar_url: Optional[str] = None
    application_data: Optional[Dict[str, str]] = None
    call_state: Optional[SessionMemberCallState] = None
    role: Optional[SessionMemberRoles] = None
    call_sid: Optional[str] = None
    muted: bool = False


@dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)
@dataclass
class SessionInfo(EntityInfo):
    dial_state: Optional[SessionDialState] = None
    call_state: Optional[SessionCallState] = None
    queue_state: Optional[SessionQueueStates] = None
    account_id: Optional[str] = None
    account_name: Optional[str] = None
    customer_id: Optional[str] = None
    customer_breadcrumb: Optional[List[CustomerBreadcrumb]] = None
    customer_name: Optional[str] = None
    endpoint_id: Optional[str] = None
    endpoint_name: Optional[str] = None
    date_completed: Optional[str] = None
    destination: Optional[str] = None
    to_address: Optional[str] = None
    from_address: Optional[str] = None
    from_name: Optional[str] = None
    answered_by_name: Optional[str] = None
    queue_member_id: Optional[str] = None
    channel: Optional[FlowChannels] = None
    ended: bool = False
    outcome: Optional[str] = None
    call_sid: Optional[str] = None
    console_data: Optional[str] = None
    hold_queue_name: Optional[str] = None
    held_by_user_id: Optional[str] = None
    hold_reason: Optional[SessionHoldReasons] = None
    conference_sid: Optional[str] = None
    display_name: Optional[str] = None
    log: Optional[List[SessionLogInfo]] = None
    members: Optional[List[SessionMemberInfo]] = None
    callback_number: Optional[str] = None
    answered_by_id: Optional[str] = None
    direction: Optional[SessionDirections] = None
    from_phone_number: Optional[str] = None
    most_recent_participant_call_sid: Optional[str] = None
    was_missed: bool = False
    ring_queue_id: Optional[str] = None


# @Route("/sessions/{sessionId}", "PATCH")
@dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)
@dataclass
class PatchSession(IReturn[SessionInfo], IPatch):
    session_id: Optional[str] = None
    console_data: Optional[str] = None
    call_state: Optional[SessionCallState] = None
    hold_reason: Optional[SessionHoldReasons] = None
    queue_state: Optional[SessionQueueStates] = None


# @Route("/sessions/{sessionId}", "GET")
@dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)
@dataclass
class GetSession(IReturn[SessionInfo], IGet):
    session_id: Optional[str] = None
