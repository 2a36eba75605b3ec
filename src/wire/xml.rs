//! TEMPORARY placeholder until the DataContract XML module lands.
use crate::dto::{ResponseStatus, SessionInfo};
#[derive(Debug)]
pub struct XmlError(pub String);
impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
pub fn write_session_info(_out: &mut Vec<u8>, _s: &SessionInfo) {}
pub fn write_error_response(_out: &mut Vec<u8>, _s: &ResponseStatus) {}
pub fn read_fields(
    _b: &[u8],
    _r: &str,
    _n: &str,
    _f: &[&str],
) -> Result<Vec<Option<String>>, XmlError> {
    Err(XmlError("todo".into()))
}
