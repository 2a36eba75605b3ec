//! Format negotiation and path normalisation. The input is split at newlines into path, query,
//! Accept and Content-Type (a missing part is `None`). Oracles: no panic; for a request path
//! (one starting with '/', as every HTTP origin-form target does) a rewritten path is still a
//! path, no longer than the original.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voice_api::wire::negotiate::negotiate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(4, '\n');
    let path = parts.next().unwrap_or("");
    let query = parts.next();
    let accept = parts.next();
    let content_type = parts.next();
    if let Ok(n) = negotiate(path, query, accept, content_type)
        && let Some(p) = n.rewritten_path
        && path.starts_with('/')
    {
        assert!(p.starts_with('/'), "{path:?} → {p:?}");
        assert!(p.len() <= path.len() + 1, "{path:?} → {p:?}");
    }
});
