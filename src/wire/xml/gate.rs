//! The hardened pull layer every XML body passes through: one cursor ([`Document`]) over
//! quick-xml's [`NsReader`] that enforces every rule the contract reader relies on (no DTDs,
//! no entities beyond the predefined five, no processing instructions, depth/name/namespace
//! limits, strict UTF-8, one root).
//!
//! What comes from quick-xml and what this gate adds:
//! - **quick-xml**: tokenising, end-tag matching, namespace scopes and resolution
//!   ([`NsReader`], [`NamespaceResolver`](quick_xml::name::NamespaceResolver)), the
//!   namespace-binding limit (`set_max_namespace_bindings`, set to [`MAX_NAMESPACE_BINDINGS`]),
//!   refusing to rebind `xml`/`xmlns` or to bind their URIs to other prefixes, character
//!   references ([`BytesRef::resolve_char_ref`]), the predefined entities
//!   ([`resolve_xml_entity`]: the XML five whatever quick-xml's `escape-html` feature says) and
//!   attribute-value normalisation ([`Attribute::normalized_value_with`]).
//! - **this gate**: no DOCTYPE / entity declarations / PIs, the declaration only first, the
//!   depth and name-length limits, NCName checks (quick-xml only finds where names end),
//!   strict UTF-8 and no raw control characters, one root and nothing but whitespace and
//!   comments after it, no `]]>` in text, no raw `<` in attribute values, `xmlns:p=""` and
//!   unbound prefixes refused (quick-xml resolves them to "unknown" without failing), `&#0;`
//!   accepted (quick-xml refuses it, but our writer emits `&#x0;` for a stored NUL, so every
//!   string round-trips; binding refuses NUL on input, naming the field), and `xsi:nil` detected by
//!   namespace, not prefix.
//!
//! quick-xml binds a namespace to the attribute's raw text; when a declaration's value needs
//! normalising (a reference, a tab or line break in it) the gate rebinds the prefix to the
//! normalised URI, which .NET would use. Such declarations count twice towards the limit.
//!
//! # Measurement (the library costs ~10%, kept for the code it removes)
//!
//! Whole reads (gate + contract reader) of the seed documents, µs per document, release
//! build, 20 000 reads per round, best of 5 per round, 4 interleaved rounds on the shared
//! 2-core box (load ~2.5); "typical" is the middle of the rounds, the range leaves out one
//! outlier (old PATCH, 5.8 µs) caused by the other engineers' builds. Old = the hand-written namespace stack, interning
//! and reference resolution over `quick_xml::Reader` (commit cf03b93), measured from a
//! scratch copy; new = this module. Re-run the new half with
//! `cargo test --release --lib wire::xml::tests::gate_timing -- --ignored --nocapture`.
//!
//! | document                                               | old: typical (range) | new: typical (range) |
//! |--------------------------------------------------------|----------------------|----------------------|
//! | PATCH request seed (`patch_session_request_seed.xml`)  | 3.3 (3.1–3.4)        | 3.7 (3.5–4.2)        |
//! | SessionInfo response seed (`session_info_seed.xml`)    | 31.5 (30.4–32.7)     | 34.6 (34.2–35.8)     |
//!
//! So `NsReader` is about 12% slower on the hot PATCH request path, ~0.4 µs per request
//! (not profiled; likely candidates: NsReader's own pass over each start tag's attributes
//! besides the gate's checked one, its scope search on every end tag, and no interned
//! `'static` namespaces any more). Next to a PATCH's database round trip that is noise, so
//! the library wins on the style rule; if XML reading ever shows up in `scripts/bench`, this
//! is the place to look first.

use super::NS_XSI;
use super::error::{XmlError, truncate};
use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::escape::{EscapeError, ParseCharRefError, resolve_xml_entity};
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace, NamespaceError, PrefixDeclaration, ResolveResult};
use std::borrow::Cow;

/// Elements nested deeper than this are rejected. The deepest legitimate path is 6
/// (`SessionInfo/Members/SessionMemberInfo/ApplicationData/KeyValueOfstringstring/Key`); the
/// limit only exists so hostile input cannot make us track unbounded state.
pub const MAX_DEPTH: usize = 32;
/// Longest accepted element name (qualified, in bytes).
pub const MAX_NAME_LEN: usize = 256;
/// Most namespace bindings in scope at once: lookups are linear, so this bounds their cost.
/// Enforced by quick-xml's resolver, configured in [`Document::open`].
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
    /// The parser; it also holds the namespace scopes of the open elements.
    reader: NsReader<&'a [u8]>,
    /// How many elements are open (for the depth limit and to find a skipped element's end).
    depth: usize,
    /// The last `Open` was self-closing: emit its `Close` next.
    pending_close: bool,
    /// Nothing read yet: the only place an XML declaration may appear.
    at_start: bool,
    /// The whole body (an ASCII body reads alike in any ASCII-compatible encoding it declares).
    text: &'a str,
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

        let mut reader = NsReader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.allow_dangling_amp = false;
        config.allow_unmatched_ends = false;
        config.expand_empty_elements = false;
        config.trim_text(false);
        reader
            .resolver_mut()
            .set_max_namespace_bindings(MAX_NAMESPACE_BINDINGS);

        let mut doc = Document {
            reader,
            depth: 0,
            pending_close: false,
            at_start: true,
            text,
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
        let target = self.depth.saturating_sub(1);
        loop {
            match self.next_node()? {
                Node::Close if self.depth == target => return Ok(()),
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
            self.depth -= 1;
            return Ok(Node::Close);
        }
        loop {
            let at_start = std::mem::replace(&mut self.at_start, false);
            // NsReader enters the element's namespace scope (and applies the binding limit)
            // before handing us a start tag, and leaves it on the read after its end.
            let event = self
                .reader
                .read_event()
                .map_err(|e| parse_error(e, self.reader.error_position()))?;
            return match event {
                Event::Start(start) => {
                    let nil = self.open_element(&start)?;
                    Ok(Node::Open { start, nil })
                }
                Event::Empty(start) => {
                    let nil = self.open_element(&start)?;
                    self.pending_close = true;
                    Ok(Node::Open { start, nil })
                }
                Event::End(_) => {
                    if self.depth == 0 {
                        return Err(XmlError::Malformed("unexpected end tag".into()));
                    }
                    self.depth -= 1;
                    Ok(Node::Close)
                }
                // `]]>` may not appear in text; CDATA is the only place it ends something.
                Event::Text(text) if text.contains("]]>") => {
                    Err(XmlError::Malformed("']]>' is not allowed in text".into()))
                }
                Event::Text(text) => Ok(Node::Text(text.xml10_content())),
                Event::CData(cdata) => Ok(Node::Text(cdata.xml10_content())),
                Event::GeneralRef(reference) => Ok(Node::Text(resolve_reference(&reference)?)),
                Event::Comment(_) => continue,
                // The body is read as UTF-8 (checked before parsing). A declaration naming
                // another encoding that would read it differently says the bytes are not what
                // they are (.NET decodes them as declared, into other text, or fails: UTF-16
                // without its byte order mark); an ASCII body reads alike in an
                // ASCII-compatible single-byte encoding.
                Event::Decl(decl) if at_start => match decl.encoding() {
                    Some(Ok(name)) if !declares_as_read(&name, || self.text.is_ascii()) => {
                        Err(XmlError::Malformed(format!(
                            "the declaration names the encoding '{name}'; send UTF-8"
                        )))
                    }
                    Some(Err(e)) => Err(XmlError::Malformed(e.to_string())),
                    _ => continue,
                },
                Event::Decl(_) => Err(XmlError::MisplacedDeclaration),
                Event::PI(pi) => Err(XmlError::ProcessingInstruction(
                    truncate(pi.target(), 50).into_owned(),
                )),
                Event::DocType(doctype) => Err(if doctype.contains("<!ENTITY") {
                    XmlError::EntityDeclaration
                } else {
                    XmlError::DocType
                }),
                Event::Eof if self.depth > 0 => Err(unexpected_eof()),
                Event::Eof => Ok(Node::Eof),
            };
        }
    }

    /// Enters an element (its namespace scope is already open): enforces the limits, checks
    /// its name and every attribute, and works out whether it is nil.
    fn open_element(&mut self, start: &BytesStart<'a>) -> Result<bool, XmlError> {
        let qname = start.name().0;
        if qname.len() > MAX_NAME_LEN {
            return Err(XmlError::NameTooLong);
        }
        check_qname(qname)?;
        if self.depth >= MAX_DEPTH {
            return Err(XmlError::TooDeep);
        }
        self.depth += 1;

        // Only a value with a reference or a tab/line break can normalise differently from
        // the raw text quick-xml bound; for those, bind the normalised URI before any
        // attribute is resolved (`xmlns:i` may come after `i:nil` on the same element).
        if start.attributes_raw().contains(['&', '\t', '\n', '\r']) {
            self.rebind_normalised(start)?;
        }
        // Unbound element prefixes are errors even on elements we end up skipping.
        self.resolve_element(start)?;

        let mut nil = false;
        for attr in start.attributes() {
            let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
            check_qname(attr.key.0)?;
            // Checked on every attribute so no entity slips through an ignored one.
            let value = attribute_value(&attr)?;
            match attr.key.as_namespace_binding() {
                Some(PrefixDeclaration::Named(prefix)) if value.is_empty() => {
                    return Err(XmlError::Malformed(format!(
                        "namespace prefix '{}' cannot be bound to an empty URI",
                        truncate(prefix, 50)
                    )));
                }
                Some(_) => continue,
                None => {}
            }
            let (ns, local) = self.reader.resolver().resolve_attribute(attr.key);
            let ns = namespace_name(ns)?;
            if ns == NS_XSI && local.into_inner() == "nil" {
                // xs:boolean, as .NET reads it: anything else is no value, not "not nil".
                nil = match value.trim_matches(is_xml_whitespace_char) {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(XmlError::Malformed(format!(
                            "xsi:nil must be true or false, not '{other}'"
                        )));
                    }
                };
            }
        }
        Ok(nil)
    }

    /// Rebinds, in the element's own scope, every namespace declaration whose normalised
    /// value differs from its raw text. quick-xml refuses reserved prefixes and URIs here too.
    fn rebind_normalised(&mut self, start: &BytesStart<'a>) -> Result<(), XmlError> {
        for attr in start.attributes() {
            let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
            let Some(declaration) = attr.key.as_namespace_binding() else {
                continue;
            };
            let value = attribute_value(&attr)?;
            if *value != *attr.value {
                self.reader
                    .resolver_mut()
                    .add(declaration, Namespace(&value))
                    .map_err(namespace_error)?;
            }
        }
        Ok(())
    }

    /// (namespace URI, local name) of an element; "" is no namespace.
    fn resolve_element<'s>(
        &'s self,
        start: &'s BytesStart<'_>,
    ) -> Result<(&'s str, &'s str), XmlError> {
        let name = start.name();
        // Element names may not use `xmlns`, although quick-xml resolves it.
        if let Some(prefix) = name.prefix().filter(|p| p.as_ref() == "xmlns") {
            return Err(XmlError::UnboundPrefix(prefix.as_ref().to_owned()));
        }
        let (ns, local) = self.reader.resolver().resolve_element(name);
        Ok((namespace_name(ns)?, local.into_inner()))
    }
}

/// The URI a resolved name is in: "" for none, an error for an undeclared prefix (which
/// includes one undeclared with `xmlns:p=""`, refused anyway where it is declared).
/// Whether a body read as UTF-8 (`ascii`: whether all of it is ASCII, asked only when it
/// matters) is what declaring `encoding` says.
fn declares_as_read(encoding: &str, ascii: impl FnOnce() -> bool) -> bool {
    let is = |names: &[&str]| {
        names
            .iter()
            .any(|n| encoding.trim().eq_ignore_ascii_case(n))
    };
    if is(&["utf-8", "utf8"]) {
        return true;
    }
    is(&[
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "latin1",
        "windows-1252",
        "cp1252",
    ]) && ascii()
}

fn namespace_name(result: ResolveResult<'_>) -> Result<&str, XmlError> {
    match result {
        ResolveResult::Bound(Namespace(uri)) => Ok(uri),
        ResolveResult::Unbound => Ok(""),
        ResolveResult::Unknown(prefix) => {
            Err(XmlError::UnboundPrefix(truncate(&prefix, 50).into_owned()))
        }
    }
}

/// An attribute value as XML defines it (quick-xml resolves the references and turns tab,
/// CR, LF and CRLF into spaces), with a raw `<` refused, which the parser lets through.
fn attribute_value<'v>(attr: &Attribute<'v>) -> Result<Cow<'v, str>, XmlError> {
    if attr.value.contains('<') {
        return Err(XmlError::Malformed(
            "'<' is not allowed in an attribute value".into(),
        ));
    }
    attr.normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_xml_entity)
        .map_err(|e| match e {
            quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                XmlError::UndefinedEntity(truncate(&name, 50).into_owned())
            }
            quick_xml::Error::Escape(EscapeError::UnterminatedEntity(_)) => {
                XmlError::Malformed("unterminated reference in an attribute value".into())
            }
            e => XmlError::Malformed(format!("in an attribute value: {e}")),
        })
}

/// Resolves `&name;` (quick-xml reports every reference in text as its own event): the five
/// predefined entities and numeric character references, nothing else (no DTD means no other
/// entity can exist, and we never fetch or expand anything).
///
/// Character references to characters XML 1.0 forbids (`&#x1;`) are accepted on purpose: our
/// writer emits them for such characters, and accepting them back is what makes every string
/// round-trip. A literal control character in the body is still rejected. quick-xml refuses
/// `&#0;` alone; it is accepted like the others (the writer emits `&#x0;` for a NUL).
fn resolve_reference(reference: &BytesRef<'_>) -> Result<Cow<'static, str>, XmlError> {
    if let Some(text) = resolve_xml_entity(reference) {
        return Ok(Cow::Borrowed(text));
    }
    match reference.resolve_char_ref() {
        Ok(Some(c)) => Ok(Cow::Owned(c.into())),
        Ok(None) => Err(XmlError::UndefinedEntity(
            truncate(reference, 50).into_owned(),
        )),
        Err(quick_xml::Error::Escape(EscapeError::InvalidCharRef(
            ParseCharRefError::IllegalCharacter(0),
        ))) => Ok(Cow::Borrowed("\0")),
        Err(_) => Err(XmlError::Malformed(format!(
            "invalid character reference '&{};'",
            truncate(reference, 20)
        ))),
    }
}

/// A parser error in client terms; namespace errors keep the gate's own wording.
fn parse_error(error: quick_xml::Error, position: u64) -> XmlError {
    match error {
        quick_xml::Error::Namespace(e) => namespace_error(e),
        e => XmlError::Malformed(format!("{e} (at byte {position})")),
    }
}

fn namespace_error(error: NamespaceError) -> XmlError {
    match error {
        NamespaceError::TooManyBindings(_) => XmlError::TooManyNamespaces,
        NamespaceError::TooDeeplyNested(_) => XmlError::TooDeep,
        NamespaceError::UnknownPrefix(prefix) => {
            XmlError::UnboundPrefix(truncate(&prefix, 50).into_owned())
        }
        NamespaceError::InvalidXmlPrefixBind(_) => {
            XmlError::Malformed("namespace prefix 'xml' cannot be redeclared".into())
        }
        NamespaceError::InvalidXmlnsPrefixBind(_) => {
            XmlError::Malformed("namespace prefix 'xmlns' cannot be redeclared".into())
        }
        NamespaceError::InvalidPrefixForXml(prefix)
        | NamespaceError::InvalidPrefixForXmlns(prefix) => XmlError::Malformed(format!(
            "namespace prefix '{}' cannot be bound to a reserved namespace",
            truncate(&prefix, 50)
        )),
    }
}

/// A namespace-qualified name: `local` or `prefix:local`, each part an XML `NCName`. The
/// parser only finds where names end; it does not check what they are made of.
fn check_qname(qname: &str) -> Result<(), XmlError> {
    if is_qname(qname) {
        Ok(())
    } else {
        Err(XmlError::Malformed(format!(
            "'{}' is not a valid XML name",
            truncate(qname, 50)
        )))
    }
}

/// `NCName` or `NCName:NCName`. Names are nearly always ASCII, checked byte by byte
/// (callgrind: the char-by-char check was 3.5 K instructions of a PATCH XML request's 30 K).
fn is_qname(qname: &str) -> bool {
    if !qname.is_ascii() {
        let mut parts = qname.splitn(3, ':');
        return parts.all(is_ncname) && qname.matches(':').count() <= 1;
    }
    let mut parts = qname.as_bytes().splitn(3, |&b| b == b':');
    let ascii_ncname = |part: &[u8]| {
        part.first()
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
            && part
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    let (first, second, third) = (parts.next(), parts.next(), parts.next());
    third.is_none() && first.is_some_and(ascii_ncname) && second.is_none_or(ascii_ncname)
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

fn is_xml_whitespace_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_xml_whitespace(s: &str) -> bool {
    s.chars().all(is_xml_whitespace_char)
}

#[cfg(test)]
mod tests {
    /// The byte-by-byte check of an ASCII name decides as the char-by-char rules do, for every
    /// name of up to three characters over letters, digits, the name punctuation and others.
    #[test]
    fn ascii_names_are_judged_as_the_xml_rules_judge_them() {
        let alphabet = [
            'a', 'Z', '_', '0', '9', '-', '.', ':', ' ', '!', '/', '~', '\t',
        ];
        let reference = |name: &str| {
            let mut parts = name.splitn(3, ':');
            parts.all(super::is_ncname) && name.matches(':').count() <= 1
        };
        let mut names = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            names.extend(longer);
        }
        names.dedup();
        for name in &names {
            assert_eq!(super::is_qname(name), reference(name), "{name:?}");
        }
        assert!(super::is_qname("d2p1:KeyValueOfstringstring"));
        assert!(!super::is_qname("a:b:c"));
    }
}
