// The live session feed through the real ServerEventsClient of @servicestack/client 2.1.13,
// with the `eventsource` package as the global EventSource (as that client's own tests do),
// against two instances of voice-api on one database.
//
//   node events.mjs EXPECTED_JSON_FILE
//
// The file is written by tests/api/events/clients.rs:
//   { "a", "b": <base URLs of the two instances>, "userName", "password", "account",
//     "otherAccount": <an account the user is not in>, "sessionId": <a session of "account">,
//     "watcher": { "userName", "password" } <a second user of "account">,
//     "heartbeatIntervalMs", "idleTimeoutMs": <what the servers are configured with> }
//
// Cookies: a browser sends the login cookie with the EventSource request by itself; in Node
// the client's EventSource is given it as a header (the `EventSource` property of
// ServerEventsClient is the constructor it uses). Heartbeats are sent, as the client sends them,
// without credentials: the subscription id is what names them.

import { readFileSync } from 'node:fs';
import EventSource from 'eventsource';
import { JsonServiceClient, ServerEventsClient } from '@servicestack/client';
import { check, diff, finish } from './harness.mjs';
import { Authenticate, PatchSession } from './dtos.mjs';

globalThis.EventSource = EventSource;

const doc = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const sleep = ms => new Promise(r => setTimeout(r, ms));

/** Resolves with the first value `poll` returns that is not undefined, or rejects after `ms`. */
async function until(what, poll, ms = 8000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = poll();
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(20);
    }
}

/** Logs in on `base` and answers the Cookie header the login set. */
async function login(base, userName, password) {
    const client = new JsonServiceClient(base);
    await client.post(new Authenticate({ provider: 'credentials', userName, password }));
    return Object.entries(client.cookies).map(([k, v]) => `${k}=${v.value}`).join('; ');
}

/** An EventSource constructor that sends `cookie`, for ServerEventsClient.EventSource. */
const withCookie = cookie => class extends EventSource {
    constructor(url, init) { super(url, { ...init, headers: { Cookie: cookie } }); }
};

/** A ServerEventsClient on `base` that records everything it receives. */
function subscriber(base, cookie, channels, options = {}) {
    const seen = { connect: null, joins: [], leaves: [], heartbeats: 0, changed: [], errors: [] };
    const client = new ServerEventsClient(base, channels, {
        ...options,
        handlers: {
            onConnect: e => { seen.connect = e; options.onConnect?.(e, client); },
            onJoin: e => seen.joins.push(e),
            onLeave: e => seen.leaves.push(e),
            onHeartbeat: () => seen.heartbeats++,
            SessionChanged: (body, request) => seen.changed.push({ body, eventId: request.eventId, channel: request.channel }),
        },
        onException: e => seen.errors.push(e),
    });
    client.EventSource = withCookie(cookie);
    return { client, seen };
}

const cookie = await login(doc.a, doc.userName, doc.password);
const patcher = new JsonServiceClient(doc.b);
patcher.setCredentials(doc.userName, doc.password);
let n = 0;
const patch = () => patcher.patch(new PatchSession({ sessionId: doc.sessionId, consoleData: `note ${++n}` }));

// One subscriber on A, heartbeating to B, for the whole script.
let heartbeatTo = null;
const main = subscriber(doc.a, cookie, [doc.account], {
    onConnect: (e, client) => {
        // The client posts to options.heartbeatUrl on every tick: send them to the other instance.
        heartbeatTo = e.heartbeatUrl.replace(doc.a, doc.b);
        client.options.heartbeatUrl = heartbeatTo;
    },
});
let lastEventId = null;
main.client.options.resolveStreamUrl = url => lastEventId == null ? url : `${url}&lastEventId=${lastEventId}`;
main.client.start();

await check('onConnect describes the subscription, with URLs on the instance it came from', async () => {
    const c = await until('onConnect', () => main.seen.connect ?? undefined);
    const problems = [];
    for (const key of ['heartbeatUrl', 'unRegisterUrl', 'updateSubscriberUrl'])
        if (!String(c[key]).startsWith(doc.a)) problems.push(`${key} ${c[key]} is not on ${doc.a}`);
    if (!c.heartbeatUrl.endsWith(`/event-heartbeat?id=${c.id}`)) problems.push(`heartbeatUrl ${c.heartbeatUrl}`);
    if (!c.unRegisterUrl.endsWith(`/event-unregister?id=${c.id}`)) problems.push(`unRegisterUrl ${c.unRegisterUrl}`);
    if (!c.updateSubscriberUrl.endsWith(`/event-subscribers/${c.id}`)) problems.push(`updateSubscriberUrl ${c.updateSubscriberUrl}`);
    problems.push(...diff(
        { channels: doc.account, userName: doc.userName, isAuthenticated: 'true',
          heartbeatIntervalMs: doc.heartbeatIntervalMs, idleTimeoutMs: doc.idleTimeoutMs },
        { channels: c.channels, userName: c.userName, isAuthenticated: c.isAuthenticated,
          heartbeatIntervalMs: c.heartbeatIntervalMs, idleTimeoutMs: c.idleTimeoutMs }));
    if (!/^[0-9a-f]{32}$/.test(c.id)) problems.push(`subscription id ${c.id}`);
    return problems;
});

await check('onJoin announces the subscriber on its channel', async () => {
    const join = await until('onJoin', () => main.seen.joins[0]);
    return diff(
        { channel: doc.account, displayName: main.seen.connect.displayName, userId: main.seen.connect.userId },
        { channel: join.channel, displayName: join.displayName, userId: join.userId });
});

await check('a PATCH on instance B reaches the subscriber on A as cmd.SessionChanged with the whole session', async () => {
    const answer = await patch();
    const got = await until('SessionChanged', () => main.seen.changed[0]);
    lastEventId = got.eventId;
    const problems = diff(JSON.parse(JSON.stringify(answer)), got.body);
    if (got.channel !== doc.account) problems.push(`channel ${got.channel}`);
    if (!(got.eventId > 0)) problems.push(`eventId ${got.eventId}`);
    return problems;
});

await check('heartbeats sent to instance B are answered on the stream at A, and keep it past the idle timeout', async () => {
    const before = main.seen.heartbeats;
    await sleep(doc.idleTimeoutMs * 2.5);
    const problems = [];
    if (main.seen.heartbeats < before + 2) problems.push(`only ${main.seen.heartbeats - before} heartbeats answered`);
    if (!heartbeatTo?.startsWith(doc.b)) problems.push(`heartbeats went to ${heartbeatTo}`);
    const answer = await patch();
    const got = await until('SessionChanged after the idle timeout', () => main.seen.changed[1]);
    lastEventId = got.eventId;
    problems.push(...diff(JSON.parse(JSON.stringify(answer)), got.body));
    if (main.seen.leaves.some(l => l.userId === main.seen.connect.userId))
        problems.push('the heartbeating subscriber was announced as leaving');
    return problems;
});

await check('a subscriber that sends no heartbeat expires, and the channel is told (onLeave)', async () => {
    const watcherCookie = await login(doc.a, doc.watcher.userName, doc.watcher.password);
    let opened = false, ended = false;
    const quiet = new (withCookie(watcherCookie))(`${doc.a}/event-stream?channels=${doc.account}`);
    quiet.onopen = () => { opened = true; };
    quiet.onerror = () => { if (opened) { ended = true; quiet.close(); } };
    const join = await until('the quiet subscriber joining', () =>
        main.seen.joins.find(j => j.userName === doc.watcher.userName));
    const leave = await until('the quiet subscriber leaving', () =>
        main.seen.leaves.find(l => l.userName === doc.watcher.userName), doc.idleTimeoutMs * 4);
    await until('its stream ending', () => ended || undefined, 4000);
    return diff({ channel: doc.account, userId: join.userId }, { channel: leave.channel, userId: leave.userId });
});

await check('a client that comes back with lastEventId gets every patch it missed, in order, once, then the live ones', async () => {
    const already = main.seen.changed.length;
    // Drop the connection and keep the client from reconnecting on its own until told.
    clearInterval(main.client.options.heartbeat);
    main.client.eventSource.close();
    const missed = [];
    for (let i = 0; i < 3; i++) missed.push(JSON.parse(JSON.stringify(await patch())));
    main.client.reconnectServerEvents({});
    await until('the missed patches', () => main.seen.changed.length >= already + 3 || undefined);
    missed.push(JSON.parse(JSON.stringify(await patch())));
    await until('the live patch', () => main.seen.changed.length >= already + 4 || undefined);
    await sleep(300);
    const got = main.seen.changed.slice(already);
    const problems = diff(missed, got.map(g => g.body));
    const ids = got.map(g => g.eventId);
    if (ids.some((id, i) => i > 0 && id <= ids[i - 1])) problems.push(`event ids not increasing: ${ids}`);
    return problems;
});

await check('a channel of another account is refused', async () => {
    const other = subscriber(doc.a, cookie, [doc.otherAccount]);
    let status = null;
    const es = new (withCookie(cookie))(`${doc.a}/event-stream?channels=${doc.otherAccount}`);
    es.onerror = e => { status = e.status; es.close(); };
    await until('the refusal', () => status ?? undefined);
    const res = await fetch(`${doc.a}/event-stream?channels=${doc.otherAccount}`, { headers: { Cookie: cookie } });
    const body = await res.json();
    other.client.stop();
    return [
        ...diff(403, status),
        ...diff(403, res.status),
        ...diff('Forbidden', body.responseStatus?.errorCode),
    ];
});

await check('GetEventSubscribers lists the subscriber; unsubscribe and stop end it', async () => {
    // In a browser the login cookie goes along; here the client's service client signs in.
    main.client.serviceClient.setCredentials(doc.userName, doc.password);
    const list = await main.client.getChannelSubscribers();
    const me = list.filter(u => u.userId === main.seen.connect.userId);
    const problems = me.length === 1 ? [] : [`expected the subscriber once, got ${JSON.stringify(list)}`];
    if (me[0] && me[0].channels?.join(',') !== doc.account) problems.push(`channels ${me[0]?.channels}`);
    await main.client.stop();
    return problems;
});

finish('Node.js ServerEventsClient');
