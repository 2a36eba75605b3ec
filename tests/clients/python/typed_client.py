"""A program against the DTOs voice-api generated (`/types/python`, saved as dtos.py beside
it by tests/api/metadata), run against a live voice-api.

    python typed_client.py BASE_URL USER PASSWORD SESSION_ID

Sends `PatchSession` with `client.send(...)`, which takes the verb from the generated class's
`IPatch` base and the response type from `IReturn[SessionInfo]`, checks the answer is a typed
SessionInfo, and prints it as JSON on stdout for the Rust test to compare whole.
"""

import sys

from servicestack import JsonServiceClient
from servicestack.reflection import to_json

from dtos import PatchSession, SessionCallState, SessionHoldReasons, SessionInfo, SessionQueueStates

base_url, user, password, session_id = sys.argv[1:5]
client = JsonServiceClient(base_url)
client.set_credentials(user, password)

response = client.send(PatchSession(
    session_id=session_id,
    call_state=SessionCallState.HOLD,
    hold_reason=SessionHoldReasons.TRANSFERRING,
    queue_state=SessionQueueStates.QUEUED,
    console_data='typed from dtos.py',
))
assert isinstance(response, SessionInfo), f'the answer is a SessionInfo, not {type(response)}'
assert response.call_state == SessionCallState.HOLD, response.call_state
print(to_json(response))
