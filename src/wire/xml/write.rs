//! The DataContract XML writer: any contract type, in exactly the order and spelling .NET
//! uses (ServiceStack serialises with `XmlWriter.Create(stream, settings)` around a
//! `DataContractSerializer`), so a .NET `XmlServiceClient` — and anyone diffing our output
//! against the real service — sees identical bytes.
//!
//! The rules, all computed from the contract:
//! - declaration, then `<Root xmlns:i="xsi" xmlns="ns">`, unindented;
//! - members in DataContract order (base type first, then ordinal by name or explicit order);
//! - a member is in its declaring type's namespace: unprefixed when that is the default
//!   namespace, prefixed when an in-scope `d{depth}p1` prefix is bound to it (items of a
//!   collection in another namespace), otherwise with its own `xmlns="…"` (base-class members);
//! - a collection (or nested object) whose items live in another namespace declares
//!   `xmlns:d{depth}p1` on the member element, `depth` being that element's depth (root = 1);
//! - `None` → `<Name i:nil="true" />`, `Some("")` → `<Name></Name>` (.NET's `XmlWriter` closes
//!   an element it wrote an empty string into with a full end tag), an empty list → self-closed
//!   with its item declaration;
//! - attribute order as .NET's `XmlWriter`: explicitly written attributes in call order, the
//!   namespace declarations it had to invent last. So a nil base member is
//!   `<CreatedBy i:nil="true" xmlns="…/Voice.Api" />`, while the serializer declares a
//!   collection's item prefix before it knows the value is null:
//!   `<CustomerBreadcrumb xmlns:d2p1="…" i:nil="true" />`.

use super::{NS_ARRAYS, NS_XSI, item_contract};
use crate::contract::{Slot, TypeDef, Value, WireType};
use crate::wire::json::{self, ShapeError};
use std::borrow::Cow;

/// What `XmlWriter.Create` emits first with ServiceStack's settings (declaration on, no BOM).
pub(super) const XML_DECLARATION: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>";

/// Writes `value` (a [`Value::Object`] of `ty`) as a whole document with `ty` as its root.
pub fn write(out: &mut Vec<u8>, ty: &'static TypeDef, value: &Value<'_>) -> Result<(), ShapeError> {
    let Value::Object(values) = value else {
        return Err(ShapeError(ty.name.to_string()));
    };
    open_root(out, &[ty.name], ty.xml_namespace);
    out.push(b'>');
    let root = Composite {
        prefix: None,
        name: ty.name,
        content: Scope::root(ty),
        depth: 1,
    };
    write_members(out, &root, ty, values)?;
    root.end(out);
    Ok(())
}

/// Writes `items` (values of wire type `item`) as a whole document whose root is the
/// collection itself, as DataContractSerializer writes a service that returns a bare
/// `List<T>`: the root is `ArrayOf` + the item's contract name, in the item's namespace, and
/// each item is an element named as the item's contract (`GetEventSubscribers`'
/// `List<Dictionary<string,string>>` is `ArrayOfArrayOfKeyValueOfstringstring` of
/// `ArrayOfKeyValueOfstringstring`s).
pub fn write_list(
    out: &mut Vec<u8>,
    item: &'static WireType,
    items: &[Value<'_>],
) -> Result<(), ShapeError> {
    let (name, ns) = item_contract(item);
    open_root(out, &["ArrayOf", name], ns);
    if items.is_empty() {
        out.extend_from_slice(b" />");
        return Ok(());
    }
    out.push(b'>');
    let scope = Scope {
        default_ns: ns,
        prefix: None,
    };
    // Items are the root's children, at depth 2 as an object's members are.
    for value in items {
        write_member(out, Element::new(name, ns, scope, 2), item, value)?;
    }
    out.extend_from_slice(b"</ArrayOf");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
    Ok(())
}

/// The declaration and the root element's start tag up to its `>`: named by the pieces of
/// `name`, with `xsi` bound and `ns` as the default namespace.
fn open_root(out: &mut Vec<u8>, name: &[&str], ns: &str) {
    out.extend_from_slice(XML_DECLARATION);
    out.push(b'<');
    for piece in name {
        out.extend_from_slice(piece.as_bytes());
    }
    out.extend_from_slice(b" xmlns:i=\"");
    out.extend_from_slice(NS_XSI.as_bytes());
    out.extend_from_slice(b"\" xmlns=\"");
    out.extend_from_slice(ns.as_bytes());
    out.push(b'"');
}

/// [`write`] for a document that is a typed DTO.
pub fn write_dto<T: crate::contract::Dto>(out: &mut Vec<u8>, dto: &T) -> Result<(), ShapeError> {
    write(out, T::TYPE, &dto.to_object())
}

/// The namespaces in scope where an element is written.
#[derive(Clone, Copy)]
pub(super) struct Scope {
    default_ns: &'static str,
    /// The `d{depth}p1` prefix in scope, if any: (namespace, depth it was declared at).
    prefix: Option<(&'static str, usize)>,
}

impl Scope {
    /// Inside the root element of a document of `ty`.
    pub(super) fn root(ty: &'static TypeDef) -> Scope {
        Scope {
            default_ns: ty.xml_namespace,
            prefix: None,
        }
    }

    /// How an element in namespace `ns` is named here: with the in-scope prefix, or plain (with
    /// an `xmlns` switch when `ns` is not the default), and the scope its content sees.
    fn name(self, ns: &'static str) -> (Option<usize>, bool, Scope) {
        if same_ns(ns, self.default_ns) {
            (None, false, self)
        } else if let Some((_, depth)) = self.prefix.filter(|(pns, _)| same_ns(pns, ns)) {
            (Some(depth), false, self)
        } else {
            (
                None,
                true,
                Scope {
                    default_ns: ns,
                    prefix: self.prefix,
                },
            )
        }
    }
}

/// One member (or collection item) element about to be written, named `name` in namespace
/// `ns` at `depth`: how it is qualified where it stands. Both writers go through it: this
/// one from [`Value`]s, [`super::stored`] from the stored JSON of a composite.
#[derive(Clone, Copy)]
pub(super) struct Element {
    name: &'static str,
    ns: &'static str,
    /// The in-scope `d{depth}p1` prefix that names it, if any.
    prefix: Option<usize>,
    /// Whether it needs its own `xmlns="…"`.
    switch: bool,
    /// The scope its content sees.
    inner: Scope,
    depth: usize,
}

impl Element {
    pub(super) fn new(name: &'static str, ns: &'static str, scope: Scope, depth: usize) -> Element {
        let (prefix, switch, inner) = scope.name(ns);
        Element {
            name,
            ns,
            prefix,
            switch,
            inner,
            depth,
        }
    }

    fn xmlns(&self, out: &mut Vec<u8>) {
        if self.switch {
            out.extend_from_slice(b" xmlns=\"");
            out.extend_from_slice(self.ns.as_bytes());
            out.push(b'"');
        }
    }

    /// A scalar member of wire type `ty`: `None` is nil; text is escaped, enum names,
    /// booleans and integers are written as they are (plain ASCII words).
    pub(super) fn scalar(&self, out: &mut Vec<u8>, ty: &WireType, text: Option<Text<'_>>) {
        open_tag(out, self.prefix, self.name);
        let Some(text) = text else {
            out.extend_from_slice(b" i:nil=\"true\"");
            self.xmlns(out);
            out.extend_from_slice(b" />");
            return;
        };
        self.xmlns(out);
        out.push(b'>');
        if matches!(ty, WireType::Text) {
            text.put(out);
        } else {
            out.extend_from_slice(text.text.as_bytes());
        }
        end_tag(out, self.prefix, self.name);
    }

    /// Opens a composite member (list, map, object) of wire type `ty` up to the end of its
    /// attributes; the [`Composite`] then writes its nil, empty or full form.
    pub(super) fn open(&self, out: &mut Vec<u8>, ty: &'static WireType) -> Composite {
        let item_ns = content_namespace(ty);
        let inner = self.inner;
        // The content's namespace: unprefixed when it is this element's default, the
        // in-scope prefix when that is bound to it, else a new prefix for this depth.
        let in_scope = same_ns(item_ns, inner.default_ns)
            || inner.prefix.is_some_and(|(p, _)| same_ns(p, item_ns));
        let content = if in_scope {
            inner
        } else {
            Scope {
                default_ns: inner.default_ns,
                prefix: Some((item_ns, self.depth)),
            }
        };
        open_tag(out, self.prefix, self.name);
        self.xmlns(out);
        if !in_scope {
            out.extend_from_slice(b" xmlns:");
            push_prefix(out, self.depth);
            out.extend_from_slice(b"=\"");
            out.extend_from_slice(item_ns.as_bytes());
            out.push(b'"');
        }
        Composite {
            prefix: self.prefix,
            name: self.name,
            content,
            depth: self.depth,
        }
    }
}

/// A composite element whose start tag is open (attributes written, `>` not yet).
pub(super) struct Composite {
    prefix: Option<usize>,
    name: &'static str,
    content: Scope,
    depth: usize,
}

impl Composite {
    pub(super) fn nil(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b" i:nil=\"true\" />");
    }

    /// An empty list or map.
    pub(super) fn empty(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b" />");
    }

    /// Ends the start tag: the content follows.
    pub(super) fn start(&self, out: &mut Vec<u8>) {
        out.push(b'>');
    }

    pub(super) fn end(self, out: &mut Vec<u8>) {
        end_tag(out, self.prefix, self.name);
    }

    /// The element of one item of a collection, as .NET names it: the item type's contract
    /// name in its namespace.
    pub(super) fn item(&self, ty: &'static WireType) -> Element {
        let (name, ns) = item_contract(ty);
        Element::new(name, ns, self.content, self.depth + 1)
    }

    /// The element of an object's member, in its declaring type's namespace.
    pub(super) fn member(&self, slot: &Slot) -> Element {
        Element::new(
            slot.member.name,
            slot.owner.xml_namespace,
            self.content,
            self.depth + 1,
        )
    }

    /// The tags of a `Dictionary<string,string>`'s entries, built once for the map: each entry
    /// is then three copies and its two texts (callgrind: 840 instructions an entry when each
    /// tag was put together from its pieces).
    pub(super) fn entries(&self) -> EntryTags {
        let (p, _, _) = self.content.name(NS_ARRAYS);
        let mut tags = Vec::with_capacity(112);
        open_tag(&mut tags, p, "KeyValueOfstringstring");
        tags.push(b'>');
        open_tag(&mut tags, p, "Key");
        tags.push(b'>');
        let key_end = tags.len();
        end_tag(&mut tags, p, "Key");
        open_tag(&mut tags, p, "Value");
        tags.push(b'>');
        let value_end = tags.len();
        end_tag(&mut tags, p, "Value");
        end_tag(&mut tags, p, "KeyValueOfstringstring");
        EntryTags {
            tags,
            key_end,
            value_end,
        }
    }
}

/// The tags around a map entry's key and value (see [`Composite::entries`]).
pub(super) struct EntryTags {
    tags: Vec<u8>,
    key_end: usize,
    value_end: usize,
}

impl EntryTags {
    /// One entry of the map.
    pub(super) fn write(&self, out: &mut Vec<u8>, key: Text<'_>, value: Text<'_>) {
        out.extend_from_slice(&self.tags[..self.key_end]);
        key.put(out);
        out.extend_from_slice(&self.tags[self.key_end..self.value_end]);
        value.put(out);
        out.extend_from_slice(&self.tags[self.value_end..]);
    }
}

/// Element text, and whether it is known to need no escaping (the stored writer's scanner
/// learns that on its way through a JSON string; callgrind: `escape_text` was 14.7 K
/// instructions a PATCH XML, mostly on text with nothing to escape).
#[derive(Clone, Copy)]
pub(super) struct Text<'t> {
    pub(super) text: &'t str,
    pub(super) plain: bool,
}

impl<'t> Text<'t> {
    /// Text not looked at yet: escaped as it is written.
    pub(super) fn unknown(text: &'t str) -> Text<'t> {
        Text { text, plain: false }
    }

    fn put(self, out: &mut Vec<u8>) {
        if self.plain {
            out.extend_from_slice(self.text.as_bytes());
        } else {
            escape_text(out, self.text);
        }
    }
}

/// The members of an object, in DataContract order, inside its open element.
fn write_members(
    out: &mut Vec<u8>,
    object: &Composite,
    ty: &'static TypeDef,
    values: &[Value<'_>],
) -> Result<(), ShapeError> {
    if values.len() != ty.len() {
        return Err(ShapeError(ty.name.to_string()));
    }
    ty.try_for_each_xml_slot(&mut |slot: Slot| {
        write_member(
            out,
            object.member(&slot),
            &slot.member.ty,
            &values[slot.index],
        )
    })
}

/// One member (or item) element holding `value` of wire type `ty`.
fn write_member(
    out: &mut Vec<u8>,
    element: Element,
    ty: &'static WireType,
    value: &Value<'_>,
) -> Result<(), ShapeError> {
    if let Value::Json(text) = value {
        return write_stored(out, element, ty, text);
    }
    match ty {
        WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_) => {
            let text: Option<&str> = match value {
                Value::Null => None,
                Value::Bool(true) => Some("true"),
                Value::Bool(false) => Some("false"),
                Value::Text(t) => Some(t),
                _ => return Err(ShapeError(element.name.to_string())),
            };
            element.scalar(out, ty, text.map(Text::unknown));
        }
        WireType::List(_) | WireType::StringMap | WireType::Object(_) => {
            let composite = element.open(out, ty);
            match (ty, value) {
                (_, Value::Null) => composite.nil(out),
                (WireType::List(_), Value::List(items)) if items.is_empty() => composite.empty(out),
                (WireType::StringMap, Value::Map(entries)) if entries.is_empty() => {
                    composite.empty(out)
                }
                (WireType::List(item), Value::List(items)) => {
                    composite.start(out);
                    for v in items {
                        write_member(out, composite.item(item), item, v)?;
                    }
                    composite.end(out);
                }
                (WireType::StringMap, Value::Map(entries)) => {
                    composite.start(out);
                    let tags = composite.entries();
                    for (k, v) in entries {
                        tags.write(out, Text::unknown(k), Text::unknown(v));
                    }
                    composite.end(out);
                }
                (WireType::Object(td), Value::Object(values)) => {
                    composite.start(out);
                    write_members(out, &composite, td, values)?;
                    composite.end(out);
                }
                _ => return Err(ShapeError(element.name.to_string())),
            }
        }
    }
    Ok(())
}

/// A stored composite, arriving as its JSON: streamed into XML by [`super::stored`]; what
/// that declines (JSON this server does not write: unknown or repeated keys, and the like)
/// is read into values first, as any JSON body is, and written from those.
fn write_stored(
    out: &mut Vec<u8>,
    element: Element,
    ty: &'static WireType,
    json: &str,
) -> Result<(), ShapeError> {
    let mark = out.len();
    if super::stored::write(out, element, ty, json).is_ok() {
        return Ok(());
    }
    out.truncate(mark);
    let parsed =
        json::read_member(ty, json).map_err(|e| ShapeError(format!("{}: {e}", element.name)))?;
    write_member(out, element, ty, &parsed)
}

/// The namespace of what goes inside a composite member's element.
fn content_namespace(ty: &'static WireType) -> &'static str {
    match ty {
        WireType::List(item) => item_contract(item).1,
        WireType::StringMap => NS_ARRAYS,
        WireType::Object(td) => td.xml_namespace,
        _ => "",
    }
}

/// Whether two namespaces are the same: nearly always the same contract string, so its address
/// answers first, then its text.
#[inline]
fn same_ns(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

fn push_prefix(out: &mut Vec<u8>, depth: usize) {
    // Every item of a collection in another namespace names one: no String per prefix.
    if depth < 10 {
        out.extend_from_slice(&[b'd', b'0' + depth as u8, b'p', b'1']);
    } else {
        out.push(b'd');
        out.extend_from_slice(depth.to_string().as_bytes());
        out.extend_from_slice(b"p1");
    }
}

fn open_tag(out: &mut Vec<u8>, prefix: Option<usize>, name: &str) {
    out.push(b'<');
    if let Some(depth) = prefix {
        push_prefix(out, depth);
        out.push(b':');
    }
    out.extend_from_slice(name.as_bytes());
}

fn end_tag(out: &mut Vec<u8>, prefix: Option<usize>, name: &str) {
    out.extend_from_slice(b"</");
    if let Some(depth) = prefix {
        push_prefix(out, depth);
        out.push(b':');
    }
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

/// Escapes element text the way .NET's `XmlWriter` does, plus one deliberate difference.
///
/// - `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;`; quotes and apostrophes stay as they are (they
///   only need escaping inside attributes).
/// - `\r` becomes `&#xD;` so a strict reader (which folds raw CR and CRLF into LF) gets it back
///   unchanged; tab and newline are written raw.
/// - Non-ASCII is written as raw UTF-8.
/// - Characters XML 1.0 cannot carry at all (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F,
///   U+FFFE, U+FFFF): .NET's checking writer throws and the client gets a 500. We must not fail
///   halfway through a response, and silently dropping data is worse, so they are written as
///   hexadecimal character references (`&#x1;`). Binding refuses such text on input, so only
///   data stored before that rule can hold it; error messages never carry it (see
///   `wire::error_body`).
pub(super) fn escape_text(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    loop {
        // Nearly all text is plain: eight bytes at a time to the next byte that may need it.
        i = find_stop(bytes, i, may_need_escape);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        let (replacement, len): (Cow<'static, [u8]>, usize) = match b {
            b'&' => (Cow::Borrowed(b"&amp;"), 1),
            b'<' => (Cow::Borrowed(b"&lt;"), 1),
            b'>' => (Cow::Borrowed(b"&gt;"), 1),
            b'\r' => (Cow::Borrowed(b"&#xD;"), 1),
            b'\t' | b'\n' => {
                i += 1;
                continue;
            }
            0x00..=0x1F => (Cow::Owned(char_reference(u32::from(b))), 1),
            // U+FFFE and U+FFFF are EF BF BE / EF BF BF in UTF-8.
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                let c = 0xFFC0 | (u32::from(bytes[i + 2]) & 0x3F);
                (Cow::Owned(char_reference(c)), 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[copied..i]);
        out.extend_from_slice(&replacement);
        i += len;
        copied = i;
    }
    out.extend_from_slice(&bytes[copied..]);
}

/// The bytes of `x` that [`escape_text`] must look at (see [`bytes_below`]): `&`, `<`, `>`,
/// the control characters (tab and newline too, which it then passes over), and 0xEF (the
/// lead byte of U+FFFE and U+FFFF in UTF-8). Measured under callgrind (PATCH XML, the bench's
/// sessions): 21.7 K instructions a response in `escape_text` when it looked at every byte.
#[inline]
fn may_need_escape(x: u64) -> u64 {
    bytes_below(x, 0x20)
        | bytes_equal(x, b'&')
        | bytes_equal(x, b'<')
        | bytes_equal(x, b'>')
        | bytes_equal(x, 0xEF)
}

/// The index of the first byte from `i` that `stops` reports (its high bit set in the word
/// it returns for eight bytes, exact for the lowest as [`bytes_below`] is), or the length of
/// `bytes`: eight bytes at a time, the last few as one word padded with spaces, which no
/// caller stops at. Both text scans use it: [`escape_text`] and the stored writer's JSON
/// strings (`stored::skip_plain`).
#[inline]
pub(super) fn find_stop(bytes: &[u8], mut i: usize, stops: impl Fn(u64) -> u64) -> usize {
    loop {
        let rest = bytes.get(i..).unwrap_or_default();
        let word = match rest.get(..8) {
            Some(word) => u64::from_le_bytes(word.try_into().unwrap_or_default()),
            None if rest.is_empty() => return i,
            None => {
                let mut word = [b' '; 8];
                word[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(word)
            }
        };
        let found = stops(word);
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        if rest.len() <= 8 {
            return i + rest.len();
        }
        i += 8;
    }
}

/// The high bit of each byte of `x` below `n` (`n` at most 0x80): `x - n…` borrows into a
/// byte's top bit, masked by `!x` so bytes from 0x80 up never count. Exact for the lowest
/// byte reported (a borrow only runs upward from a byte that is itself reported), which is
/// the first in text order for a little-endian word.
#[inline]
pub(super) fn bytes_below(x: u64, n: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH
}

/// The high bit of each byte of `x` equal to `b` (a zero byte of `x ^ b…`), exact as
/// [`bytes_below`] is.
#[inline]
pub(super) fn bytes_equal(x: u64, b: u8) -> u64 {
    bytes_below(x ^ (0x0101_0101_0101_0101 * u64::from(b)), 1)
}

/// `&#x1F;`: upper-case hex, as .NET writes `&#xD;`.
fn char_reference(c: u32) -> Vec<u8> {
    format!("&#x{c:X};").into_bytes()
}
