"""ListSessions through the real `servicestack` (PyPI) JsonServiceClient, with the DTOs the server
generates (`/types/python`, saved as dtos.py beside this script by tests/api/clients/lists.rs).

    python lists.py EXPECTED_JSON_FILE

The file (written by tests/api/clients/lists.rs) decides everything:
  { "baseUrl", "userName", "password", "sessions": {id: <SessionInfo as GetSession answers>},
    "cases": [{name, request, python: <query sent>, answer: {ids, paging}, user?}],
    "forbidden": [{name, request, python, status, responseStatus}] }
Requests are built with the generated `ListSessions.from_dict` (camelCase keys, enums by name,
`from` into `from_`) and sent with `client.send(...)`, which takes GET from `IGet`. Every answer
is compared WHOLE: a typed ListResponseOfSessionInfo of SessionInfo items, {items, ...paging}.
Exits 1 with a diff on any mismatch.
"""

import json
import sys
from typing import List

from servicestack import JsonServiceClient, WebServiceException

from harness import Recorder, as_json, check, diff, finish
from dtos import ListResponseOfSessionInfo, ListSessions, SessionInfo

if len(sys.argv) < 2:
    print('usage: python lists.py EXPECTED_JSON_FILE', file=sys.stderr)
    sys.exit(2)
with open(sys.argv[1], encoding='utf-8') as f:
    EXPECTED = json.load(f)
BASE = EXPECTED['baseUrl'].rstrip('/')


def new_client(user=None) -> JsonServiceClient:
    user = user or {'userName': EXPECTED['userName'], 'password': EXPECTED['password']}
    client = JsonServiceClient(BASE)
    client.set_credentials(user['userName'], user['password'])
    client.request_filter = Recorder()
    return client


def sent(query: str) -> List[str]:
    return [f'GET {BASE}/api/ListSessions' + (f'?{query}' if query else '')]


def whole_answer(answer: dict) -> dict:
    return {'items': [EXPECTED['sessions'][i] for i in answer['ids']], **answer['paging']}


# ---- send(ListSessions(...)): GET /api/ListSessions, a typed answer ----

def list_case(c: dict):
    def body():
        client = new_client(c.get('user'))
        request = ListSessions.from_dict(c['request'])
        response = client.send(request)
        if not isinstance(response, ListResponseOfSessionInfo):
            return [f'expected a ListResponseOfSessionInfo, got {response!r}']
        problems = [f'$.items[{i}]: a {type(s).__name__}, not a SessionInfo'
                    for i, s in enumerate(response.items) if not isinstance(s, SessionInfo)]
        problems += diff(whole_answer(c['answer']), as_json(response))
        problems += diff(sent(c['python']), client.request_filter.requests, '$requests')
        return problems
    check(f"send(ListSessions): {c['name']}", body)


for case in EXPECTED['cases']:
    list_case(case)


# ---- account rules: another account is 403 with the server's ResponseStatus ----

def forbidden_case(c: dict):
    def body():
        client = new_client()
        try:
            response = client.send(ListSessions.from_dict(c['request']))
        except WebServiceException as e:
            problems = [] if e.status_code == c['status'] else [f'status {e.status_code}, expected {c["status"]}']
            if e.response_status is None:
                return problems + ['a WebServiceException without a responseStatus']
            problems += diff(c['responseStatus'], as_json(e.response_status), '$.responseStatus')
            problems += diff(sent(c['python']), client.request_filter.requests, '$requests')
            return problems
        return [f'expected an error, got {response!r}']
    check(f"send(ListSessions) of {c['name']} raises {c['status']} {c['responseStatus']['errorCode']}", body)


for case in EXPECTED['forbidden']:
    forbidden_case(case)

finish('python lists')
