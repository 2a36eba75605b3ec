// Delivery latency of the live session feed, for scripts/bench_events: SUBSCRIBERS streams of
// /event-stream on one account's channel, then PATCHES sequential PatchSessions (INTERVAL ms
// apart) of that account's sessions; for every delivery, the time from the PATCH's response (and
// from its request) to the event at the subscriber. Node's own fetch, no dependencies.
//
//   node scripts/bench_events.mjs BASE_URL USER PASSWORD ACCOUNT SUBSCRIBERS PATCHES INTERVAL_MS SESSION_ID...
//
// Prints one JSON line: the percentiles (ms) and how many deliveries were missing.

const [base, user, password, account, nSubs, nPatches, interval, ...sessions] = process.argv.slice(2);
const subscribers = Number(nSubs), patches = Number(nPatches), gap = Number(interval);
const auth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
const sleep = ms => new Promise(r => setTimeout(r, ms));
// Each run's patches differ from the last run's: a patch that changes nothing writes nothing.
const run = Date.now().toString(36);

// arrivals[k][s]: when subscriber s got patch k's event.
const arrivals = Array.from({ length: patches }, () => new Array(subscribers).fill(null));
let connected = 0;
const controllers = [];

async function subscribe(s) {
    const ctl = new AbortController();
    controllers.push(ctl);
    const res = await fetch(`${base}/event-stream?channels=${account}`, {
        headers: { Authorization: auth, Accept: 'text/event-stream' }, signal: ctl.signal,
    });
    if (res.status !== 200) throw new Error(`subscriber ${s}: ${res.status} ${await res.text()}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    let first = true;
    for (;;) {
        let chunk;
        try { chunk = await reader.read(); } catch { return; }
        if (chunk.done) return;
        const now = performance.now();
        buf += decoder.decode(chunk.value, { stream: true });
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, end);
            buf = buf.slice(end + 2);
            if (first) { first = false; connected++; continue; }
            if (!frame.includes('@cmd.SessionChanged ')) continue;
            const m = /"consoleData":"bench (\d+) /.exec(frame);
            if (m) arrivals[Number(m[1])][s] ??= now;
        }
    }
}

const streams = Array.from({ length: subscribers }, (_, s) => subscribe(s));
const started = performance.now();
while (connected < subscribers) {
    if (performance.now() - started > 60000) throw new Error(`only ${connected} of ${subscribers} connected`);
    await sleep(20);
}
await sleep(500);

const sent = [], answered = [];
for (let k = 0; k < patches; k++) {
    const id = sessions[k % sessions.length];
    sent[k] = performance.now();
    const res = await fetch(`${base}/sessions/${id}`, {
        method: 'PATCH', headers: { Authorization: auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ consoleData: `bench ${k} ${run}` }),
    });
    await res.text();
    answered[k] = performance.now();
    if (res.status !== 200) throw new Error(`PATCH ${k}: ${res.status}`);
    await sleep(gap);
}
await sleep(2000);
for (const c of controllers) c.abort();
await Promise.allSettled(streams);

const afterResponse = [], afterRequest = [], patch = [];
let missing = 0;
for (let k = 0; k < patches; k++) {
    patch.push(answered[k] - sent[k]);
    for (const t of arrivals[k]) {
        if (t == null) { missing++; continue; }
        afterResponse.push(t - answered[k]);
        afterRequest.push(t - sent[k]);
    }
}
const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? Number(s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))].toFixed(2)) : null;
};
const summary = xs => ({ p50: pct(xs, 50), p99: pct(xs, 99), max: pct(xs, 100) });
console.log(JSON.stringify({
    subscribers, patches, deliveries: afterResponse.length, missing,
    afterResponse: summary(afterResponse), afterRequest: summary(afterRequest), patch: summary(patch),
}));
