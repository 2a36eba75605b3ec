//! A stored composite (the `json` columns: members, log, breadcrumb), written as DataContract
//! XML straight from its JSON.
//!
//! Storage keeps lists as this server's canonical JSON, members in declaration order (JSON's
//! order); DataContract XML wants them in DataContract order (ordinal by name), and writes a
//! nil element for what JSON omits. So the writer cannot copy, but it need not build values
//! either: a scanner over the JSON drives the XML writer. A list's items are written as they
//! are scanned; an object whose DataContract order is its declaration order is written as it is
//! scanned too; any other object's members are held (a scalar as its text, a composite as its
//! raw JSON, at most [`MAX_MEMBERS`] of them, on the stack) and then written in DataContract
//! order. Nothing is allocated but a string with escapes, and a map's entries.
//!
//! The scanner is written here rather than taken from serde_json, against this crate's
//! preference for libraries, because a measurement said so: under callgrind (PATCH XML, the
//! bench's sessions, a fixed sequence of 1,000 patches; `scripts/bench_profile.md`) the whole
//! request went from 257.9 K to 250.0 K instructions, most of it in skipping string content
//! eight bytes at a time with an exact stop (a visitor call per value, a `RawValue` per held
//! member and a second parse of each held composite are gone too). The scanner only takes
//! what this server writes (no number, no raw control character): it declines anything else,
//! and so does a shape error, and the caller then reads values with the JSON reader and writes
//! those, as before, so what is written never depends on which path wrote it (the tests below
//! compare both, on hand-picked and on corrupted JSON).
//!
//! `stored_xml_timing` below times it against reading the JSON into borrowed
//! [`crate::contract::Value`]s and writing those (a session of 3 members, 10 log entries and 3
//! breadcrumbs, release build, best of 5; by hand: on these shared machines it moved 30 %
//! between identical runs, so callgrind is the measure quoted). Storing the lists in
//! DataContract order instead would make JSON, the common case, pay for reordering.

use super::write::{Composite, Element, Text, bytes_below, bytes_equal, find_stop};
use crate::contract::{Slot, TypeDef, WireType};
use std::borrow::Cow;

/// The most members an object may have to be written from its held members.
pub(super) const MAX_MEMBERS: usize = 16;

/// The most entries a map may have to be written here (its repeated keys are found by a
/// linear search).
const MAX_ENTRIES: usize = 64;

/// JSON this writer does not take (the caller falls back to values); it carries no reason,
/// because the fallback reports the JSON reader's own.
#[derive(Debug)]
pub(super) struct Decline;

type Scanned<T> = Result<T, Decline>;

/// Writes `element`, of wire type `ty`, from its stored JSON.
pub(super) fn write(
    out: &mut Vec<u8>,
    element: Element,
    ty: &'static WireType,
    json: &str,
) -> Scanned<()> {
    let mut scan = Scan::new(json);
    write_value(out, element, ty, &mut scan)?;
    scan.end()
}

/// A cursor over JSON text.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Scan<'a> {
        Scan { text, at: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte after any whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        while let Some(&b) = bytes.get(self.at) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    /// Consumes `b` (after whitespace), or declines.
    fn expect(&mut self, b: u8) -> Scanned<()> {
        if self.peek() == Some(b) {
            self.at += 1;
            Ok(())
        } else {
            Err(Decline)
        }
    }

    /// Consumes `b` if it is next (after whitespace).
    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.at += 1;
        }
        found
    }

    /// Consumes a keyword (`null`, `true`, `false`).
    fn keyword(&mut self, word: &str) -> Scanned<()> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(Decline)
        }
    }

    fn end(mut self) -> Scanned<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Decline),
        }
    }

    /// A string at the cursor: its text, borrowed when it has no escapes (unescaped by
    /// serde_json when it has: the rare case, and the same rules as the JSON reader's), and
    /// whether XML text needs nothing escaped in it (found on the same pass).
    fn string(&mut self) -> Scanned<Scalar<'a>> {
        self.expect(b'"')?;
        let start = self.at;
        let bytes = self.bytes();
        let (mut escaped, mut plain) = (false, true);
        loop {
            self.at = skip_plain(bytes, self.at);
            match bytes.get(self.at) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    // The escaped byte is skipped whatever it is; serde_json judges it below.
                    self.at += 2;
                }
                Some(b'&' | b'<' | b'>' | 0xEF) => {
                    plain = false;
                    self.at += 1;
                }
                // A raw control character (which JSON forbids), or the end of the text.
                _ => return Err(Decline),
            }
        }
        let inner = self.text.get(start..self.at).ok_or(Decline)?;
        self.at += 1;
        if escaped {
            let quoted = &self.text[start - 1..self.at];
            let text = serde_json::from_str::<String>(quoted).map_err(|_| Decline)?;
            Ok(Scalar::escape(Cow::Owned(text)))
        } else {
            Ok(Scalar {
                text: Cow::Borrowed(inner),
                plain,
            })
        }
    }

    /// A scalar's text as the JSON reader takes it: a string unescaped, a boolean as
    /// `true`/`false`, `None` for null. A number declines: this server stores none in a list.
    fn scalar(&mut self) -> Scanned<Option<Scalar<'a>>> {
        let word = |w: &'static str| Scalar {
            text: Cow::Borrowed(w),
            plain: true,
        };
        match self.peek() {
            Some(b'"') => self.string().map(Some),
            Some(b't') => self.keyword("true").map(|()| Some(word("true"))),
            Some(b'f') => self.keyword("false").map(|()| Some(word("false"))),
            Some(b'n') => self.keyword("null").map(|()| None),
            _ => Err(Decline),
        }
    }

    /// An object's next key (after `{` or a member), or `None` at its end. `expected` is the
    /// key canonical JSON has next: found as it is, without scanning it as a string (the
    /// second of the pair says so).
    fn key(&mut self, first: bool, expected: Option<&str>) -> Scanned<Option<(Scalar<'a>, bool)>> {
        if self.eat(b'}') {
            return Ok(None);
        }
        if !first {
            self.expect(b',')?;
        }
        if let Some(expected) = expected {
            self.peek();
            let after = self.at + 1 + expected.len();
            let bytes = self.bytes();
            if bytes.get(self.at) == Some(&b'"')
                && bytes.get(self.at + 1..after) == Some(expected.as_bytes())
                && bytes.get(after) == Some(&b'"')
            {
                let key = &self.text[self.at + 1..after];
                self.at = after + 1;
                self.expect(b':')?;
                let key = Scalar {
                    text: Cow::Borrowed(key),
                    // A member's JSON name is a plain identifier.
                    plain: true,
                };
                return Ok(Some((key, true)));
            }
        }
        let key = self.string()?;
        self.expect(b':')?;
        Ok(Some((key, false)))
    }

    /// Whether a list has a next item (after `[` or an item).
    fn next_item(&mut self, first: bool) -> Scanned<bool> {
        if self.eat(b']') {
            return Ok(false);
        }
        if !first {
            self.expect(b',')?;
        }
        Ok(true)
    }

    /// Skips one composite value (an object or a list), returning its raw text; what is inside
    /// is checked when it is written.
    fn raw(&mut self) -> Scanned<&'a str> {
        if !matches!(self.peek(), Some(b'{' | b'[')) {
            return Err(Decline);
        }
        let start = self.at;
        let bytes = self.bytes();
        let mut depth = 0usize;
        loop {
            match bytes.get(self.at) {
                Some(b'"') => {
                    self.string()?;
                    continue;
                }
                Some(b'{' | b'[') => depth += 1,
                Some(b'}' | b']') => depth = depth.checked_sub(1).ok_or(Decline)?,
                Some(_) => {}
                None => return Err(Decline),
            }
            self.at += 1;
            if depth == 0 {
                return Ok(&self.text[start..self.at]);
            }
        }
    }
}

/// A scalar's text, and whether XML text needs nothing escaped in it.
struct Scalar<'a> {
    text: Cow<'a, str>,
    plain: bool,
}

impl<'a> Scalar<'a> {
    /// Text not looked at for XML: escaped as it is written.
    fn escape(text: Cow<'a, str>) -> Scalar<'a> {
        Scalar { text, plain: false }
    }

    fn xml(&self) -> Text<'_> {
        Text {
            text: &self.text,
            plain: self.plain,
        }
    }
}

/// The index of the first byte from `i` that ends a plain run inside a JSON string (a quote, a
/// backslash or a control character) or may need escaping in XML text (`&`, `<`, `>`, 0xEF:
/// see `write::escape_text`), or the text's length. Measured: a byte loop for the tail cost
/// 26 K instructions a PATCH XML here (keys and values are short).
fn skip_plain(bytes: &[u8], i: usize) -> usize {
    find_stop(bytes, i, ends_plain)
}

/// The high bit of each byte of `x` that [`skip_plain`] stops at; the lowest is exact, which
/// is the one it wants. Two pairs share a test: `"` (0x22) and `&` (0x26) are the bytes that
/// read 0x26 with bit 2 set, `<` (0x3C) and `>` (0x3E) those that read 0x3E with bit 1 set.
#[inline]
fn ends_plain(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    bytes_below(x, 0x20)
        | bytes_equal(x | (ONES * 0x04), b'&')
        | bytes_equal(x | (ONES * 0x02), b'>')
        | bytes_equal(x, b'\\')
        | bytes_equal(x, 0xEF)
}

/// One element of wire type `ty`, written as its value is scanned.
fn write_value(
    out: &mut Vec<u8>,
    element: Element,
    ty: &'static WireType,
    scan: &mut Scan<'_>,
) -> Scanned<()> {
    match ty {
        WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_) => {
            let text = scan.scalar()?;
            element.scalar(out, ty, text.as_ref().map(Scalar::xml));
            Ok(())
        }
        _ if scan.peek() == Some(b'n') => {
            scan.keyword("null")?;
            element.open(out, ty).nil(out);
            Ok(())
        }
        WireType::List(item) => {
            scan.expect(b'[')?;
            let list = element.open(out, ty);
            if !scan.next_item(true)? {
                list.empty(out);
                return Ok(());
            }
            list.start(out);
            let mut first = true;
            while first || scan.next_item(false)? {
                first = false;
                write_value(out, list.item(item), item, scan)?;
            }
            list.end(out);
            Ok(())
        }
        WireType::StringMap => {
            scan.expect(b'{')?;
            let map = element.open(out, ty);
            write_map(out, map, scan)
        }
        WireType::Object(td) => {
            scan.expect(b'{')?;
            let object = element.open(out, ty);
            object.start(out);
            if td.base.is_none() && in_declaration_order(td) {
                stream_members(out, &object, td, scan)?;
            } else if td.len() <= MAX_MEMBERS {
                let mut held: [Held<'_>; MAX_MEMBERS] = Default::default();
                collect_members(td, scan, &mut held)?;
                td.try_for_each_xml_slot(&mut |slot| {
                    write_held(
                        out,
                        object.member(&slot),
                        &slot.member.ty,
                        &held[slot.index],
                    )
                })?;
            } else {
                return Err(Decline);
            }
            object.end(out);
            Ok(())
        }
    }
}

/// Whether a type's DataContract order is its declaration order (JSON's): then its members
/// are written as they are scanned.
fn in_declaration_order(td: &TypeDef) -> bool {
    td.xml_order.iter().enumerate().all(|(i, &j)| i == j)
}

/// The slot the object's next key names (`None` at its end): the member canonical JSON has
/// at `next` (the one after the previous key's) when the key is that member's as it is, else
/// the member the key names in any case, as the JSON reader binds keys; an unknown key declines.
fn next_slot(
    td: &'static TypeDef,
    scan: &mut Scan<'_>,
    first: bool,
    next: usize,
) -> Scanned<Option<Slot>> {
    let canonical = td.members.get(next).filter(|_| td.base.is_none());
    let Some((key, is_canonical)) = scan.key(first, canonical.map(|m| m.json))? else {
        return Ok(None);
    };
    match canonical {
        Some(member) if is_canonical => Ok(Some(Slot {
            index: next,
            member,
            owner: td,
        })),
        _ => td.slot_by_key(&key.text).map(Some).ok_or(Decline),
    }
}

/// The members of an object in declaration order (= DataContract order), written as they
/// are scanned, a nil element for each one JSON omits; a key out of that order declines.
fn stream_members(
    out: &mut Vec<u8>,
    object: &Composite,
    td: &'static TypeDef,
    scan: &mut Scan<'_>,
) -> Scanned<()> {
    let absent = |out: &mut Vec<u8>, from: usize, to: usize| {
        for (index, member) in td.members.iter().enumerate().take(to).skip(from) {
            let slot = Slot {
                index,
                member,
                owner: td,
            };
            write_held(out, object.member(&slot), &member.ty, &Held::Absent)?;
        }
        Ok(())
    };
    let mut next = 0;
    let mut first = true;
    while let Some(slot) = next_slot(td, scan, first, next)? {
        first = false;
        if slot.index < next {
            return Err(Decline);
        }
        absent(out, next, slot.index)?;
        write_value(out, object.member(&slot), &slot.member.ty, scan)?;
        next = slot.index + 1;
    }
    absent(out, next, td.members.len())
}

/// A member of an object taken out of order: absent, a scalar's text (unescaped, borrowed
/// when it has no escapes; `None` for null), or a composite's raw JSON.
#[derive(Default)]
enum Held<'a> {
    #[default]
    Absent,
    Scalar(Option<Scalar<'a>>),
    Raw(&'a str),
}

/// An object's members by slot; an unknown or repeated key declines.
fn collect_members<'a>(
    td: &'static TypeDef,
    scan: &mut Scan<'a>,
    held: &mut [Held<'a>],
) -> Scanned<()> {
    let mut next = 0;
    let mut first = true;
    while let Some(slot) = next_slot(td, scan, first, next)? {
        first = false;
        if !matches!(held[slot.index], Held::Absent) {
            return Err(Decline);
        }
        held[slot.index] = match &slot.member.ty {
            ty if ty.is_scalar() => Held::Scalar(scan.scalar()?),
            _ if scan.peek() == Some(b'n') => {
                scan.keyword("null")?;
                Held::Scalar(None)
            }
            _ => Held::Raw(scan.raw()?),
        };
        next = slot.index + 1;
    }
    Ok(())
}

/// A member held by [`collect_members`]: absent and null are both nil.
fn write_held(
    out: &mut Vec<u8>,
    element: Element,
    ty: &'static WireType,
    held: &Held<'_>,
) -> Scanned<()> {
    let text = match held {
        Held::Raw(raw) => return write(out, element, ty, raw),
        Held::Scalar(text) => text.as_ref(),
        Held::Absent => None,
    };
    match text {
        _ if ty.is_scalar() => element.scalar(out, ty, text.map(Scalar::xml)),
        None => element.open(out, ty).nil(out),
        Some(_) => return Err(Decline),
    }
    Ok(())
}

/// A `Dictionary<string,string>`'s entries (after its `{`), as the JSON reader takes them: a
/// repeated key replaces the earlier value in its place, a null value is the empty string.
fn write_map(out: &mut Vec<u8>, map_element: Composite, scan: &mut Scan<'_>) -> Scanned<()> {
    let mut entries: Vec<(Scalar<'_>, Scalar<'_>)> = Vec::new();
    let mut first = true;
    while let Some((key, _)) = scan.key(first, None)? {
        first = false;
        let value = scan.scalar()?.unwrap_or(Scalar {
            text: Cow::Borrowed(""),
            plain: true,
        });
        match entries.iter().position(|(k, _)| k.text == key.text) {
            Some(i) => entries[i].1 = value,
            // The lookup is linear: a map larger than any this server stores declines.
            None if entries.len() == MAX_ENTRIES => return Err(Decline),
            None => entries.push((key, value)),
        }
    }
    if entries.is_empty() {
        map_element.empty(out);
        return Ok(());
    }
    map_element.start(out);
    let tags = map_element.entries();
    for (k, v) in &entries {
        tags.write(out, k.xml(), v.xml());
    }
    map_element.end(out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::write::{Element, Scope};
    use crate::contract::sessions::{
        CustomerBreadcrumb, SessionInfo, SessionLogInfo, SessionMemberCallState, SessionMemberInfo,
        SessionMemberRoles,
    };
    use crate::contract::{Dto, StringMap, TypeDef, Value, WireType};
    use crate::wire::json;

    fn slot_of(field: &str) -> crate::contract::Slot {
        SessionInfo::TYPE.slot_by_field(field).unwrap()
    }

    /// A SessionInfo document whose only value is `field`, given as stored JSON (streamed) or
    /// as the values read from it (the way composites were written before).
    fn document(field: &str, json: &str, streamed: bool) -> Vec<u8> {
        let slot = slot_of(field);
        let mut values = vec![Value::Null; SessionInfo::TYPE.len()];
        values[slot.index] = if streamed {
            Value::Json(json.into())
        } else {
            json::read_member(&slot.member.ty, json).unwrap()
        };
        let mut out = Vec::new();
        super::super::write(&mut out, SessionInfo::TYPE, &Value::Object(values)).unwrap();
        out
    }

    /// Whether the streaming writer takes `json` for `field` itself (rather than declining).
    fn streams(field: &str, json: &str) -> bool {
        let slot = slot_of(field);
        let ty: &'static TypeDef = SessionInfo::TYPE;
        let element = Element::new(
            slot.member.name,
            slot.owner.xml_namespace,
            Scope::root(ty),
            2,
        );
        super::write(&mut Vec::new(), element, &slot.member.ty, json).is_ok()
    }

    fn assert_same(field: &str, json: &str) {
        let streamed = String::from_utf8(document(field, json, true)).unwrap();
        let read = String::from_utf8(document(field, json, false)).unwrap();
        assert_eq!(streamed, read, "{field}: {json}");
    }

    fn member(i: usize) -> SessionMemberInfo {
        SessionMemberInfo {
            identity: Some(format!("ab3e1d352e7abed5658ef3{i:02}")),
            endpoint_id: Some(format!("e6f6dabf9c86269bdefda9{i:02}")),
            display_name: Some(format!("Jane Kowalski {i}")),
            is_original_member: i == 0,
            avatar_url: (i != 1).then(|| format!("https://cdn.example/avatars/{i}.png")),
            application_data: Some(StringMap(vec![
                ("crmContactId".into(), format!("crm-60309{i}")),
                ("language".into(), "en-US".into()),
                ("skill".into(), "billing & <refunds>".into()),
            ])),
            call_state: SessionMemberCallState::Connected,
            role: SessionMemberRoles::Agent,
            call_sid: Some(format!("CA0123456789abcdef0123456789abcd{i:02}")),
            muted: i == 2,
        }
    }

    /// A session shaped like the bench's: 3 members, 10 log entries, 3 breadcrumbs.
    fn bench_session() -> SessionInfo {
        let mut s = SessionInfo {
            members: Some((0..3).map(member).collect()),
            log: Some(
                (0..10)
                    .map(|i| SessionLogInfo {
                        date: Some(format!("2026-11-01T08:00:{i:02}.456Z")),
                        message: Some(format!("Call entered flow 'Sales routing' (node {i})")),
                    })
                    .collect(),
            ),
            customer_breadcrumb: Some(
                ["SMB Customers", "North America", "Northwind Traders"]
                    .iter()
                    .enumerate()
                    .map(|(i, n)| CustomerBreadcrumb {
                        id: Some(format!("097d8b09c96e5ff3182b09{i:02}")),
                        name: Some(n.to_string()),
                    })
                    .collect(),
            ),
            ..SessionInfo::default()
        };
        s.id = Some("65f0a1b2c3d4e5f6a7000000".into());
        s
    }

    /// The session as storage hands it out: its composites as JSON.
    fn stored_form(s: &SessionInfo) -> Value<'static> {
        json::composites_as_json(SessionInfo::TYPE, s.to_object()).unwrap()
    }

    #[test]
    fn a_stored_session_writes_the_bytes_of_the_typed_one() {
        let mut odd = bench_session();
        let members = odd.members.as_mut().unwrap();
        members[0].application_data = Some(StringMap::default());
        members[1].application_data = None;
        members[2].display_name = Some("tab\t, CR\r, \u{1}, \u{FFFE}, \"quoted\", é東🚀".into());
        odd.log = Some(Vec::new());
        odd.customer_breadcrumb = None;
        for s in [bench_session(), odd, SessionInfo::default()] {
            let mut typed = Vec::new();
            super::super::write_dto(&mut typed, &s).unwrap();
            let mut stored = Vec::new();
            super::super::write(&mut stored, SessionInfo::TYPE, &stored_form(&s)).unwrap();
            assert_eq!(String::from_utf8(stored), String::from_utf8(typed));
        }
    }

    #[test]
    fn canonical_json_is_streamed() {
        let Value::Object(values) = stored_form(&bench_session()) else {
            unreachable!()
        };
        for field in ["members", "log", "customer_breadcrumb"] {
            let Value::Json(text) = &values[slot_of(field).index] else {
                panic!("{field} is not stored as JSON")
            };
            assert!(streams(field, text), "{field}");
        }
    }

    #[test]
    fn json_the_reader_takes_gives_the_same_bytes_streamed_or_declined() {
        let cases = [
            // Members in any order, keys in any case, escapes, nulls for absent members.
            (
                "members",
                r#"[{"muted":true,"Identity":"a\"b\u00e9","displayName":null}]"#,
            ),
            ("members", r#"[null, {}]"#),
            ("members", "[]"),
            ("members", "null"),
            // Scalars as the JSON reader takes them: numbers and booleans as their text.
            (
                "members",
                r#"[{"identity":12.50,"displayName":true,"callSid":-3}]"#,
            ),
            // Maps: a repeated key keeps its first place and last value; null is "".
            (
                "members",
                r#"[{"applicationData":{"a":"1","b":null,"a":"2","c":7,"d":false}}]"#,
            ),
            ("members", r#"[{"applicationData":{}}]"#),
            ("log", r#"[{"message":"x\r\ny\u0001 <&>","date":"d"}]"#),
            ("customer_breadcrumb", r#"[{"name":"n"},{"id":"i"}]"#),
            // Declined, and written from values instead: an unknown member.
            ("members", r#"[{"identity":"a","unknown":{"deep":[1,2]}}]"#),
        ];
        for (field, json) in cases {
            assert_same(field, json);
        }
        assert!(!streams("members", r#"[{"unknown":1}]"#));
        assert!(!streams("log", r#"[{"date":"a","date":"b"}]"#));
        assert!(streams(
            "members",
            r#"[{"applicationData":{"a":"1","a":"2"}}]"#
        ));
    }

    #[test]
    fn what_the_json_reader_refuses_is_still_an_error() {
        let slot = slot_of("members");
        for json in [
            r#"[{"identity":[1]}]"#,
            r#"{"identity":"a"}"#,
            "[1]",
            "[{}] x",
            r#"[{"identity":"a","IDENTITY":"b"}]"#,
        ] {
            let mut values = vec![Value::Null; SessionInfo::TYPE.len()];
            values[slot.index] = Value::Json(json.into());
            let mut out = Vec::new();
            let written = super::super::write(&mut out, SessionInfo::TYPE, &Value::Object(values));
            assert!(written.is_err(), "{json}");
            assert!(json::read_member(&slot.member.ty, json).is_err(), "{json}");
        }
    }

    /// The scanner's own edges: whitespace anywhere JSON allows it, escapes in keys and values,
    /// a string reaching the text's end, raw control characters, keywords cut short.
    #[test]
    fn the_scanner_takes_or_declines_as_the_json_reader_decides() {
        let taken = [
            ("log", " [ { \"date\" : \"d\" ,\n\t\"message\":\r\"m\" } ] "),
            ("log", r#"[{"d\u0061te":"a\/b","message":"\ud83d\ude80"}]"#),
            (
                "members",
                r#"[{"callSid":"0123456789abcdef\"01234567","muted":false}]"#,
            ),
            (
                "members",
                r#"[{"applicationData":{"k":"01234567","l":true}}]"#,
            ),
        ];
        for (field, json) in taken {
            assert!(streams(field, json), "{field}: {json}");
            assert_same(field, json);
        }
        let declined = [
            ("log", "[{\"message\":\"a\u{1}b\"}]"),
            ("log", r#"[{"message":"unterminated"#),
            ("log", r#"[{"message":"01234567"#),
            ("log", r#"[{"message":nul}]"#),
            // A canonical key must still be a string: no opening quote, no match.
            ("log", r#"[{xdate":"a"}]"#),
            ("log", r#"[{"date""#),
            ("log", r#"[{"message":"a"},]"#),
            ("log", r#"[{"message":"a"}"#),
            ("log", r#"[{"message" "a"}]"#),
            ("log", r#"[{"message":"\ud800"}]"#),
            ("members", r#"[{"applicationData":"text"}]"#),
            ("members", r#"[{"applicationData":{"k":"v"}"#),
            ("members", r#"[{"applicationData":{"k":["v"]}}]"#),
            ("customer_breadcrumb", "{}"),
        ];
        for (field, json) in declined {
            assert!(!streams(field, json), "{field}: {json}");
            // ... and the fallback decides as the JSON reader does.
            let slot = slot_of(field);
            let mut values = vec![Value::Null; SessionInfo::TYPE.len()];
            values[slot.index] = Value::Json(json.into());
            let written =
                super::super::write(&mut Vec::new(), SessionInfo::TYPE, &Value::Object(values));
            let read = json::read_member(&slot.member.ty, json);
            assert_eq!(written.is_ok(), read.is_ok(), "{field}: {json}");
        }
    }

    #[test]
    fn a_string_scan_stops_exactly_at_the_first_byte_that_ends_a_plain_run() {
        let stops = [b'"', b'&', b'<', b'>', b'\\', 0x00, 0x01, 0x1F, 0xEF];
        // Neighbours of the stops in the shared tests, and bytes either side of 0x20 and 0x80.
        let plain = [
            0x20, 0x21, 0x23, 0x24, 0x27, 0x3D, 0x3F, 0x5B, 0x7F, 0x80, 0xEE, 0xFF,
        ];
        for len in 0..20 {
            for &fill in &plain {
                let mut bytes = vec![fill; len];
                assert_eq!(super::skip_plain(&bytes, 0), len, "{fill:#x} x {len}");
                for at in 0..len {
                    for &stop in &stops {
                        bytes[at] = stop;
                        // A second stop after the first must not move the answer.
                        if at + 1 < len {
                            bytes[at + 1] = b'"';
                        }
                        assert_eq!(
                            super::skip_plain(&bytes, 0),
                            at,
                            "{stop:#x} at {at} of {len}"
                        );
                        assert_eq!(super::skip_plain(&bytes, at), at);
                        bytes[at] = fill;
                        if at + 1 < len {
                            bytes[at + 1] = fill;
                        }
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// A stored list with bytes changed anywhere: whatever the scanner writes is what the
        /// JSON reader's values write, and what it declines the fallback decides.
        #[test]
        fn corrupted_stored_json_is_written_as_its_values_or_refused(
            field in proptest::sample::select(vec!["members", "log", "customer_breadcrumb"]),
            edits in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(),
                 proptest::sample::select(b"\"\\{}[],: \x01nt0a<&>".to_vec())),
                1..4,
            )
        ) {
            let Value::Object(values) = stored_form(&bench_session()) else { unreachable!() };
            let Value::Json(text) = &values[slot_of(field).index] else { unreachable!() };
            let mut bytes = text.as_bytes().to_vec();
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let Ok(json) = String::from_utf8(bytes) else { return Ok(()) };
            if streams(field, &json) {
                let streamed = String::from_utf8(document(field, &json, true)).unwrap();
                let read = String::from_utf8(document(field, &json, false)).unwrap();
                proptest::prop_assert_eq!(streamed, read);
            }
        }
    }

    #[test]
    fn only_composites_reach_the_streaming_writer_as_lists() {
        // A scalar member arriving as JSON is written from its text, as a value would be.
        assert!(matches!(slot_of("console_data").member.ty, WireType::Text));
        assert_same("console_data", r#""a\nb""#);
    }

    /// Timing of a stored session's XML, streamed and through values; the figures in the
    /// module doc come from it. Run with
    /// `cargo test --release --lib wire::xml::stored::tests::stored_xml_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn stored_xml_timing() {
        const WRITES: u32 = 20_000;
        let stored = stored_form(&bench_session());
        let Value::Object(values) = &stored else {
            unreachable!()
        };
        let slots = SessionInfo::TYPE.slots();
        let time = |streamed: bool| {
            let mut out = Vec::with_capacity(8192);
            let best = (0..5)
                .map(|_| {
                    let started = std::time::Instant::now();
                    for _ in 0..WRITES {
                        out.clear();
                        let doc = if streamed {
                            super::super::write(&mut out, SessionInfo::TYPE, &stored)
                        } else {
                            // What the writer did before: read each stored composite first.
                            let read: Vec<Value<'_>> = values
                                .iter()
                                .zip(&slots)
                                .map(|(v, slot)| match v {
                                    Value::Json(t) => {
                                        json::read_member(&slot.member.ty, t).unwrap()
                                    }
                                    v => v.clone(),
                                })
                                .collect();
                            super::super::write(&mut out, SessionInfo::TYPE, &Value::Object(read))
                        };
                        doc.unwrap();
                        std::hint::black_box(&out);
                    }
                    started.elapsed()
                })
                .min()
                .unwrap();
            best.as_secs_f64() * 1e6 / f64::from(WRITES)
        };
        let (through_values, streamed) = (time(false), time(true));
        println!(
            "SessionInfo XML from the stored form: {through_values:.2} µs through values, \
             {streamed:.2} µs streamed"
        );
    }
}
