//! ServiceStack's JSON, read and written from the contract: camelCase keys in declaration order
//! (base type first), nulls omitted, keys bound case-insensitively.
//!
//! Strings are escaped by serde_json's table-driven escaper straight into the body buffer;
//! member values that are already JSON ([`Value::Json`], the stored lists) are copied as they
//! are. Reading is serde_json's streaming parser driven by the [`TypeDef`]: scalars are taken as
//! raw tokens (`&RawValue`), so a number sent for a text member keeps its literal digits, and
//! unknown members are skipped with a bounded depth.

use crate::contract::{Slot, TypeDef, Value, WireType};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A value whose shape does not match its member's wire type: a bug in whoever built it.
#[derive(Debug, thiserror::Error)]
#[error("{0} does not hold a value of its wire type")]
pub struct ShapeError(pub String);

/// Writes `value` (a [`Value::Object`] of `ty`) as a JSON object.
pub fn write(out: &mut Vec<u8>, ty: &'static TypeDef, value: &Value<'_>) -> Result<(), ShapeError> {
    match value {
        Value::Object(values) => write_object(out, ty, values),
        _ => Err(ShapeError(ty.name.to_string())),
    }
}

fn write_object(
    out: &mut Vec<u8>,
    ty: &'static TypeDef,
    values: &[Value<'_>],
) -> Result<(), ShapeError> {
    if values.len() != ty.len() {
        return Err(ShapeError(ty.name.to_string()));
    }
    out.push(b'{');
    let mut first = true;
    ty.try_for_each_slot(&mut |slot: Slot| {
        let value = &values[slot.index];
        if value.is_null() {
            return Ok(());
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        out.extend_from_slice(slot.member.json.as_bytes());
        out.extend_from_slice(b"\":");
        write_value(out, &slot.member.ty, value, slot.member.name)
    })?;
    out.push(b'}');
    Ok(())
}

fn write_value(
    out: &mut Vec<u8>,
    ty: &'static WireType,
    value: &Value<'_>,
    name: &str,
) -> Result<(), ShapeError> {
    match (ty, value) {
        (_, Value::Null) => out.extend_from_slice(b"null"),
        (_, Value::Json(json)) => out.extend_from_slice(json.as_bytes()),
        (WireType::Bool, Value::Bool(b)) => {
            out.extend_from_slice(if *b { b"true" } else { b"false" })
        }
        // Enum names are plain ASCII words: no escaping needed.
        (WireType::Enum(_), Value::Text(t)) => {
            out.push(b'"');
            out.extend_from_slice(t.as_bytes());
            out.push(b'"');
        }
        (WireType::Text, Value::Text(t)) => write_str(out, t),
        // Bound integers are canonical decimal text: a JSON number as it is.
        (WireType::Int, Value::Text(t)) => out.extend_from_slice(t.as_bytes()),
        (WireType::List(item), Value::List(items)) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, v, name)?;
            }
            out.push(b']');
        }
        (WireType::StringMap, Value::Map(entries)) => {
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_str(out, v);
            }
            out.push(b'}');
        }
        (WireType::Object(td), Value::Object(values)) => write_object(out, td, values)?,
        _ => return Err(ShapeError(name.to_string())),
    }
    Ok(())
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// The error of a JSON body, phrased by serde_json (it names the line and column).
pub type JsonError = serde_json::Error;

/// Reads a JSON object of `ty`. A UTF-8 BOM is skipped; trailing content is an error. Values
/// are as the client sent them (enum names and booleans unchecked): binding validates them.
pub fn read<'de>(ty: &'static TypeDef, body: &'de [u8]) -> Result<Value<'de>, JsonError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = de::Deserializer::deserialize_map(&mut de, ObjectSeed(ty))?;
    de.end()?;
    Ok(value)
}

/// Reads one member's value of wire type `ty` from its JSON text (e.g. a stored list).
pub fn read_member<'de>(ty: &'static WireType, json: &'de str) -> Result<Value<'de>, JsonError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = MemberSeed { ty, name: "" }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// `value` with every composite member ([`WireType::List`], map, object) written as
/// [`Value::Json`]: the form in which storage keeps them.
pub fn composites_as_json(
    ty: &'static TypeDef,
    value: Value<'_>,
) -> Result<Value<'static>, ShapeError> {
    let Value::Object(values) = value else {
        return Err(ShapeError(ty.name.to_string()));
    };
    let slots = ty.slots();
    let mut out = Vec::with_capacity(values.len());
    for (slot, value) in slots.iter().zip(values) {
        let composite = !matches!(
            slot.member.ty,
            WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_)
        );
        out.push(match value {
            Value::Null => Value::Null,
            v if composite => {
                let mut buf = Vec::new();
                write_value(&mut buf, &slot.member.ty, &v, slot.member.name)?;
                // JSON written from `&str`s is UTF-8.
                Value::Json(Cow::Owned(String::from_utf8(buf).unwrap_or_default()))
            }
            v => v.into_owned(),
        });
    }
    Ok(Value::Object(out))
}

/// An object of a contract type.
#[derive(Clone, Copy)]
struct ObjectSeed(&'static TypeDef);

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = Value<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object ({})", self.0.name)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let ty = self.0;
        let mut values = vec![Value::Null; ty.len()];
        let mut seen = vec![false; ty.len()];
        while let Some(key) = map.next_key_seed(Key)? {
            match ty.slot_by_key(&key) {
                // A repeated member (in any case) is ambiguous: refuse it rather than guess.
                Some(slot) if seen[slot.index] => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate key '{key}' for '{}'",
                        slot.member.json
                    )));
                }
                Some(slot) => {
                    seen[slot.index] = true;
                    values[slot.index] = map.next_value_seed(MemberSeed {
                        ty: &slot.member.ty,
                        name: slot.member.json,
                    })?;
                }
                None => map.next_value_seed(Skip(MAX_IGNORED_DEPTH))?,
            }
        }
        Ok(Value::Object(values))
    }
}

/// A key, borrowed from the body when it has no escapes.
pub(crate) struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(Text)
    }
}

/// A JSON string, borrowed when it has no escapes.
struct Text;

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

/// A member's value, by its wire type.
#[derive(Clone, Copy)]
struct MemberSeed {
    ty: &'static WireType,
    name: &'static str,
}

impl<'de> DeserializeSeed<'de> for MemberSeed {
    type Value = Value<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        match self.ty {
            WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_) => {
                scalar(d, self.name)
            }
            WireType::List(_) => d.deserialize_any(ListSeed(self)),
            WireType::StringMap => d.deserialize_any(MapSeed(self.name)),
            WireType::Object(td) => d.deserialize_any(ObjectSeed(td)),
        }
    }
}

/// A scalar as the client wrote it: strings unescaped, numbers as their literal text (so no
/// digit is lost to a float), booleans and null as themselves; objects and arrays refused.
fn scalar<'de, D: de::Deserializer<'de>>(d: D, name: &str) -> Result<Value<'de>, D::Error> {
    let raw = <&'de RawValue as serde::Deserialize>::deserialize(d)?;
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => {
            let mut de = serde_json::Deserializer::from_str(text);
            de::Deserializer::deserialize_str(&mut de, Text)
                .map(Value::Text)
                .map_err(de::Error::custom)
        }
        Some(b't') => Ok(Value::Bool(true)),
        Some(b'f') => Ok(Value::Bool(false)),
        Some(b'n') => Ok(Value::Null),
        Some(b'-' | b'0'..=b'9') => Ok(Value::Text(Cow::Borrowed(text))),
        _ => Err(de::Error::custom(format_args!(
            "expected a string, number, boolean or null for '{name}'"
        ))),
    }
}

#[derive(Clone, Copy)]
struct ListSeed(MemberSeed);

impl<'de> Visitor<'de> for ListSeed {
    type Value = Value<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array or null for '{}'", self.0.name)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let WireType::List(item) = self.0.ty else {
            unreachable!("ListSeed is only built for lists")
        };
        let seed = MemberSeed {
            ty: item,
            name: self.0.name,
        };
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(seed)? {
            items.push(v);
        }
        Ok(Value::List(items))
    }
}

/// A `Dictionary<string,string>`: a repeated key replaces the earlier value in place, as
/// assigning into a Dictionary does; a null value is the empty string.
struct MapSeed(&'static str);

impl<'de> Visitor<'de> for MapSeed {
    type Value = Value<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object of string values or null for '{}'", self.0)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let value = match map.next_value_seed(MemberSeed {
                ty: &WireType::Text,
                name: self.0,
            })? {
                Value::Text(t) => t,
                Value::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
                _ => Cow::Borrowed(""),
            };
            match index.get(&key) {
                Some(&i) => {
                    let entry: &mut (Cow<'de, str>, Cow<'de, str>) = &mut entries[i];
                    entry.1 = value;
                }
                None => {
                    index.insert(key.clone(), entries.len());
                    entries.push((key, value));
                }
            }
        }
        Ok(Value::Map(entries))
    }
}

/// How deep a value of an unknown member may nest. serde_json's own recursion limit does not
/// apply to values it is told to skip, so skipping counts depth itself: absurd nesting is a 400,
/// not an unbounded walk.
const MAX_IGNORED_DEPTH: u32 = 64;

/// Skips any JSON value, refusing nesting deeper than the given depth.
#[derive(Clone, Copy)]
struct Skip(u32);

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

impl Skip {
    fn deeper<E: de::Error>(self) -> Result<Skip, E> {
        match self.0.checked_sub(1) {
            Some(left) => Ok(Skip(left)),
            None => Err(E::custom(format_args!(
                "JSON nested deeper than {MAX_IGNORED_DEPTH} levels"
            ))),
        }
    }
}
