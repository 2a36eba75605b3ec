//! The DataContract XML reader: `read_fields` (every request DTO) and `read_session_info`.
//! Oracles: no panic; a SessionInfo that reads also survives write → read unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voice_api::dto::PatchSession;
use voice_api::wire::fields::RequestDto;
use voice_api::wire::xml;

fuzz_target!(|data: &[u8]| {
    if let Ok(values) = xml::read_fields(
        data,
        PatchSession::NAME,
        PatchSession::NAMESPACE,
        PatchSession::XML_ELEMENTS,
    ) {
        assert_eq!(values.len(), PatchSession::XML_ELEMENTS.len());
    }
    if let Ok(session) = xml::read_session_info(data) {
        let mut out = Vec::new();
        xml::write_session_info(&mut out, &session);
        let again = xml::read_session_info(&out).expect("what we write reads back");
        assert_eq!(again, session, "write → read changed the session");
    }
});
