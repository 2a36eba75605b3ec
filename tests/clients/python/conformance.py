"""Runs the real `servicestack` (PyPI) JsonServiceClient against a running voice-api.

    python conformance.py BASE_URL USER PASSWORD SESSION_ID EXPECTED_JSON_FILE

(each argument may instead come from the environment: BASE_URL, USER_NAME, PASSWORD, SESSION_ID,
EXPECTED). The expected file is written by tests/clients.rs:
  { "session": <the seeded SessionInfo>, "userId": "<id of USER>",
    "unknownSessionId": "...", "notFound": <responseStatus>, "unauthorized": <responseStatus> }

Every response is compared WHOLE with what the server must answer: the seeded session with the
patched fields replaced. dateLastModified and lastModifiedBy are checked on their own (the time of
the patch, the caller's user id). Exits 1 with a diff on any mismatch.
"""

import copy
import datetime
import json
import os
import re
import sys
import time
from typing import List, Optional

from servicestack import JsonServiceClient, WebServiceException

from harness import Recorder, as_json, check, diff, finish, show

# DTOs, as `x python` generates them from the seed (dtos.py, shared with auth.py).
from dtos import (
    GetSession,
    PatchSession,
    SessionCallState,
    SessionHoldReasons,
    SessionInfo,
    SessionQueueStates,
)


# ---- inputs ----

def arg(index: int, env: str) -> Optional[str]:
    return sys.argv[index] if len(sys.argv) > index else os.environ.get(env)


BASE_URL = arg(1, 'BASE_URL')
USER = arg(2, 'USER_NAME')
PASSWORD = arg(3, 'PASSWORD')
SESSION_ID = arg(4, 'SESSION_ID')
EXPECTED_SOURCE = arg(5, 'EXPECTED')
if not BASE_URL or not USER or PASSWORD is None or not SESSION_ID or not EXPECTED_SOURCE:
    print('usage: python conformance.py BASE_URL USER PASSWORD SESSION_ID EXPECTED_JSON_FILE',
          file=sys.stderr)
    sys.exit(2)
if EXPECTED_SOURCE.lstrip().startswith('{'):
    EXPECTED = json.loads(EXPECTED_SOURCE)
else:
    with open(EXPECTED_SOURCE, encoding='utf-8') as f:
        EXPECTED = json.load(f)
BASE = BASE_URL.rstrip('/')

# ---- comparison ----

ISO_UTC = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$')


def parse_utc(text: str) -> float:
    main, _, frac = text[:-1].partition('.')
    at = datetime.datetime.strptime(main, '%Y-%m-%dT%H:%M:%S').replace(tzinfo=datetime.timezone.utc)
    return at.timestamp() + (float('0.' + frac) if frac else 0.0)


def session_problems(want: dict, actual, patched_after: Optional[float] = None) -> List[str]:
    if not isinstance(actual, SessionInfo):
        return [f'expected a SessionInfo, got {actual!r}']
    got = as_json(actual)
    date_last_modified = got.pop('dateLastModified', None)
    last_modified_by = got.pop('lastModifiedBy', None)
    want = {k: v for k, v in want.items() if k not in ('dateLastModified', 'lastModifiedBy')}
    problems = diff(want, got)
    if last_modified_by != EXPECTED['userId']:
        problems.append(f"$.lastModifiedBy: expected the caller's id {show(EXPECTED['userId'])}, "
                        f'got {show(last_modified_by)}')
    if not isinstance(date_last_modified, str) or not ISO_UTC.match(date_last_modified):
        problems.append(f'$.dateLastModified: expected an ISO 8601 UTC time, got {show(date_last_modified)}')
    elif patched_after is not None:
        at = parse_utc(date_last_modified)
        if not (patched_after - 2 <= at <= time.time() + 2):
            problems.append(f'$.dateLastModified: {date_last_modified} is not the time of the patch')
    return problems


# ---- checks ----

def new_client(base_path: Optional[str] = 'api', password: str = PASSWORD) -> JsonServiceClient:
    client = JsonServiceClient(BASE_URL)
    if base_path != 'api':
        client.set_base_path(base_path)
    client.set_credentials(USER, password)
    client.request_filter = Recorder()
    return client


def expect_error(name: str, expected_status: dict, call) -> None:
    def body():
        try:
            result = call()
        except WebServiceException as e:
            if e.response_status is None:
                return [f'WebServiceException {e.status_code} without a responseStatus']
            return diff(expected_status, as_json(e.response_status), '$.responseStatus')
        return [f'expected an error, got {result!r}']
    check(name, body)


current = copy.deepcopy(EXPECTED['session'])


def patch_then_get(label: str, client: JsonServiceClient, patch: dict, reply_base: str) -> None:
    global current
    want = {**current, **as_json(PatchSession(**patch))}
    want.pop('sessionId', None)
    patched = {}

    def do_patch():
        client.request_filter.requests.clear()
        started = time.time()
        res = client.patch(PatchSession(session_id=SESSION_ID, **patch))
        problems = session_problems(want, res, patched_after=started)
        if isinstance(res, SessionInfo):
            patched['json'] = as_json(res)
            if res.date_last_modified == current.get('dateLastModified'):
                problems.append(f'$.dateLastModified: unchanged by the patch ({res.date_last_modified})')
        problems += diff([f'PATCH {reply_base}/PatchSession'], client.request_filter.requests, '$requests')
        return problems

    def do_get():
        client.request_filter.requests.clear()
        res = client.get(GetSession(session_id=SESSION_ID))
        if 'json' in patched:
            problems = diff(patched['json'], as_json(res)) if isinstance(res, SessionInfo) \
                else [f'expected a SessionInfo, got {res!r}']
        else:
            problems = session_problems(want, res)
        problems += diff([f'GET {reply_base}/GetSession?sessionId={SESSION_ID}'],
                         client.request_filter.requests, '$requests')
        return problems

    check(f'{label}: patch(PatchSession) returns the whole patched SessionInfo', do_patch)
    check(f'{label}: get(GetSession) returns the same SessionInfo', do_get)
    current = {**want, 'dateLastModified': patched.get('json', {}).get('dateLastModified'),
               'lastModifiedBy': EXPECTED['userId']}


# Default base path: /api/{Op}.
api_client = new_client()
patch_then_get('/api', api_client, dict(
    console_data='python /api — “patched” <ok> & done',
    call_state=SessionCallState.HOLD,
    hold_reason=SessionHoldReasons.TRANSFERRING,
    queue_state=SessionQueueStates.QUEUED,
), f'{BASE}/api')

# A sparse patch: only the fields sent change.
patch_then_get('/api sparse', api_client, dict(console_data='python sparse'), f'{BASE}/api')

# An empty base path: the older predefined routes /json/reply/{Op}.
reply_client = new_client(base_path='')
patch_then_get('/json/reply', reply_client, dict(
    console_data='python /json/reply',
    call_state=SessionCallState.CONNECTED,
    hold_reason=SessionHoldReasons.NONE,
    queue_state=SessionQueueStates.CONNECTED,
), f'{BASE}/json/reply')

# Errors are raised as WebServiceException carrying the server's whole responseStatus.
unknown = PatchSession(session_id=EXPECTED['unknownSessionId'], console_data='x')
expect_error('/api: patch of an unknown session raises NotFound', EXPECTED['notFound'],
             lambda: new_client().patch(unknown))
expect_error('/json/reply: patch of an unknown session raises NotFound', EXPECTED['notFound'],
             lambda: new_client(base_path='').patch(unknown))
expect_error('/api: a wrong password raises Unauthorized', EXPECTED['unauthorized'],
             lambda: new_client(password=PASSWORD + '-wrong').get(GetSession(session_id=SESSION_ID)))

finish('python conformance')
