//! Why an XML body was rejected.

use super::{MAX_DEPTH, MAX_NAME_LEN, MAX_NAMESPACE_BINDINGS};
use std::borrow::Cow;
use std::fmt;

/// Why an XML body was rejected. `Display` is written for the client (it ends up in a 400
/// `ResponseStatus.Message`), so it names what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// The body is not UTF-8 (the only encoding we accept, as the declaration we write says).
    InvalidUtf8 { offset: usize },
    /// A raw character XML 1.0 forbids (e.g. U+0001); only character references may carry them.
    InvalidChar { ch: char, offset: usize },
    /// Not well-formed XML; the text comes from the parser and includes the byte offset.
    Malformed(String),
    /// `<!DOCTYPE …>`: DTDs are never processed, so they are refused outright.
    DocType,
    /// A DOCTYPE that declares entities (billion laughs, external entities, …).
    EntityDeclaration,
    /// `&name;` for anything but the five predefined entities.
    UndefinedEntity(String),
    /// `<?target …?>` other than the XML declaration.
    ProcessingInstruction(String),
    /// `<?xml …?>` anywhere but the very start of the body.
    MisplacedDeclaration,
    /// Nesting deeper than [`super::MAX_DEPTH`].
    TooDeep,
    /// An element name longer than [`super::MAX_NAME_LEN`] bytes.
    NameTooLong,
    /// More than [`super::MAX_NAMESPACE_BINDINGS`] namespace declarations in scope.
    TooManyNamespaces,
    /// A `prefix:` used without an `xmlns:prefix` in scope.
    UnboundPrefix(String),
    /// Only whitespace and comments: there is no element at all.
    NoRoot,
    /// The root element is not the DTO we expected.
    WrongRoot {
        expected_name: String,
        expected_namespace: String,
        found_name: String,
        found_namespace: String,
    },
    /// A second element after the root closed.
    MultipleRoots,
    /// Text after the root closed.
    TrailingContent,
    /// Non-whitespace text before the root element.
    TextBeforeRoot,
    /// Text where only child elements belong (directly inside a DTO or a list).
    UnexpectedText { parent: String },
    /// A child element inside a member that must hold text only.
    MixedContent { field: String },
    /// A value that does not parse as the member's type.
    InvalidValue {
        field: String,
        value: String,
        expected: String,
    },
    /// `i:nil="true"` on a member that cannot be null (enum, boolean).
    NullValue { field: String },
    /// A required child is missing (a dictionary entry without its key).
    MissingElement { parent: String, name: String },
}

impl XmlError {
    /// The member the error is about, for `ResponseError.FieldName`.
    pub fn field(&self) -> Option<&str> {
        match self {
            XmlError::MixedContent { field }
            | XmlError::InvalidValue { field, .. }
            | XmlError::NullValue { field } => Some(field),
            XmlError::MissingElement { parent, .. } => Some(parent),
            _ => None,
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::InvalidUtf8 { offset } => {
                write!(f, "XML body is not valid UTF-8 (at byte {offset})")
            }
            XmlError::InvalidChar { ch, offset } => write!(
                f,
                "XML body contains the character U+{:04X} at byte {offset}, which XML 1.0 does not allow",
                u32::from(*ch)
            ),
            XmlError::Malformed(detail) => write!(f, "Malformed XML: {detail}"),
            XmlError::DocType => f.write_str("XML DOCTYPE declarations are not allowed"),
            XmlError::EntityDeclaration => f.write_str("XML entity declarations are not allowed"),
            XmlError::UndefinedEntity(name) => write!(
                f,
                "XML entity reference '&{name};' is not allowed; only &amp; &lt; &gt; &quot; &apos; and numeric character references are"
            ),
            XmlError::ProcessingInstruction(target) => write!(
                f,
                "XML processing instructions are not allowed (found <?{target}?>)"
            ),
            XmlError::MisplacedDeclaration => {
                f.write_str("The XML declaration must be at the very start of the body")
            }
            XmlError::TooDeep => write!(f, "XML is nested deeper than {MAX_DEPTH} levels"),
            XmlError::NameTooLong => {
                write!(f, "XML element name is longer than {MAX_NAME_LEN} bytes")
            }
            XmlError::TooManyNamespaces => write!(
                f,
                "XML declares more than {MAX_NAMESPACE_BINDINGS} namespaces in one scope"
            ),
            XmlError::UnboundPrefix(prefix) => {
                write!(f, "XML namespace prefix '{prefix}' is not declared")
            }
            XmlError::NoRoot => f.write_str("XML body has no root element"),
            XmlError::WrongRoot {
                expected_name,
                expected_namespace,
                found_name,
                found_namespace,
            } => write!(
                f,
                "Expected root element <{expected_name}> in namespace \"{expected_namespace}\", found <{found_name}> in namespace \"{found_namespace}\""
            ),
            XmlError::MultipleRoots => f.write_str("XML body has more than one root element"),
            XmlError::TrailingContent => f.write_str("XML body has content after the root element"),
            XmlError::TextBeforeRoot => f.write_str("XML body has text before the root element"),
            XmlError::UnexpectedText { parent } => {
                write!(
                    f,
                    "Unexpected text inside <{parent}>; only elements belong there"
                )
            }
            XmlError::MixedContent { field } => {
                write!(
                    f,
                    "<{field}> must contain only text, but contains an element"
                )
            }
            XmlError::InvalidValue {
                field,
                value,
                expected,
            } => write!(
                f,
                "'{}' is not a valid value for <{field}>; expected {expected}",
                truncate(value, 100)
            ),
            XmlError::NullValue { field } => write!(f, "<{field}> cannot be nil"),
            XmlError::MissingElement { parent, name } => {
                write!(f, "<{parent}> entry is missing <{name}>")
            }
        }
    }
}

impl std::error::Error for XmlError {}

/// Keeps error messages bounded when they echo client input.
pub(super) fn truncate(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => Cow::Owned(format!("{}…", &s[..i])),
        None => Cow::Borrowed(s),
    }
}
