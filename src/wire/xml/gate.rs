//! The hardened pull layer every XML body passes through: one cursor ([`Document`]) that
//! enforces every rule the contract reader relies on (no DTDs, no entities beyond the
//! predefined five, no processing instructions, depth/name/namespace limits, strict UTF-8, one
//! root), with namespaces tracked and references resolved.

use super::error::{XmlError, truncate};
use super::{NS_API, NS_ARRAYS, NS_CUSTOMERS, NS_SERVICESTACK, NS_SESSIONS, NS_XML, NS_XSI};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::borrow::Cow;

/// Elements nested deeper than this are rejected. The deepest legitimate path is 6
/// (`SessionInfo/Members/SessionMemberInfo/ApplicationData/KeyValueOfstringstring/Key`); the
/// limit only exists so hostile input cannot make us track unbounded state.
pub const MAX_DEPTH: usize = 32;
/// Longest accepted element name (qualified, in bytes).
pub const MAX_NAME_LEN: usize = 256;
/// Most namespace bindings in scope at once: lookups are linear, so this bounds their cost.
pub const MAX_NAMESPACE_BINDINGS: usize = 128;

/// One step of the document, after all checks, with namespaces tracked and references resolved.
pub(super) enum Node<'a> {
    /// An element opened (a self-closed one is followed by a synthetic [`Node::Close`], so
    /// callers never need to tell the two apart). `nil` is `xsi:nil="true"`.
    Open {
        start: BytesStart<'a>,
        nil: bool,
    },
    /// Character data: text, CDATA or one resolved reference, line endings normalised.
    Text(Cow<'a, str>),
    /// The innermost open element closed.
    Close,
    Eof,
}

/// A cursor over one XML body that enforces every rule the readers rely on. All events pass
/// through [`Document::next_node`], so skipped subtrees are checked as strictly as read ones.
pub(super) struct Document<'a> {
    reader: Reader<&'a [u8]>,
    /// In-scope namespace bindings, innermost last: (prefix, URI); the default namespace has
    /// prefix "".
    bindings: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// `bindings.len()` when each open element started, to drop its bindings on close.
    scopes: Vec<usize>,
    /// The last `Open` was self-closing: emit its `Close` next.
    pending_close: bool,
    /// Nothing read yet: the only place an XML declaration may appear.
    at_start: bool,
}

impl<'a> Document<'a> {
    /// Validates the encoding, reads the prolog and checks the root element. On success the
    /// cursor is inside the root, ready for [`Document::next_field`].
    pub(super) fn open(body: &'a [u8], namespace: &str, root: &str) -> Result<Self, XmlError> {
        // A UTF-8 BOM is allowed; the parser skips it, so offsets stay relative to `body`.
        let text = std::str::from_utf8(body).map_err(|e| XmlError::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        check_xml_chars(text)?;

        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.allow_dangling_amp = false;
        config.allow_unmatched_ends = false;
        config.expand_empty_elements = false;
        config.trim_text(false);

        let mut doc = Document {
            reader,
            bindings: Vec::new(),
            scopes: Vec::new(),
            pending_close: false,
            at_start: true,
        };
        loop {
            match doc.next_node()? {
                Node::Text(t) if is_xml_whitespace(&t) => {}
                Node::Text(_) => return Err(XmlError::TextBeforeRoot),
                Node::Open { start, .. } => {
                    let (found_ns, found_name) = doc.resolve_element(&start)?;
                    if found_ns != namespace || found_name != root {
                        return Err(XmlError::WrongRoot {
                            expected_name: root.to_owned(),
                            expected_namespace: namespace.to_owned(),
                            found_name: found_name.to_owned(),
                            found_namespace: found_ns.to_owned(),
                        });
                    }
                    return Ok(doc);
                }
                // The parser rejects an end tag with nothing open before we see it.
                Node::Close => return Err(XmlError::Malformed("unexpected end tag".into())),
                Node::Eof => return Err(XmlError::NoRoot),
            }
        }
    }

    /// The next child element of the current element that `lookup` recognises, as
    /// `(index, nil)`; `None` once the current element closes.
    ///
    /// Unrecognised children are skipped with their whole subtree (unknown members are
    /// ignored, as ServiceStack does). With `seen`, a second occurrence of a member is skipped
    /// too: .NET reads members in contract order, so it keeps the first and drops the repeat.
    pub(super) fn next_field(
        &mut self,
        parent: &str,
        mut lookup: impl FnMut(&str, &str) -> Option<usize>,
        mut seen: Option<&mut [bool]>,
    ) -> Result<Option<(usize, bool)>, XmlError> {
        loop {
            match self.next_node()? {
                Node::Open { start, nil } => {
                    let (ns, local) = self.resolve_element(&start)?;
                    let index = lookup(ns, local);
                    let fresh = match (index, seen.as_deref_mut()) {
                        (Some(i), Some(seen)) => !std::mem::replace(&mut seen[i], true),
                        (Some(_), None) => true,
                        (None, _) => false,
                    };
                    match index {
                        Some(i) if fresh => return Ok(Some((i, nil))),
                        _ => self.skip_element()?,
                    }
                }
                Node::Text(t) if is_xml_whitespace(&t) => {}
                Node::Text(_) => {
                    return Err(XmlError::UnexpectedText {
                        parent: parent.to_owned(),
                    });
                }
                Node::Close => return Ok(None),
                Node::Eof => return Err(unexpected_eof()),
            }
        }
    }

    /// The text of the element just opened: `None` when nil, `Some("")` when empty.
    pub(super) fn read_text(&mut self, nil: bool, field: &str) -> Result<Option<String>, XmlError> {
        if nil {
            // .NET ignores whatever a nil element contains; so do we (after checking it).
            self.skip_element()?;
            return Ok(None);
        }
        let mut text = String::new();
        loop {
            match self.next_node()? {
                Node::Text(t) => text.push_str(&t),
                Node::Close => return Ok(Some(text)),
                Node::Open { .. } => {
                    return Err(XmlError::MixedContent {
                        field: field.to_owned(),
                    });
                }
                Node::Eof => return Err(unexpected_eof()),
            }
        }
    }

    /// Consumes the rest of the element just opened, subtree included.
    pub(super) fn skip_element(&mut self) -> Result<(), XmlError> {
        let target = self.scopes.len().saturating_sub(1);
        loop {
            match self.next_node()? {
                Node::Close if self.scopes.len() == target => return Ok(()),
                Node::Eof => return Err(unexpected_eof()),
                _ => {}
            }
        }
    }

    /// After the root closed: only whitespace and comments may follow.
    pub(super) fn finish(mut self) -> Result<(), XmlError> {
        loop {
            match self.next_node()? {
                Node::Text(t) if is_xml_whitespace(&t) => {}
                Node::Text(_) => return Err(XmlError::TrailingContent),
                Node::Open { .. } => return Err(XmlError::MultipleRoots),
                Node::Close => return Err(XmlError::Malformed("unexpected end tag".into())),
                Node::Eof => return Ok(()),
            }
        }
    }

    /// The single gate every event passes through; all the security rules are here.
    pub(super) fn next_node(&mut self) -> Result<Node<'a>, XmlError> {
        if self.pending_close {
            self.pending_close = false;
            self.close_scope();
            return Ok(Node::Close);
        }
        loop {
            let at_start = std::mem::replace(&mut self.at_start, false);
            let event = self.reader.read_event().map_err(|e| {
                XmlError::Malformed(format!("{e} (at byte {})", self.reader.error_position()))
            })?;
            return match event {
                Event::Start(start) => {
                    let nil = self.open_scope(&start)?;
                    Ok(Node::Open { start, nil })
                }
                Event::Empty(start) => {
                    let nil = self.open_scope(&start)?;
                    self.pending_close = true;
                    Ok(Node::Open { start, nil })
                }
                Event::End(_) => {
                    if self.scopes.is_empty() {
                        return Err(XmlError::Malformed("unexpected end tag".into()));
                    }
                    self.close_scope();
                    Ok(Node::Close)
                }
                // `]]>` may not appear in text; CDATA is the only place it ends something.
                Event::Text(text) if text.contains("]]>") => {
                    Err(XmlError::Malformed("']]>' is not allowed in text".into()))
                }
                Event::Text(text) => Ok(Node::Text(text.xml10_content())),
                Event::CData(cdata) => Ok(Node::Text(cdata.xml10_content())),
                Event::GeneralRef(reference) => {
                    let c = resolve_reference(&reference)?;
                    Ok(Node::Text(Cow::Owned(c.to_string())))
                }
                Event::Comment(_) => continue,
                Event::Decl(_) if at_start => continue,
                Event::Decl(_) => Err(XmlError::MisplacedDeclaration),
                Event::PI(pi) => Err(XmlError::ProcessingInstruction(
                    truncate(pi.target(), 50).into_owned(),
                )),
                Event::DocType(doctype) => Err(if doctype.contains("<!ENTITY") {
                    XmlError::EntityDeclaration
                } else {
                    XmlError::DocType
                }),
                Event::Eof if !self.scopes.is_empty() => Err(unexpected_eof()),
                Event::Eof => Ok(Node::Eof),
            };
        }
    }

    /// Enters an element: enforces the limits, records its namespace declarations and works
    /// out whether it is nil. Attributes are read in two passes because `xmlns:i` may come
    /// after `i:nil` on the same element.
    fn open_scope(&mut self, start: &BytesStart<'a>) -> Result<bool, XmlError> {
        let qname = start.name().0;
        if qname.len() > MAX_NAME_LEN {
            return Err(XmlError::NameTooLong);
        }
        check_qname(qname)?;
        if self.scopes.len() >= MAX_DEPTH {
            return Err(XmlError::TooDeep);
        }
        self.scopes.push(self.bindings.len());

        for attr in start.attributes() {
            let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
            let key = attr.key.0;
            let prefix = if key == "xmlns" {
                ""
            } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                prefix
            } else {
                continue;
            };
            let uri = attribute_value(&attr.value)?;
            if !prefix.is_empty() && uri.is_empty() {
                return Err(XmlError::Malformed(format!(
                    "namespace prefix '{prefix}' cannot be bound to an empty URI"
                )));
            }
            if prefix == "xmlns" || (prefix == "xml" && uri != NS_XML) {
                return Err(XmlError::Malformed(format!(
                    "namespace prefix '{prefix}' cannot be redeclared"
                )));
            }
            if self.bindings.len() >= MAX_NAMESPACE_BINDINGS {
                return Err(XmlError::TooManyNamespaces);
            }
            self.bindings.push((
                intern(prefix, KNOWN_PREFIXES),
                intern(&uri, KNOWN_NAMESPACES),
            ));
        }
        // Unbound element prefixes are errors even on elements we end up skipping.
        self.resolve_element(start)?;

        let mut nil = false;
        for attr in start.attributes() {
            let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
            let key = attr.key.0;
            check_qname(key)?;
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            // Checked on every attribute so no entity slips through an ignored one.
            let value = attribute_value(&attr.value)?;
            if let Some((prefix, local)) = key.split_once(':') {
                let ns = self.namespace_of(prefix)?;
                if ns == NS_XSI && local == "nil" {
                    nil = matches!(value.trim_matches(is_xml_whitespace_char), "true" | "1");
                }
            }
        }
        Ok(nil)
    }

    fn close_scope(&mut self) {
        if let Some(len) = self.scopes.pop() {
            self.bindings.truncate(len);
        }
    }

    /// (namespace URI, local name) of an element.
    fn resolve_element<'s>(
        &'s self,
        start: &'s BytesStart<'_>,
    ) -> Result<(&'s str, &'s str), XmlError> {
        let qname = start.name().0;
        match qname.split_once(':') {
            Some((prefix, local)) => Ok((self.namespace_of(prefix)?, local)),
            None => Ok((self.namespace_of("")?, qname)),
        }
    }

    /// The URI bound to `prefix` ("" = default namespace, which may be unbound = no namespace).
    fn namespace_of(&self, prefix: &str) -> Result<&str, XmlError> {
        if prefix == "xml" {
            return Ok(NS_XML);
        }
        match self.bindings.iter().rev().find(|(p, _)| *p == prefix) {
            Some((_, uri)) => Ok(uri),
            None if prefix.is_empty() => Ok(""),
            None => Err(XmlError::UnboundPrefix(truncate(prefix, 50).into_owned())),
        }
    }
}

/// A `'static` copy of `s`: free for the prefixes and namespaces our DTOs use (nearly every
/// binding in practice), an allocation otherwise. Saves allocations on the hot request path.
fn intern(s: &str, known: &[&'static str]) -> Cow<'static, str> {
    match known.iter().find(|k| **k == s) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(s.to_owned()),
    }
}

const KNOWN_PREFIXES: &[&str] = &["", "i", "d2p1", "d3p1", "d4p1", "d5p1"];
const KNOWN_NAMESPACES: &[&str] = &[
    NS_XSI,
    NS_API,
    NS_SESSIONS,
    NS_CUSTOMERS,
    NS_ARRAYS,
    NS_SERVICESTACK,
];

/// A namespace-qualified name: `local` or `prefix:local`, each part an XML `NCName`. The
/// parser only finds where names end; it does not check what they are made of.
fn check_qname(qname: &str) -> Result<(), XmlError> {
    let mut parts = qname.splitn(3, ':');
    let valid = parts.all(is_ncname) && qname.matches(':').count() <= 1;
    if valid {
        Ok(())
    } else {
        Err(XmlError::Malformed(format!(
            "'{}' is not a valid XML name",
            truncate(qname, 50)
        )))
    }
}

/// XML 1.0 (5th edition) `Name` without colons.
fn is_ncname(name: &str) -> bool {
    fn is_start(c: char) -> bool {
        matches!(c,
            'A'..='Z' | '_' | 'a'..='z'
            | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
            | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
            | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
            | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
    }
    fn is_char(c: char) -> bool {
        is_start(c)
            || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
    }
    let mut chars = name.chars();
    chars.next().is_some_and(is_start) && chars.all(is_char)
}

fn unexpected_eof() -> XmlError {
    XmlError::Malformed("unexpected end of document: an element is not closed".into())
}

/// Rejects raw characters outside XML 1.0's `Char` production (C0 controls other than tab,
/// LF, CR, and U+FFFE/U+FFFF), once for the whole body. Surrogates cannot occur in `str`.
fn check_xml_chars(text: &str) -> Result<(), XmlError> {
    let bytes = text.as_bytes();
    let bad = bytes.iter().enumerate().find_map(|(i, &b)| match b {
        b'\t' | b'\n' | b'\r' => None,
        0x00..=0x1F => Some((i, char::from(b))),
        0xEF if bytes.get(i + 1) == Some(&0xBF)
            && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
        {
            let c = if bytes[i + 2] == 0xBE {
                '\u{FFFE}'
            } else {
                '\u{FFFF}'
            };
            Some((i, c))
        }
        _ => None,
    });
    match bad {
        Some((offset, ch)) => Err(XmlError::InvalidChar { ch, offset }),
        None => Ok(()),
    }
}

/// Resolves `&name;`: the five predefined entities and numeric character references, nothing
/// else (no DTD means no other entity can exist, and we never fetch or expand anything).
///
/// Character references to characters XML 1.0 forbids (`&#x1;`) are accepted on purpose: our
/// writer emits them for such characters, and accepting them back is what makes every string
/// round-trip. A literal control character in the body is still rejected.
fn resolve_reference(name: &str) -> Result<char, XmlError> {
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let Some(number) = name.strip_prefix('#') else {
                return Err(XmlError::UndefinedEntity(truncate(name, 50).into_owned()));
            };
            let (digits, radix) = match number.strip_prefix('x') {
                Some(hex) => (hex, 16),
                None => (number, 10),
            };
            // Overflow makes `from_str_radix` fail; leading zeros are allowed, as XML says.
            let valid = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
            let code = valid
                .then(|| u32::from_str_radix(digits, radix).ok())
                .flatten()
                .and_then(char::from_u32);
            match code {
                Some(c) => c,
                None => {
                    return Err(XmlError::Malformed(format!(
                        "invalid character reference '&{};'",
                        truncate(name, 20)
                    )));
                }
            }
        }
    };
    Ok(c)
}

/// An attribute value as XML defines it: references resolved (with the same restrictions as in
/// text), literal tab/CR/LF turned into spaces (CRLF into one), a raw `<` refused.
fn attribute_value(raw: &str) -> Result<Cow<'_, str>, XmlError> {
    const SPECIAL: [char; 5] = ['&', '<', '\t', '\n', '\r'];
    if !raw.contains(SPECIAL) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(SPECIAL) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        rest = match rest.as_bytes()[i] {
            b'<' => {
                return Err(XmlError::Malformed(
                    "'<' is not allowed in an attribute value".into(),
                ));
            }
            b'&' => {
                let end = after.find(';').ok_or_else(|| {
                    XmlError::Malformed("unterminated reference in an attribute value".into())
                })?;
                out.push(resolve_reference(&after[..end])?);
                &after[end + 1..]
            }
            b'\r' => {
                out.push(' ');
                after.strip_prefix('\n').unwrap_or(after)
            }
            _ => {
                out.push(' ');
                after
            }
        };
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

fn is_xml_whitespace_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_xml_whitespace(s: &str) -> bool {
    s.chars().all(is_xml_whitespace_char)
}
