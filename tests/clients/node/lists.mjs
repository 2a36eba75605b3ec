// ListSessions through the real @servicestack/client JsonServiceClient, with the DTOs the
// server generates (`/types/typescript`, compiled by tests/api/clients/lists.rs to dtos.js
// beside this script).
//
//   node lists.mjs EXPECTED_JSON_FILE
//
// The file (written by tests/api/clients/lists.rs) decides everything:
//   { "baseUrl", "userName", "password", "sessions": {id: <SessionInfo as GetSession answers>},
//     "cases": [{name, request, node: <query sent>, answer: {ids, paging}, user?}],
//     "forbidden": [{name, request, node, status, responseStatus}],
//     "cli": [{name, query: [[key, value]...], url, answer, log?}] }
// Every answer is compared WHOLE: {items: the sessions of `ids`, in order, ...paging}.
// Exits 1 with a diff on any mismatch.

import { readFileSync } from 'node:fs';
import { JsonServiceClient } from '@servicestack/client';
import { check, diff, finish, plain } from './harness.mjs';
import { ListResponseOfSessionInfo, ListSessions } from './dtos.js';

const source = process.argv[2] ?? process.env.EXPECTED;
if (!source) {
    console.error('usage: node lists.mjs EXPECTED_JSON_FILE');
    process.exit(2);
}
const expected = JSON.parse(readFileSync(source, 'utf8'));
const base = expected.baseUrl.replace(/\/$/, '');

// ---- comparison and checks ----


/** Basic credentials sent up front; records every request URL. */
function newClient(user = { userName: expected.userName, password: expected.password }) {
    const client = new JsonServiceClient(base);
    client.setCredentials(user.userName, user.password);
    client.urls = [];
    client.urlFilter = url => client.urls.push(url);
    return client;
}

/** The whole ListResponse expected: every item as GetSession answers it. */
function wholeAnswer(answer) {
    return { items: answer.ids.map(id => expected.sessions[id]), ...answer.paging };
}

const withQuery = (path, query) => query === '' ? path : `${path}?${query}`;

// ---- get(new ListSessions(...)) on /api/ListSessions ----

for (const c of expected.cases) {
    await check(`get(ListSessions): ${c.name}`, async () => {
        const client = newClient(c.user);
        const request = new ListSessions(c.request);
        const response = await client.get(request);
        return [
            ...diff(wholeAnswer(c.answer), plain(response)),
            ...diff([withQuery(`${base}/api/ListSessions`, c.node)], client.urls, '$urls'),
        ];
    });
}

// createResponse() names the generated response type; api() wraps the same answer.
await check('api(ListSessions) succeeds with the same whole answer', async () => {
    const c = expected.cases[0];
    const request = new ListSessions(c.request);
    const result = await newClient().api(request);
    return [
        ...(request.createResponse() instanceof ListResponseOfSessionInfo ? [] : ['createResponse() is not a ListResponseOfSessionInfo']),
        ...(request.getMethod() === 'GET' ? [] : [`getMethod() is ${request.getMethod()}`]),
        ...(result.succeeded ? [] : [`api() failed: ${JSON.stringify(result.error)}`]),
        ...diff(wholeAnswer(c.answer), plain(result.response), '$.response'),
    ];
});

// ---- account rules: another account is 403 with the server's ResponseStatus ----

for (const c of expected.forbidden) {
    await check(`get(ListSessions) of ${c.name} throws ${c.status} ${c.responseStatus.errorCode}`, async () => {
        const client = newClient();
        try {
            const response = await client.get(new ListSessions(c.request));
            return [`expected an error, got ${JSON.stringify(response)}`];
        } catch (e) {
            if (!e?.responseStatus) return [`threw something without a responseStatus: ${e?.stack ?? JSON.stringify(e)}`];
            return [
                ...diff(c.responseStatus, plain(e.responseStatus), '$.responseStatus'),
                ...diff([withQuery(`${base}/api/ListSessions`, c.node)], client.urls, '$urls'),
            ];
        }
    });
    await check(`api(ListSessions) of ${c.name} is a failed ApiResult`, async () => {
        const result = await newClient().api(new ListSessions(c.request));
        return [
            ...(result.failed ? [] : ['result.failed: expected true']),
            ...diff(c.responseStatus, plain(result.error), '$.error'),
        ];
    });
}

// ---- the Evo Voice CLI's calls: /sessions, arrays comma-joined by URLSearchParams ----

/** The URL as the CLI builds it: `new URL(path, base/)`, `searchParams.set`, arrays joined. */
function cliUrl(path, query) {
    const url = new URL(path.replace(/^\//, ''), `${base}/`);
    for (const [k, v] of query) url.searchParams.set(k, Array.isArray(v) ? v.join(',') : String(v));
    return url.toString();
}

for (const c of expected.cli) {
    await check(`${c.name}: GET ${c.url}`, async () => {
        const client = newClient();
        const url = cliUrl('/sessions', c.query);
        const response = await client.get(url);
        const problems = [
            ...diff(`${base}${c.url}`, url, '$url'),
            ...diff(wholeAnswer(c.answer), plain(response)),
        ];
        if (c.log !== undefined) problems.push(...diff(c.log, plain(response?.items?.[0]?.log), '$.items[0].log'));
        return problems;
    });
}

finish('node lists');
