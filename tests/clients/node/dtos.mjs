// The DTOs the client scripts send, as ServiceStack's `typescript-ref` generates them from the
// seed (compiled to plain JS): one copy for conformance.mjs, auth.mjs and events.mjs.

export class SessionInfo {
    constructor(init) { Object.assign(this, init); }
}

export class PatchSession {
    constructor(init) { Object.assign(this, init); }
    getTypeName() { return 'PatchSession'; }
    getMethod() { return 'PATCH'; }
    createResponse() { return new SessionInfo(); }
}

export class GetSession {
    constructor(init) { Object.assign(this, init); }
    getTypeName() { return 'GetSession'; }
    getMethod() { return 'GET'; }
    createResponse() { return new SessionInfo(); }
}

export class AuthenticateResponse {
    constructor(init) { Object.assign(this, init); }
}

// @Route("/auth") @Route("/auth/{provider}")
export class Authenticate {
    constructor(init) { Object.assign(this, init); }
    getTypeName() { return 'Authenticate'; }
    getMethod() { return 'POST'; }
    createResponse() { return new AuthenticateResponse(); }
}
