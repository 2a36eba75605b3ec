#!/usr/bin/env python3
"""Deterministic benchmark data for `scripts/bench`: a JSON array of SessionInfo documents in the
API's own JSON form (what GET returns, what `voice-api import` reads).

    scripts/bench_data.py [--sessions N] [--accounts M] [--seed S] > sessions.json

Session i (0-based) has id SESSION_PREFIX + i zero-padded to 6 digits (24 characters, shaped like
the original's ObjectId hex ids) and belongs to account i % M. `scripts/bench` builds the same
ids in its pgbench script and its wrk Lua scripts, so keep the three in step.

Each session is a few KB like a real one: 2-4 members with applicationData, 6-14 log entries,
a 2-3 level customer breadcrumb, and the scalar fields a live call has.
"""

import argparse
import datetime as dt
import json
import random
import sys

SESSION_PREFIX = "65f0a1b2c3d4e5f6a7"  # + 6 digits = 24 characters
ACCOUNT_PREFIX = "65f0acc0ffee"  # + 12 digits = 24 characters
EPOCH = dt.datetime(2026, 11, 1, 8, 0, 0, tzinfo=dt.timezone.utc)

FIRST = ["Jane", "Sam", "Ana", "Luis", "Mei", "Omar", "Priya", "Tom", "Zoe", "Ivan", "Kofi", "Lena"]
LAST = ["Caller", "Agent", "Garcia", "Chen", "Okafor", "Novak", "Smith", "Tanaka", "Kowalski", "Haddad"]
COMPANIES = ["Northwind Traders", "Contoso Ltd", "Fabrikam", "Tailspin Toys", "Wide World Importers",
             "Litware", "Adventure Works", "Proseware", "Wingtip Toys", "Fourth Coffee"]
SEGMENTS = ["Enterprise Customers", "SMB Customers", "Partners", "Public Sector"]
REGIONS = ["EMEA", "North America", "APAC", "LATAM"]
QUEUES = ["Billing", "Support", "Sales", "Escalations", "Onboarding"]
LOG_MESSAGES = [
    "Incoming call from {phone} to {line}",
    "Call entered flow '{queue} routing' (node: Business hours check)",
    "Caller selected option {digit} in IVR menu '{queue}'",
    "Call queued in '{queue}' with priority {digit}",
    "Ringing agent {agent} ({endpoint})",
    "Agent {agent} answered after {secs} seconds",
    "Call placed on hold by {agent}: waiting for supervisor",
    "Call resumed by {agent}",
    "Recording started (dual channel, retention 90 days)",
    "Transfer to '{queue}' requested by {agent}",
    "Conference {conf} created with {digit} participants",
    "CRM screen-pop sent for contact crm-{digit}{secs}",
    "Post-call survey offered; caller accepted",
    "Wrap-up code 'Resolved - first contact' set by {agent}",
]
CALL_STATES = ["Disconnected", "Ringing", "Connected", "Hold", "Passive"]
QUEUE_STATES = ["None", "Queued", "Ringing", "Connected", "Hold", "Disconnected"]
MEMBER_STATES = ["None", "Ringing", "Connected", "Hold"]


def session_id(i: int) -> str:
    return f"{SESSION_PREFIX}{i:06d}"


def account_id(a: int) -> str:
    return f"{ACCOUNT_PREFIX}{a:012d}"


def hexid(rng: random.Random) -> str:
    return "%024x" % rng.getrandbits(96)


def sid(rng: random.Random, prefix: str = "CA") -> str:
    return prefix + "%032x" % rng.getrandbits(128)


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def phone(rng: random.Random) -> str:
    return f"+1{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}"


def member(rng: random.Random, role: str, original: bool, account: int) -> dict:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    identity = hexid(rng)
    app = {
        "crmContactId": f"crm-{rng.randint(100000, 999999)}",
        "language": rng.choice(["en-US", "en-GB", "es-MX", "fr-CA", "de-DE"]),
        "region": rng.choice(REGIONS),
        "skill": rng.choice(QUEUES),
    }
    for k in range(rng.randint(0, 3)):
        app[f"custom{k}"] = f"value-{rng.randint(0, 10**9)}"
    return {
        "identity": identity,
        "endpointId": hexid(rng),
        "displayName": name,
        "isOriginalMember": original,
        "avatarUrl": f"https://cdn.evovoice.example/avatars/{account_id(account)}/{identity}.png",
        "applicationData": app,
        "callState": rng.choice(MEMBER_STATES),
        "role": role,
        "callSid": sid(rng),
        "muted": rng.random() < 0.1,
    }


def session(i: int, accounts: int, rng: random.Random) -> dict:
    a = i % accounts
    created = EPOCH + dt.timedelta(seconds=i * 37, milliseconds=rng.randint(0, 999))
    company = rng.choice(COMPANIES)
    queue = rng.choice(QUEUES)
    line = f"+1555{a:03d}{rng.randint(1000, 9999)}"
    caller_phone = phone(rng)
    members = [member(rng, "Caller", True, a)]
    members += [member(rng, "Agent", False, a) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.3:
        members.append(member(rng, "Transfer", False, a))
    agent = members[1]["displayName"]
    conf = sid(rng, "CF")
    log = []
    t = created
    for _ in range(rng.randint(6, 14)):
        t += dt.timedelta(seconds=rng.randint(1, 40), milliseconds=rng.randint(0, 999))
        msg = rng.choice(LOG_MESSAGES).format(
            phone=caller_phone, line=line, queue=queue, digit=rng.randint(1, 9),
            agent=agent, endpoint=members[1]["endpointId"], secs=rng.randint(2, 45), conf=conf)
        log.append({"date": iso(t), "message": msg})
    ended = rng.random() < 0.4
    customer = hexid(rng)
    breadcrumb = [{"id": hexid(rng), "name": rng.choice(SEGMENTS)}]
    if rng.random() < 0.5:
        breadcrumb.append({"id": hexid(rng), "name": rng.choice(REGIONS)})
    breadcrumb.append({"id": customer, "name": company})
    doc = {
        "id": session_id(i),
        "dateCreated": iso(created),
        "dateLastModified": iso(t),
        "createdBy": "system",
        "lastModifiedBy": members[1]["identity"],
        "dialState": "None" if ended else "Active",
        "callState": "Disconnected" if ended else rng.choice(CALL_STATES),
        "queueState": "Disconnected" if ended else rng.choice(QUEUE_STATES),
        "accountId": account_id(a),
        "accountName": f"Bench Account {a:02d}",
        "customerId": customer,
        "customerBreadcrumb": breadcrumb,
        "customerName": company,
        "endpointId": hexid(rng),
        "endpointName": f"Main Line {line}",
        "destination": line,
        "toAddress": line,
        "fromAddress": caller_phone,
        "fromName": members[0]["displayName"],
        "answeredByName": agent,
        "queueMemberId": hexid(rng),
        "channel": "Voice",
        "ended": ended,
        "callSid": members[0]["callSid"],
        "consoleData": f"Caller asked about invoice INV-{rng.randint(10000, 99999)}; verified account",
        "holdQueueName": f"{queue} hold",
        "holdReason": "None",
        "conferenceSid": conf,
        "displayName": f"{members[0]['displayName']} ({company})",
        "log": log,
        "members": members,
        "callbackNumber": caller_phone,
        "answeredById": members[1]["endpointId"],
        "direction": "Incoming" if rng.random() < 0.8 else "Outgoing",
        "fromPhoneNumber": caller_phone,
        "mostRecentParticipantCallSid": members[-1]["callSid"],
        "wasMissed": rng.random() < 0.05,
        "ringQueueId": hexid(rng),
    }
    if ended:
        doc["dateCompleted"] = iso(t)
        doc["outcome"] = rng.choice(["Completed", "Voicemail", "Abandoned", "Transferred"])
    return doc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=10_000)
    p.add_argument("--accounts", type=int, default=10)
    p.add_argument("--seed", type=int, default=20261125)
    args = p.parse_args()
    if not 1 <= args.sessions <= 1_000_000 or args.accounts < 1:
        p.error("--sessions must be 1..1000000 and --accounts at least 1")
    rng = random.Random(args.seed)
    out = sys.stdout
    out.write("[")
    for i in range(args.sessions):
        if i:
            out.write(",\n")
        json.dump(session(i, args.accounts, rng), out, separators=(",", ":"))
    out.write("]\n")


if __name__ == "__main__":
    main()
