//! DataContract XML: the shape .NET's `DataContractSerializer` gives ServiceStack's
//! `application/xml` bodies, written and read from the contract without a DOM.
//!
//! - [`write`]: any DTO, byte for byte as .NET writes it (member order, namespaces, the
//!   `d{depth}p1` prefixes, nil and empty forms), straight into the response buffer;
//! - [`read`]: any DTO from a body, through the hardened [`gate`] (every security rule in one
//!   place), into a [`crate::contract::Value`] that binding then validates;
//! - [`XmlError`]: why a body was rejected, phrased for the client.

mod error;
mod gate;
mod read;
mod stored;
mod write;

pub use error::XmlError;
pub use gate::{MAX_DEPTH, MAX_NAME_LEN, MAX_NAMESPACE_BINDINGS};
pub use read::read;
pub use write::{write, write_dto, write_list};

/// `xsi`: carries `nil`.
pub(crate) const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Where .NET puts the item contracts of generic collections (`List<string>`,
/// `Dictionary<string,string>`).
pub(crate) const NS_ARRAYS: &str = "http://schemas.microsoft.com/2003/10/Serialization/Arrays";
// The namespaces the tests' hand-written bodies name (the contract owns them otherwise).
#[cfg(test)]
const NS_API: &str = "http://schemas.datacontract.org/2004/07/Voice.Api";
#[cfg(test)]
const NS_SESSIONS: &str = "http://schemas.datacontract.org/2004/07/Voice.Api.Sessions";

/// Whether XML 1.0 can carry `c` at all (its `Char` production): not the C0 controls other
/// than tab, LF and CR, not U+FFFE or U+FFFF. (Surrogates cannot occur in a Rust `str`.)
pub fn is_xml_char(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// The contract name and namespace of a collection item of type `ty`, as .NET names it (also
/// what the OpenAPI document gives as the items' XML names).
pub fn item_contract(ty: &'static crate::contract::WireType) -> (&'static str, &'static str) {
    use crate::contract::WireType;
    match ty {
        WireType::Text => ("string", NS_ARRAYS),
        WireType::Bool => ("boolean", NS_ARRAYS),
        WireType::Int => ("int", NS_ARRAYS),
        // No list of enums occurs in this contract; .NET would use the enum's own namespace.
        WireType::Enum(def) => (def.name, NS_ARRAYS),
        WireType::Object(td) => (td.name, td.xml_namespace),
        // Nested collections do not occur in this contract; .NET names them ArrayOf….
        WireType::List(_) => ("ArrayOfstring", NS_ARRAYS),
        WireType::StringMap => ("ArrayOfKeyValueOfstringstring", NS_ARRAYS),
    }
}

#[cfg(test)]
mod tests;
