// What the client conformance scripts share: the whole-value comparison and the checks'
// bookkeeping. Each script runs its checks with `check(name, body)` (body returns a list of
// problems, or throws) and ends with `finish(label)`, which prints the totals and exits 1 on
// any failure.

/** Every difference between two JSON values, as "path: expected X, got Y" lines. */
export function diff(want, got, path = '$') {
    const show = v => v === undefined ? '(absent)' : JSON.stringify(v);
    const isObject = v => v !== null && typeof v === 'object';
    if (Array.isArray(want) || Array.isArray(got)) {
        if (!Array.isArray(want) || !Array.isArray(got)) return [`${path}: expected ${show(want)}, got ${show(got)}`];
        const out = want.length === got.length ? [] : [`${path}: expected ${want.length} items, got ${got.length}`];
        for (let i = 0; i < Math.max(want.length, got.length); i++) out.push(...diff(want[i], got[i], `${path}[${i}]`));
        return out;
    }
    if (isObject(want) && isObject(got)) {
        const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])];
        return keys.flatMap(k => diff(want[k], got[k], `${path}.${k}`));
    }
    return Object.is(want, got) ? [] : [`${path}: expected ${show(want)}, got ${show(got)}`];
}

/** A value as plain JSON (a typed DTO's own fields, nothing else). */
export const plain = value => JSON.parse(JSON.stringify(value));

let passed = 0;
let failed = 0;

export async function check(name, body) {
    try {
        const problems = await body();
        if (problems.length === 0) {
            passed++;
            console.log(`ok   ${name}`);
        } else {
            failed++;
            console.log(`FAIL ${name}\n  ${problems.join('\n  ')}`);
        }
    } catch (e) {
        failed++;
        const detail = e?.responseStatus ? JSON.stringify(e) : (e?.stack ?? String(e));
        console.log(`FAIL ${name}: threw ${detail}`);
    }
}

/** Prints the totals and exits: 0 when every check passed, else 1. */
export function finish(label) {
    console.log(`${label}: ${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
}
