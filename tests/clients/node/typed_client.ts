// A typed program against the DTOs `typescript-ref` generated (dtos.ts beside it): compiled by
// tests/api/metadata with `tsc --strict`, so every use below is checked against the generated
// types, then run against a live voice-api.
//
//   node typed_client.js BASE_URL USER PASSWORD SESSION_ID
//
// PATCHes with `client.api(new PatchSession(...))` and GETs with `client.get(new GetSession(...))`
// (the verb comes from the generated getMethod()). The answers are typed SessionInfo by the
// generated `createResponse()` (the client hands back the parsed JSON, not an instance), so
// the members read below are checked by the compiler; the program prints both answers as one JSON document on stdout for the Rust test to compare whole.

import { JsonServiceClient } from '@servicestack/client';
import {
    GetSession,
    PatchSession,
    SessionCallState,
    SessionHoldReasons,
    SessionInfo,
    SessionQueueStates,
} from './dtos';

// No @types/node: the little of Node this program uses, declared.
declare const process: { argv: string[]; exitCode?: number };

function check(condition: boolean, what: string): void {
    if (!condition) {
        throw new Error(`check failed: ${what}`);
    }
}

async function main(): Promise<void> {
    const [baseUrl, userName, password, sessionId] = process.argv.slice(2);
    const client = new JsonServiceClient(baseUrl);
    client.setCredentials(userName, password);

    const patch = new PatchSession({
        sessionId,
        callState: SessionCallState.Hold,
        holdReason: SessionHoldReasons.Transferring,
        queueState: SessionQueueStates.Queued,
        consoleData: 'typed from dtos.ts',
    });
    const api = await client.api(patch);
    check(api.succeeded, `api(PatchSession) succeeded: ${JSON.stringify(api.error)}`);
    const patched: SessionInfo = api.response!;
    const state: SessionCallState = patched.callState!;
    check(state === SessionCallState.Hold, 'callState is patched');

    const got: SessionInfo = await client.get(new GetSession({ sessionId }));
    const reason: SessionHoldReasons = got.holdReason!;
    check(reason === SessionHoldReasons.Transferring, 'holdReason is stored');

    console.log(JSON.stringify({ patched, got }));
}

main().catch(e => {
    console.error(e);
    process.exitCode = 1;
});
