//! The DataContract XML reader (`wire::xml::read`, through the hardened gate) for a request
//! DTO and for SessionInfo, then the checked `wire::from_xml`. Oracles: no panic; an object
//! that reads has one value per contract slot; a SessionInfo that binds also survives
//! write → read unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voice_api::contract::sessions::{PatchSession, SessionInfo};
use voice_api::contract::{Dto, Value};
use voice_api::wire::{self, xml};

fuzz_target!(|data: &[u8]| {
    for ty in [PatchSession::TYPE, SessionInfo::TYPE] {
        if let Ok(value) = xml::read(ty, data) {
            let Value::Object(values) = value else {
                panic!("{} read as something other than an object", ty.name);
            };
            assert_eq!(values.len(), ty.len());
        }
    }
    if let Ok(session) = wire::from_xml::<SessionInfo>(data) {
        let out = wire::to_xml(&session);
        let again = wire::from_xml::<SessionInfo>(&out).expect("what we write reads back");
        assert_eq!(again, session, "write → read changed the session");
    }
});
