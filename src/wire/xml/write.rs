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
    out.extend_from_slice(XML_DECLARATION);
    out.push(b'<');
    out.extend_from_slice(ty.name.as_bytes());
    out.extend_from_slice(b" xmlns:i=\"");
    out.extend_from_slice(NS_XSI.as_bytes());
    out.extend_from_slice(b"\" xmlns=\"");
    out.extend_from_slice(ty.xml_namespace.as_bytes());
    out.extend_from_slice(b"\">");
    let scope = Scope {
        default_ns: ty.xml_namespace,
        prefix: None,
    };
    write_members(out, ty, values, scope, 1)?;
    end_tag(out, None, ty.name);
    Ok(())
}

/// [`write`] for a document that is a typed DTO.
pub fn write_dto<T: crate::contract::Dto>(out: &mut Vec<u8>, dto: &T) -> Result<(), ShapeError> {
    write(out, T::TYPE, &dto.to_object())
}

/// The namespaces in scope where an element is written.
#[derive(Clone, Copy)]
struct Scope {
    default_ns: &'static str,
    /// The `d{depth}p1` prefix in scope, if any: (namespace, depth it was declared at).
    prefix: Option<(&'static str, usize)>,
}

impl Scope {
    /// How an element in namespace `ns` is named here: with the in-scope prefix, or plain (with
    /// an `xmlns` switch when `ns` is not the default), and the scope its content sees.
    fn name(self, ns: &'static str) -> (Option<usize>, bool, Scope) {
        if ns == self.default_ns {
            (None, false, self)
        } else if let Some((_, depth)) = self.prefix.filter(|(pns, _)| *pns == ns) {
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

/// The members of an object whose element is at `depth`.
fn write_members(
    out: &mut Vec<u8>,
    ty: &'static TypeDef,
    values: &[Value<'_>],
    scope: Scope,
    depth: usize,
) -> Result<(), ShapeError> {
    if values.len() != ty.len() {
        return Err(ShapeError(ty.name.to_string()));
    }
    ty.try_for_each_xml_slot(&mut |slot: Slot| {
        write_member(
            out,
            slot.member.name,
            slot.owner.xml_namespace,
            &slot.member.ty,
            &values[slot.index],
            scope,
            depth + 1,
        )
    })
}

/// One member element at `depth`, named `name` in namespace `ns`.
fn write_member(
    out: &mut Vec<u8>,
    name: &'static str,
    ns: &'static str,
    ty: &'static WireType,
    value: &Value<'_>,
    scope: Scope,
    depth: usize,
) -> Result<(), ShapeError> {
    let (prefix, switch, inner) = scope.name(ns);
    let xmlns = |out: &mut Vec<u8>| {
        if switch {
            out.extend_from_slice(b" xmlns=\"");
            out.extend_from_slice(ns.as_bytes());
            out.push(b'"');
        }
    };
    // A stored list arrives as its JSON: read it (borrowing) and write that.
    if let Value::Json(text) = value {
        let parsed = json::read_member(ty, text).map_err(|e| ShapeError(format!("{name}: {e}")))?;
        return write_member(out, name, ns, ty, &parsed, scope, depth);
    }
    match ty {
        WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_) => {
            let text: &str = match value {
                Value::Null => {
                    open_tag(out, prefix, name);
                    out.extend_from_slice(b" i:nil=\"true\"");
                    xmlns(out);
                    out.extend_from_slice(b" />");
                    return Ok(());
                }
                Value::Bool(true) => "true",
                Value::Bool(false) => "false",
                Value::Text(t) => t,
                _ => return Err(ShapeError(name.to_string())),
            };
            open_tag(out, prefix, name);
            xmlns(out);
            out.push(b'>');
            if matches!(ty, WireType::Text) {
                escape_text(out, text);
            } else {
                // Enum names and booleans are plain ASCII words.
                out.extend_from_slice(text.as_bytes());
            }
            end_tag(out, prefix, name);
        }
        WireType::List(_) | WireType::StringMap | WireType::Object(_) => {
            let item_ns = content_namespace(ty);
            // The content's namespace: unprefixed when it is this element's default, the
            // in-scope prefix when that is bound to it, else a new prefix for this depth.
            let in_scope =
                item_ns == inner.default_ns || inner.prefix.is_some_and(|(p, _)| p == item_ns);
            let (decl, content) = if in_scope {
                (false, inner)
            } else {
                (
                    true,
                    Scope {
                        default_ns: inner.default_ns,
                        prefix: Some((item_ns, depth)),
                    },
                )
            };
            let attrs = |out: &mut Vec<u8>| {
                xmlns(out);
                if decl {
                    out.extend_from_slice(b" xmlns:");
                    push_prefix(out, depth);
                    out.extend_from_slice(b"=\"");
                    out.extend_from_slice(item_ns.as_bytes());
                    out.push(b'"');
                }
            };
            open_tag(out, prefix, name);
            attrs(out);
            match (ty, value) {
                (_, Value::Null) => out.extend_from_slice(b" i:nil=\"true\" />"),
                (WireType::List(_), Value::List(items)) if items.is_empty() => {
                    out.extend_from_slice(b" />")
                }
                (WireType::StringMap, Value::Map(entries)) if entries.is_empty() => {
                    out.extend_from_slice(b" />")
                }
                (WireType::List(item), Value::List(items)) => {
                    out.push(b'>');
                    for v in items {
                        write_item(out, item, v, content, depth + 1)?;
                    }
                    end_tag(out, prefix, name);
                }
                (WireType::StringMap, Value::Map(entries)) => {
                    out.push(b'>');
                    let (p, _, _) = content.name(NS_ARRAYS);
                    for (k, v) in entries {
                        open_tag(out, p, "KeyValueOfstringstring");
                        out.push(b'>');
                        for (n, text) in [("Key", k), ("Value", v)] {
                            open_tag(out, p, n);
                            out.push(b'>');
                            escape_text(out, text);
                            end_tag(out, p, n);
                        }
                        end_tag(out, p, "KeyValueOfstringstring");
                    }
                    end_tag(out, prefix, name);
                }
                (WireType::Object(td), Value::Object(values)) => {
                    out.push(b'>');
                    write_members(out, td, values, content, depth)?;
                    end_tag(out, prefix, name);
                }
                _ => return Err(ShapeError(name.to_string())),
            }
        }
    }
    Ok(())
}

/// One item of a collection, as .NET names it: the item type's contract name in its namespace.
fn write_item(
    out: &mut Vec<u8>,
    ty: &'static WireType,
    value: &Value<'_>,
    scope: Scope,
    depth: usize,
) -> Result<(), ShapeError> {
    let (name, ns) = item_contract(ty);
    write_member(out, name, ns, ty, value, scope, depth)
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

fn push_prefix(out: &mut Vec<u8>, depth: usize) {
    out.push(b'd');
    out.extend_from_slice(depth.to_string().as_bytes());
    out.extend_from_slice(b"p1");
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
    while i < bytes.len() {
        let b = bytes[i];
        // Nearly every byte is plain text: one table lookup lets it through.
        if !MAY_NEED_ESCAPE[usize::from(b)] {
            i += 1;
            continue;
        }
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

/// The bytes [`escape_text`] must look at: `&`, `<`, `>`, the control characters other than
/// tab and newline, and 0xEF (the lead byte of U+FFFE and U+FFFF in UTF-8).
const MAY_NEED_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        table[c] = c != 0x09 && c != 0x0A;
        c += 1;
    }
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[0xEF] = true;
    table
};

/// `&#x1F;`: upper-case hex, as .NET writes `&#xD;`.
fn char_reference(c: u32) -> Vec<u8> {
    format!("&#x{c:X};").into_bytes()
}
