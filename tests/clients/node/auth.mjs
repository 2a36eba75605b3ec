// Logs in with the real @servicestack/client JsonServiceClient, works with the session
// cookies only, logs out, and is refused afterwards.
//
//   node auth.mjs EXPECTED_JSON_FILE
//
// The file is written by tests/clients.rs:
//   { "baseUrl", "userName", "password", "sessionId": <call session to patch>,
//     "authenticateResponse": <the whole AuthenticateResponse, sessionId left out>,
//     "session": <that SessionInfo before>, "userId", "notAuthenticated": <responseStatus> }
//
// Cookies in Node: @servicestack/client 2.1.13 sets `manageCookies = typeof document ==
// "undefined"` ("because node-fetch doesn't"), so outside a browser it keeps its own jar:
// `createResponse` parses every `Set-Cookie` of a successful response into `client.cookies`
// (it splits the header on ',' — fine for cookies with Max-Age, not with an Expires date) and
// `createRequest` sends them back as a `Cookie` header. No Basic credentials, bearer token or
// X-ss-id header is needed; this script checks that none is sent.

import { readFileSync } from 'node:fs';
import { JsonServiceClient } from '@servicestack/client';
import { check, diff, finish, plain } from './harness.mjs';
import { Authenticate, GetSession, PatchSession } from './dtos.mjs';


// ---- inputs ----

const source = process.argv[2] ?? process.env.EXPECTED;
if (!source) {
    console.error('usage: node auth.mjs EXPECTED_JSON_FILE');
    process.exit(2);
}
const expected = JSON.parse(readFileSync(source, 'utf8'));
const base = expected.baseUrl.replace(/\/$/, '');

// ---- comparison and checks ----


async function expectError(name, wantStatus, call) {
    await check(name, async () => {
        try {
            const result = await call();
            return [`expected an error, got ${JSON.stringify(result)}`];
        } catch (e) {
            if (!e?.responseStatus) return [`threw something without a responseStatus: ${e?.stack ?? JSON.stringify(e)}`];
            return diff(wantStatus, plain(e.responseStatus), '$.responseStatus');
        }
    });
}

/** A client with no credentials of any kind; records the auth headers of each request. */
function newClient() {
    const client = new JsonServiceClient(base);
    client.sent = [];
    client.requestFilter = req => client.sent.push({
        url: req.url,
        authorization: req.headers.get('Authorization'),
        cookie: req.headers.get('Cookie'),
        xssid: req.headers.get('X-ss-id') ?? req.headers.get('X-ss-pid'),
    });
    return client;
}

/** The last request carried the live session in its Cookie header and nothing else. */
function cookieOnly(client, liveId) {
    const last = client.sent.at(-1);
    const problems = [];
    if (!last) return ['no request was recorded'];
    if (last.authorization !== null) problems.push(`sent Authorization: ${last.authorization}`);
    if (last.xssid !== null) problems.push(`sent an X-ss-* header: ${last.xssid}`);
    if (!last.cookie || !last.cookie.split(/; */).includes(`ss-pid=${liveId}`)) {
        problems.push(`the Cookie header does not carry ss-pid=${liveId}: ${last.cookie}`);
    }
    return problems;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// ---- the flow ----

const client = newClient();
let liveId;

await check('post(Authenticate credentials, rememberMe) returns the whole AuthenticateResponse', async () => {
    const res = await client.post(new Authenticate({
        provider: 'credentials', userName: expected.userName, password: expected.password, rememberMe: true,
    }));
    const problems = [];
    if (!(res instanceof Object)) return [`expected an AuthenticateResponse, got ${JSON.stringify(res)}`];
    const { sessionId, ...rest } = plain(res);
    problems.push(...diff(expected.authenticateResponse, rest));
    liveId = client.cookies['ss-pid']?.value;
    if (client.cookies['ss-opt']?.value !== 'perm') problems.push(`ss-opt: expected perm, got ${JSON.stringify(client.cookies['ss-opt'])}`);
    if (!liveId || sessionId !== liveId) problems.push(`sessionId ${sessionId} is not the ss-pid cookie ${liveId}`);
    if (!client.cookies['ss-id']?.value) problems.push('no ss-id cookie was kept');
    if (client.sent[0]?.authorization !== null) problems.push(`the login sent Authorization: ${client.sent[0]?.authorization}`);
    return problems;
});

let patched;
await check('patch(PatchSession) with the session cookies only returns the whole patched SessionInfo', async () => {
    const patch = { consoleData: 'node cookie session', callState: 'Hold' };
    patched = await client.patch(new PatchSession({ sessionId: expected.sessionId, ...patch }));
    const { dateLastModified, ...rest } = plain(patched);
    const { dateLastModified: before, ...want } = { ...expected.session, ...patch, lastModifiedBy: expected.userId };
    const problems = diff(want, rest);
    if (typeof dateLastModified !== 'string' || !ISO_UTC.test(dateLastModified) || dateLastModified === before) {
        problems.push(`$.dateLastModified: expected the new patch time, got ${JSON.stringify(dateLastModified)}`);
    }
    return [...problems, ...cookieOnly(client, liveId)];
});

await check('get(GetSession) with the session cookies only returns the same SessionInfo', async () => {
    const got = await client.get(new GetSession({ sessionId: expected.sessionId }));
    return [...diff(plain(patched), plain(got)), ...cookieOnly(client, liveId)];
});

const savedCookies = structuredClone(client.cookies);

await check('post(Authenticate logout) returns an empty AuthenticateResponse and clears the cookies', async () => {
    const res = await client.post(new Authenticate({ provider: 'logout' }));
    return [
        ...diff({}, plain(res ?? null)),
        ...(client.cookies['ss-pid']?.value ? [`ss-pid still holds ${client.cookies['ss-pid'].value}`] : []),
    ];
});

await expectError('after logout, patch(PatchSession) throws Unauthorized', expected.notAuthenticated,
    () => client.patch(new PatchSession({ sessionId: expected.sessionId, consoleData: 'after logout' })));

// The server ended the session: the old cookies themselves are refused, not just forgotten.
const replay = newClient();
replay.cookies = savedCookies;
await expectError('after logout, the old session cookies are refused too', expected.notAuthenticated,
    () => replay.get(new GetSession({ sessionId: expected.sessionId })));
await check('the replayed request carried the old session cookie', async () => cookieOnly(replay, liveId));

finish('node auth');
