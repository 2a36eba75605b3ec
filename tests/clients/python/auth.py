"""Uses an API key as the bearer token of the real `servicestack` (PyPI) JsonServiceClient,
then revokes it with the `voice-api apikey revoke` command while the server has it cached,
and expects the very next requests to be refused.

    python auth.py EXPECTED_JSON_FILE

The file is written by tests/clients.rs:
  { "baseUrl", "apiKey", "sessionId", "session": <that SessionInfo before>, "userId",
    "revoke": {"argv": [...], "env": {...}}, "invalidApiKey": <responseStatus> }
"""

import json
import os
import re
import subprocess
import sys
from typing import List, Optional

from servicestack import JsonServiceClient, WebServiceException

from harness import as_json, check, diff, finish, show

# DTOs, as `x python` generates them from the seed (dtos.py, shared with conformance.py).
from dtos import GetSession, PatchSession, SessionInfo, SessionQueueStates

# ---- inputs ----

if len(sys.argv) < 2 and 'EXPECTED' not in os.environ:
    print('usage: python auth.py EXPECTED_JSON_FILE', file=sys.stderr)
    sys.exit(2)
with open(sys.argv[1] if len(sys.argv) > 1 else os.environ['EXPECTED'], encoding='utf-8') as f:
    EXPECTED = json.load(f)

# ---- comparison and checks ----


def session_json(res) -> dict:
    """The SessionInfo as the client deserialised it, back as JSON (camelCase, nulls omitted)."""
    if not isinstance(res, SessionInfo):
        raise AssertionError(f'expected a SessionInfo, got {res!r}')
    return as_json(res)


def expect_error(name: str, expected_status: int, expected_response_status: dict, call) -> None:
    def body():
        try:
            result = call()
        except WebServiceException as e:
            problems = [] if e.status_code == expected_status else \
                [f'status: expected {expected_status}, got {e.status_code}']
            if e.response_status is None:
                return problems + ['no responseStatus']
            return problems + diff(expected_response_status, as_json(e.response_status),
                                   '$.responseStatus')
        return [f'expected an error, got {result!r}']
    check(name, body)


class Recorder:
    """The Authorization header each successful request carried, read from the response's
    request (the client's request_filter runs before it adds the bearer token)."""

    def __init__(self):
        self.auth: List[Optional[str]] = []

    def __call__(self, response):
        self.auth.append(response.request.headers.get('Authorization'))


ISO_UTC = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$')

# ---- the flow ----

client = JsonServiceClient(EXPECTED['baseUrl'])
client.bearer_token = EXPECTED['apiKey']
client.response_filter = Recorder()
SESSION_ID = EXPECTED['sessionId']
patched = {}


def bearer_only() -> List[str]:
    sent = client.response_filter.auth[-1:]
    want = [f"Bearer {EXPECTED['apiKey']}"]
    return [] if sent == want else ['the request did not carry the key as its bearer token']


def do_patch():
    res = client.patch(PatchSession(session_id=SESSION_ID, console_data='python api key',
                                    queue_state=SessionQueueStates.QUEUED))
    got = session_json(res)
    patched['json'] = dict(got)
    modified = got.pop('dateLastModified', None)
    want = {**EXPECTED['session'], 'consoleData': 'python api key', 'queueState': 'Queued',
            'lastModifiedBy': EXPECTED['userId']}
    before = want.pop('dateLastModified', None)
    problems = diff(want, got)
    if not isinstance(modified, str) or not ISO_UTC.match(modified) or modified == before:
        problems.append(f'$.dateLastModified: expected the new patch time, got {show(modified)}')
    return problems + bearer_only()


def do_get():
    res = client.get(GetSession(session_id=SESSION_ID))
    return diff(patched.get('json'), session_json(res)) + bearer_only()


def do_revoke():
    revoke = EXPECTED['revoke']
    done = subprocess.run(revoke['argv'], env={**os.environ, **revoke['env']},
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return [f'revoke failed ({done.returncode}): {done.stdout}{done.stderr}']
    return []


check('patch(PatchSession) with the API key as bearer token returns the whole patched SessionInfo', do_patch)
check('get(GetSession) with the API key as bearer token returns the same SessionInfo', do_get)
check('voice-api apikey revoke succeeds', do_revoke)
expect_error('after revoke, patch(PatchSession) raises 401 Unauthorized at once', 401, EXPECTED['invalidApiKey'],
             lambda: client.patch(PatchSession(session_id=SESSION_ID, console_data='after revoke')))
expect_error('after revoke, get(GetSession) raises 401 Unauthorized', 401, EXPECTED['invalidApiKey'],
             lambda: client.get(GetSession(session_id=SESSION_ID)))

finish('python auth')
