//! Request binding: a JSON or DataContract XML body (`Binder::from_body`), or none, then
//! query/form pairs (`apply_pairs`), then validation (`finish::<PatchSession>`). The first
//! byte picks the body format and whether the pairs overwrite; the rest up to the first 0xFF
//! byte is the body, after it a query string. Oracle: no panic; a bound PatchSession respects
//! the contract's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voice_api::contract::Dto;
use voice_api::contract::sessions::{PatchSession, max_id_chars};
use voice_api::wire::Format;
use voice_api::wire::bind::Binder;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (body, query) = match rest.iter().position(|&b| b == 0xFF) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let ty = PatchSession::TYPE;
    let binder = match mode % 3 {
        0 => Binder::from_body(ty, Format::Json, body),
        1 => Binder::from_body(ty, Format::Xml, body),
        _ => Ok(Binder::empty(ty)),
    };
    let Ok(mut binder) = binder else { return };
    binder.apply_pairs(form_urlencoded::parse(query), mode & 0x80 != 0);
    if let Ok(p) = binder.finish::<PatchSession>() {
        let id = p.session_id.expect("a bound PatchSession has an id");
        assert!(!id.trim().is_empty() && id.chars().count() <= max_id_chars());
        let max_console_data = ty
            .slot_by_field("console_data")
            .and_then(|slot| slot.member.rules.max_bytes)
            .expect("the contract bounds consoleData");
        assert!(p.console_data.is_none_or(|c| c.len() <= max_console_data));
    }
});
