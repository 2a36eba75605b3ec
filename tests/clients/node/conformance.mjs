// Runs the real @servicestack/client JsonServiceClient against a running voice-api.
//
//   node conformance.mjs BASE_URL USER PASSWORD SESSION_ID EXPECTED_JSON_FILE
//
// (each argument may instead come from the environment: BASE_URL, USER_NAME, PASSWORD,
// SESSION_ID, EXPECTED). The expected file is written by tests/clients.rs:
//   { "session": <the seeded SessionInfo>, "userId": "<id of USER>",
//     "unknownSessionId": "...", "notFound": <responseStatus>, "unauthorized": <responseStatus> }
//
// Every response is compared WHOLE with what the server must answer: the seeded session with the
// patched fields replaced. dateLastModified and lastModifiedBy are checked on their own (the
// time of the patch, the caller's user id). Exits 1 with a diff on any mismatch.

import { readFileSync } from 'node:fs';
import { JsonServiceClient } from '@servicestack/client';
import { check, diff, finish, plain } from './harness.mjs';
import { GetSession, PatchSession } from './dtos.mjs';


const SessionCallState = { Disconnected: 'Disconnected', Ringing: 'Ringing', Connected: 'Connected', Hold: 'Hold', Passive: 'Passive' };
const SessionHoldReasons = { None: 'None', Transferring: 'Transferring' };
const SessionQueueStates = { None: 'None', Queued: 'Queued', Ringing: 'Ringing', Connected: 'Connected', Hold: 'Hold', Disconnected: 'Disconnected' };

// ---- inputs ----

const [argBase, argUser, argPassword, argSession, argExpected] = process.argv.slice(2);
const baseUrl = argBase ?? process.env.BASE_URL;
const userName = argUser ?? process.env.USER_NAME;
const password = argPassword ?? process.env.PASSWORD;
const sessionId = argSession ?? process.env.SESSION_ID;
const expectedSource = argExpected ?? process.env.EXPECTED;
if (!baseUrl || !userName || password == null || !sessionId || !expectedSource) {
    console.error('usage: node conformance.mjs BASE_URL USER PASSWORD SESSION_ID EXPECTED_JSON_FILE');
    process.exit(2);
}
const expected = JSON.parse(expectedSource.trimStart().startsWith('{')
    ? expectedSource
    : readFileSync(expectedSource, 'utf8'));

// ---- comparison ----

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/;

/** Compares a SessionInfo with the expected one; the modification stamp is checked apart. */
function sessionProblems(expectedSession, actual, { patchedAfter } = {}) {
    const problems = [];
    if (!(actual instanceof Object) || Array.isArray(actual)) {
        return [`expected a SessionInfo object, got ${JSON.stringify(actual)}`];
    }
    const { dateLastModified, lastModifiedBy, ...rest } = plain(actual);
    const { dateLastModified: _d, lastModifiedBy: _b, ...want } = expectedSession;
    problems.push(...diff(want, rest));
    if (lastModifiedBy !== expected.userId) {
        problems.push(`$.lastModifiedBy: expected the caller's id ${JSON.stringify(expected.userId)}, got ${JSON.stringify(lastModifiedBy)}`);
    }
    if (typeof dateLastModified !== 'string' || !ISO_UTC.test(dateLastModified)) {
        problems.push(`$.dateLastModified: expected an ISO 8601 UTC time, got ${JSON.stringify(dateLastModified)}`);
    } else if (patchedAfter !== undefined) {
        const at = Date.parse(dateLastModified);
        // The server's clock is this machine's; allow a little slack for rounding.
        if (!(at >= patchedAfter - 2000 && at <= Date.now() + 2000)) {
            problems.push(`$.dateLastModified: ${dateLastModified} is not the time of the patch (${new Date(patchedAfter).toISOString()} .. now)`);
        }
    }
    return problems;
}

// ---- checks ----

/** A client as an app would make it: Basic credentials sent up front; records request URLs. */
function newClient(configure, pass = password) {
    const client = new JsonServiceClient(baseUrl);
    client.setCredentials(userName, pass);
    configure?.(client);
    client.urls = [];
    client.urlFilter = url => client.urls.push(url);
    return client;
}

function urlProblems(client, expectedUrls) {
    return diff(expectedUrls, client.urls, '$urls');
}

async function expectError(name, expectedStatus, call) {
    await check(name, async () => {
        let result;
        try {
            result = await call();
        } catch (e) {
            if (!e?.responseStatus) {
                return [`threw something without a responseStatus: ${e?.stack ?? JSON.stringify(e)}`];
            }
            return diff(expectedStatus, plain(e.responseStatus), '$.responseStatus');
        }
        return [`expected an error, got ${JSON.stringify(result)}`];
    });
}

let current = structuredClone(expected.session);

/** One PATCH then GET through `client`, expecting the patch applied on top of `current`. */
async function patchThenGet(label, client, patch, replyBase) {
    const want = { ...current, ...patch };
    let patched;
    await check(`${label}: patch(PatchSession) returns the whole patched SessionInfo`, async () => {
        client.urls.length = 0;
        const started = Date.now();
        patched = await client.patch(new PatchSession({ sessionId, ...patch }));
        return [
            ...sessionProblems(want, patched, { patchedAfter: started }),
            ...(patched?.dateLastModified === current.dateLastModified
                ? [`$.dateLastModified: unchanged by the patch (${current.dateLastModified})`] : []),
            ...urlProblems(client, [`${replyBase}/PatchSession`]),
        ];
    });
    await check(`${label}: get(GetSession) returns the same SessionInfo`, async () => {
        client.urls.length = 0;
        const got = await client.get(new GetSession({ sessionId }));
        return [
            ...(patched ? diff(plain(patched), plain(got)) : sessionProblems(want, got)),
            ...urlProblems(client, [`${replyBase}/GetSession?sessionId=${encodeURIComponent(sessionId)}`]),
        ];
    });
    current = { ...want, dateLastModified: patched?.dateLastModified, lastModifiedBy: expected.userId };
}

const base = baseUrl.replace(/\/$/, '');

// Default base path: /api/{Op} (@servicestack/client >= 2.1).
const apiClient = newClient();
await patchThenGet('/api', apiClient, {
    consoleData: 'node /api — “patched” <ok> & done',
    callState: SessionCallState.Hold,
    holdReason: SessionHoldReasons.Transferring,
    queueState: SessionQueueStates.Queued,
}, `${base}/api`);

// A sparse patch: only the fields sent change.
await patchThenGet('/api sparse', apiClient, { consoleData: 'node sparse' }, `${base}/api`);

// basePath = null: the older predefined routes /json/reply/{Op}.
const replyClient = newClient(c => { c.basePath = null; });
await patchThenGet('/json/reply', replyClient, {
    consoleData: 'node /json/reply',
    callState: SessionCallState.Connected,
    holdReason: SessionHoldReasons.None,
    queueState: SessionQueueStates.Connected,
}, `${base}/json/reply`);

// Errors arrive as the thrown ErrorResponse with the server's whole responseStatus.
const unknown = new PatchSession({ sessionId: expected.unknownSessionId, consoleData: 'x' });
await expectError('/api: patch of an unknown session throws NotFound', expected.notFound,
    () => newClient().patch(unknown));
await expectError('/json/reply: patch of an unknown session throws NotFound', expected.notFound,
    () => newClient(c => { c.basePath = null; }).patch(unknown));
await check('/api: api(PatchSession) of an unknown session gives a failed ApiResult', async () => {
    const result = await newClient().api(unknown);
    return [
        ...(result.failed ? [] : ['result.failed: expected true']),
        ...diff(expected.notFound, plain(result.error), '$.error'),
    ];
});
await expectError('/api: a wrong password throws Unauthorized', expected.unauthorized,
    () => newClient(undefined, `${password}-wrong`).get(new GetSession({ sessionId })));

finish('node conformance');
