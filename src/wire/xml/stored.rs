//! A stored composite (the `json` columns: members, log, breadcrumb), written as DataContract
//! XML straight from its JSON.
//!
//! Storage keeps lists as this server's canonical JSON, members in declaration order (JSON's
//! order); DataContract XML wants them in DataContract order (ordinal by name), and writes a
//! nil element for what JSON omits. So the writer cannot copy, but it need not build values
//! either: serde_json's streaming parser drives the XML writer. A list's items are written
//! as they are parsed; an object's members are taken as borrowed raw slices (`&RawValue`, at
//! most [`MAX_MEMBERS`] of them, on the stack), then written in DataContract order, each
//! scalar from its slice (a string without escapes as it is). Nothing is allocated but a
//! string with escapes, and a map's entries.
//!
//! Measured against what it replaces, reading the JSON into borrowed
//! [`crate::contract::Value`]s and writing those: `stored_xml_timing` below (a session of 3
//! members, 10 log entries and 3 breadcrumbs, release build, best of 5) 10.1–12.8 µs through
//! values, 6.2–8.2 µs streamed; the whole server under callgrind (PATCH XML, the bench's
//! sessions) 353 K → 300 K instructions per request (PATCH JSON: 168 K). Storing the lists in
//! DataContract order instead would make JSON, the common case, pay for reordering.
//!
//! It declines (an error, and the caller then reads values and writes those, as before) what
//! this server never stores: an unknown or repeated member, an object of more than
//! [`MAX_MEMBERS`] members. A shape error declines too, so the caller reports it as it did.

use super::write::{Composite, Element};
use crate::contract::{Slot, TypeDef, WireType};
use crate::wire::json::Key;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The most members an object may have to be written from its raw members.
pub(super) const MAX_MEMBERS: usize = 16;

/// The most entries a map may have to be written here (its repeated keys are found by a
/// linear search).
const MAX_ENTRIES: usize = 64;

/// Writes `element`, of wire type `ty`, from its stored JSON.
pub(super) fn write(
    out: &mut Vec<u8>,
    element: Element,
    ty: &'static WireType,
    json: &str,
) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    ElementSeed { out, element, ty }.deserialize(&mut de)?;
    de.end()
}

/// One element, written as its value is parsed.
struct ElementSeed<'o> {
    out: &'o mut Vec<u8>,
    element: Element,
    ty: &'static WireType,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.ty {
            WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_) => {
                let text = ScalarText.deserialize(d)?;
                self.element.scalar(self.out, self.ty, text.as_deref());
                Ok(())
            }
            WireType::List(_) | WireType::StringMap | WireType::Object(_) => {
                d.deserialize_any(CompositeVisitor(self))
            }
        }
    }
}

/// A scalar's text from its raw JSON, as the JSON reader takes it: a string unescaped, a
/// number as its literal, a boolean as `true`/`false`; `None` for null.
fn scalar(raw: &str) -> Result<Option<Cow<'_, str>>, serde_json::Error> {
    Ok(match raw.as_bytes().first() {
        Some(b'"') => {
            let inner = &raw[1..raw.len() - 1];
            if inner.contains('\\') {
                Some(Cow::Owned(serde_json::from_str::<String>(raw)?))
            } else {
                Some(Cow::Borrowed(inner))
            }
        }
        Some(b't') => Some(Cow::Borrowed("true")),
        Some(b'f') => Some(Cow::Borrowed("false")),
        Some(b'n') => None,
        Some(b'-' | b'0'..=b'9') => Some(Cow::Borrowed(raw)),
        _ => return Err(de::Error::custom("not a scalar")),
    })
}

struct CompositeVisitor<'o>(ElementSeed<'o>);

impl<'de> Visitor<'de> for CompositeVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of '{}'", self.0.element.name())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        let ElementSeed { out, element, ty } = self.0;
        element.open(out, ty).nil(out);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ElementSeed { out, element, ty } = self.0;
        let WireType::List(item) = ty else {
            return Err(de::Error::custom(
                "an array for a member that is not a list",
            ));
        };
        let list = element.open(out, ty);
        let mark = out.len();
        list.start(out);
        let mut items = 0;
        while seq
            .next_element_seed(ElementSeed {
                out: &mut *out,
                element: list.item(item),
                ty: item,
            })?
            .is_some()
        {
            items += 1;
        }
        if items == 0 {
            out.truncate(mark);
            list.empty(out);
        } else {
            list.end(out);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let ElementSeed { out, element, ty } = self.0;
        match ty {
            WireType::StringMap => {
                let map_element = element.open(out, ty);
                write_map(out, map_element, map)
            }
            WireType::Object(td) if td.base.is_none() && in_declaration_order(td) => {
                let object = element.open(out, ty);
                object.start(out);
                stream_members(out, &object, td, map)?;
                object.end(out);
                Ok(())
            }
            WireType::Object(td) if td.len() <= MAX_MEMBERS => {
                let mut held: [Option<Held<'de>>; MAX_MEMBERS] = Default::default();
                collect_members(td, map, &mut held)?;
                let object = element.open(out, ty);
                object.start(out);
                td.try_for_each_xml_slot(&mut |slot| {
                    write_held(
                        out,
                        object.member(&slot),
                        &slot.member.ty,
                        &held[slot.index],
                    )
                })
                .map_err(de::Error::custom)?;
                object.end(out);
                Ok(())
            }
            _ => Err(de::Error::custom("an object this writer does not take")),
        }
    }
}

/// Whether a type's DataContract order is its declaration order (JSON's): then its members
/// are written as they are parsed.
fn in_declaration_order(td: &TypeDef) -> bool {
    td.xml_order.iter().enumerate().all(|(i, &j)| i == j)
}

/// The slot a key names, looked up where canonical JSON has it first (at `next`, the member
/// after the previous key's), then by name in any case as the JSON reader binds keys.
fn slot_of(td: &'static TypeDef, key: &str, next: usize) -> Option<Slot> {
    match td.members.get(next) {
        Some(member) if td.base.is_none() && member.json == key => Some(Slot {
            index: next,
            member,
            owner: td,
        }),
        _ => td.slot_by_key(key),
    }
}

/// The members of an object in declaration order (= DataContract order), written as they
/// are parsed, a nil element for each one JSON omits; a key out of that order declines.
fn stream_members<'de, A: MapAccess<'de>>(
    out: &mut Vec<u8>,
    object: &Composite,
    td: &'static TypeDef,
    mut map: A,
) -> Result<(), A::Error> {
    let absent = |out: &mut Vec<u8>, from: usize, to: usize| {
        for (index, member) in td.members.iter().enumerate().take(to).skip(from) {
            let slot = Slot {
                index,
                member,
                owner: td,
            };
            write_raw(out, object.member(&slot), &member.ty, None).map_err(de::Error::custom)?;
        }
        Ok(())
    };
    let mut next = 0;
    while let Some(key) = map.next_key_seed(Key)? {
        let Some(slot) = slot_of(td, &key, next).filter(|s| s.index >= next) else {
            return Err(de::Error::custom(
                "a member out of order, unknown or repeated",
            ));
        };
        absent(out, next, slot.index)?;
        map.next_value_seed(ElementSeed {
            out: &mut *out,
            element: object.member(&slot),
            ty: &slot.member.ty,
        })?;
        next = slot.index + 1;
    }
    absent(out, next, td.members.len())
}

/// A member of an object taken out of order: a scalar's text (unescaped, borrowed when it has
/// no escapes; `None` for null), or a composite's raw JSON.
enum Held<'de> {
    Scalar(Option<Cow<'de, str>>),
    Raw(&'de RawValue),
}

/// An object's members by slot, scalars as their text, composites as raw JSON; an unknown or
/// repeated key declines, and so does a number (see [`ScalarText`]).
fn collect_members<'de, A: MapAccess<'de>>(
    td: &'static TypeDef,
    mut map: A,
    held: &mut [Option<Held<'de>>],
) -> Result<(), A::Error> {
    let mut next = 0;
    while let Some(key) = map.next_key_seed(Key)? {
        match slot_of(td, &key, next) {
            Some(slot) if held[slot.index].is_none() => {
                held[slot.index] = Some(match slot.member.ty {
                    WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_) => {
                        Held::Scalar(map.next_value_seed(ScalarText)?)
                    }
                    _ => Held::Raw(map.next_value()?),
                });
                next = slot.index + 1;
            }
            _ => return Err(de::Error::custom("an unknown or repeated member")),
        }
    }
    Ok(())
}

/// A member held by [`collect_members`] (`None`: absent, which is nil).
fn write_held(
    out: &mut Vec<u8>,
    element: Element,
    ty: &'static WireType,
    held: &Option<Held<'_>>,
) -> Result<(), serde_json::Error> {
    match held {
        Some(Held::Scalar(text)) => {
            element.scalar(out, ty, text.as_deref());
            Ok(())
        }
        Some(Held::Raw(raw)) => write_raw(out, element, ty, Some(raw)),
        None => write_raw(out, element, ty, None),
    }
}

/// A scalar's text as it is parsed: a string (unescaped by serde_json, borrowed when it has no
/// escapes), a boolean, or `None` for null. A number declines: the JSON reader keeps a number's
/// literal, which serde_json's visitor no longer has (this server stores none in a list).
struct ScalarText;

impl<'de> DeserializeSeed<'de> for ScalarText {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarText {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, boolean or null")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(if v { "true" } else { "false" })))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A member from its raw JSON (`None`: absent, which is nil).
fn write_raw(
    out: &mut Vec<u8>,
    element: Element,
    ty: &'static WireType,
    raw: Option<&RawValue>,
) -> Result<(), serde_json::Error> {
    match (ty, raw) {
        (WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_), raw) => {
            let text = match raw {
                Some(raw) => scalar(raw.get())?,
                None => None,
            };
            element.scalar(out, ty, text.as_deref());
        }
        (_, None) => element.open(out, ty).nil(out),
        (_, Some(raw)) => write(out, element, ty, raw.get())?,
    }
    Ok(())
}

/// A `Dictionary<string,string>`'s entries, as the JSON reader takes them: a repeated key
/// replaces the earlier value in its place, a null value is the empty string.
fn write_map<'de, A: MapAccess<'de>>(
    out: &mut Vec<u8>,
    map_element: Composite,
    mut map: A,
) -> Result<(), A::Error> {
    let mut entries: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::new();
    while let Some(key) = map.next_key_seed(Key)? {
        let raw: &'de RawValue = map.next_value()?;
        let value = scalar(raw.get())
            .map_err(de::Error::custom)?
            .unwrap_or(Cow::Borrowed(""));
        match entries.iter().position(|(k, _)| *k == key) {
            Some(i) => entries[i].1 = value,
            // The lookup is linear: a map larger than any this server stores declines.
            None if entries.len() == MAX_ENTRIES => {
                return Err(de::Error::custom("a map of too many entries"));
            }
            None => entries.push((key, value)),
        }
    }
    if entries.is_empty() {
        map_element.empty(out);
        return Ok(());
    }
    map_element.start(out);
    for (k, v) in &entries {
        map_element.entry(out, k, v);
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
