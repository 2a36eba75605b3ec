//! Request binding: the JSON body reader (`Fields::from_json`), the XML body reader
//! (`Fields::from_xml`), query/form pairs (`apply_pairs`), then `PatchSession::from_fields`.
//! The first byte picks the body format and whether the pairs overwrite; the rest up to the
//! first 0xFF byte is the body, after it a query string. Oracle: no panic; a bound PatchSession
//! respects the documented limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voice_api::dto::PatchSession;
use voice_api::wire::fields::{Fields, MAX_CONSOLE_DATA_LEN, MAX_ID_LEN, RequestDto};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (body, query) = match rest.iter().position(|&b| b == 0xFF) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let fields = match mode % 3 {
        0 => Fields::from_json(PatchSession::FIELDS, PatchSession::NAME, body),
        1 => Fields::from_xml::<PatchSession>(body),
        _ => Ok(Fields::new(PatchSession::FIELDS)),
    };
    let Ok(mut fields) = fields else { return };
    fields.apply_pairs(form_urlencoded::parse(query), mode & 0x80 != 0);
    if fields.check_text(PatchSession::NAME).is_err() {
        return;
    }
    if let Ok(p) = PatchSession::from_fields(fields) {
        let id = p.session_id.expect("a bound PatchSession has an id");
        assert!(!id.trim().is_empty() && id.len() <= MAX_ID_LEN);
        assert!(
            p.console_data
                .is_none_or(|c| c.len() <= MAX_CONSOLE_DATA_LEN)
        );
    }
});
