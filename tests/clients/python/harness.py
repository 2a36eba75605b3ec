"""What the client conformance scripts share: the whole-value comparison and the checks' bookkeeping.

Each script runs its checks with `check(name, body)` (body returns a list of problems, or
raises) and ends with `finish(label)`, which prints the totals and exits 1 on any failure.
"""

import json
import sys
import traceback
from typing import List

from servicestack import WebServiceException
from servicestack.reflection import to_json

ABSENT = object()


def show(v) -> str:
    return '(absent)' if v is ABSENT else json.dumps(v, ensure_ascii=False)


def diff(expected, actual, path='$') -> List[str]:
    """Every difference between two JSON values, as 'path: expected X, got Y' lines."""
    if isinstance(expected, list) and isinstance(actual, list):
        out = [] if len(expected) == len(actual) else [f'{path}: expected {len(expected)} items, got {len(actual)}']
        for i in range(max(len(expected), len(actual))):
            e = expected[i] if i < len(expected) else ABSENT
            a = actual[i] if i < len(actual) else ABSENT
            out.extend(diff(e, a, f'{path}[{i}]'))
        return out
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k in list(expected) + [k for k in actual if k not in expected]:
            out.extend(diff(expected.get(k, ABSENT), actual.get(k, ABSENT), f'{path}.{k}'))
        return out
    if type(expected) is type(actual) and expected == actual:
        return []
    return [f'{path}: expected {show(expected)}, got {show(actual)}']


def as_json(dto) -> dict:
    """The DTO as the client's own JSON (camelCase, nulls omitted)."""
    return json.loads(to_json(dto))


class Recorder:
    """Records each request's method and URL, through the client's request filter."""

    def __init__(self):
        self.requests: List[str] = []

    def __call__(self, info):
        self.requests.append(f'{info.method} {info.url}')


_totals = {'passed': 0, 'failed': 0}


def check(name: str, body) -> None:
    try:
        problems = body()
    except WebServiceException as e:
        problems = [f'threw WebServiceException {e.status_code}: {e.response_status}']
    except Exception:  # noqa: BLE001 - any failure is reported, not raised
        problems = [f'threw {traceback.format_exc()}']
    if problems:
        _totals['failed'] += 1
        print(f'FAIL {name}\n  ' + '\n  '.join(problems))
    else:
        _totals['passed'] += 1
        print(f'ok   {name}')


def finish(label: str) -> None:
    """Prints the totals and exits: 0 when every check passed, else 1."""
    print(f"{label}: {_totals['passed']} passed, {_totals['failed']} failed")
    sys.exit(0 if _totals['failed'] == 0 else 1)
