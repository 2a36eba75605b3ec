//! The DataContract XML reader: any contract type, through the [`Document`] gate.
//!
//! Members are matched by (namespace, name) as .NET does — a base-class member in the base
//! type's namespace, a collection item by its item contract — but in any order (.NET silently
//! drops members that arrive out of contract order). A repeated member keeps its first value
//! (.NET reads members in order and drops the repeat); unknown elements are skipped with their
//! subtree; nil list items are dropped; a repeated dictionary key keeps the last value, in the
//! first one's place. Scalars come back as the text sent: binding checks them.

use super::error::XmlError;
use super::gate::Document;
use super::{NS_ARRAYS, item_contract};
use crate::contract::{TypeDef, Value, WireType};
use std::borrow::Cow;
use std::collections::HashMap;

/// Reads a body whose root is `<{ty.name} xmlns="{ty.xml_namespace}">` into a
/// [`Value::Object`] of `ty`.
pub fn read<'a>(ty: &'static TypeDef, body: &'a [u8]) -> Result<Value<'a>, XmlError> {
    let mut doc = Document::open(body, ty.xml_namespace, ty.name)?;
    let values = read_object(&mut doc, ty)?;
    doc.finish()?;
    Ok(Value::Object(values))
}

/// The members of the element just opened, until it closes.
fn read_object<'a>(
    doc: &mut Document<'a>,
    ty: &'static TypeDef,
) -> Result<Vec<Value<'a>>, XmlError> {
    let slots = ty.slots();
    let mut values = vec![Value::Null; slots.len()];
    let mut seen = vec![false; slots.len()];
    while let Some((i, nil)) = doc.next_field(
        ty.name,
        |ns, local| {
            slots
                .iter()
                .position(|s| s.member.name == local && s.owner.xml_namespace == ns)
        },
        Some(&mut seen),
    )? {
        let member = slots[i].member;
        values[i] = read_member(doc, &member.ty, member.name, nil)?;
    }
    Ok(values)
}

fn read_member<'a>(
    doc: &mut Document<'a>,
    ty: &'static WireType,
    name: &str,
    nil: bool,
) -> Result<Value<'a>, XmlError> {
    if nil {
        // .NET ignores whatever a nil element contains; so do we (after checking it).
        doc.skip_element()?;
        return Ok(Value::Null);
    }
    Ok(match ty {
        WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_) => {
            match doc.read_text(false, name)? {
                Some(text) => Value::Text(Cow::Owned(text)),
                None => Value::Null,
            }
        }
        WireType::Object(td) => Value::Object(read_object(doc, td)?),
        WireType::List(item) => {
            let (item_name, item_ns) = item_contract(item);
            let mut items = Vec::new();
            let is_item =
                |ns: &str, local: &str| (ns == item_ns && local == item_name).then_some(0);
            while let Some((_, item_nil)) = doc.next_field(name, is_item, None)? {
                if item_nil {
                    doc.skip_element()?;
                } else {
                    items.push(read_member(doc, item, item_name, false)?);
                }
            }
            Value::List(items)
        }
        WireType::StringMap => {
            let mut entries: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
            // Indexed by hash so a hostile body with thousands of entries stays linear.
            let mut index: HashMap<String, usize> = HashMap::new();
            let is_entry = |ns: &str, local: &str| {
                (ns == NS_ARRAYS && local == "KeyValueOfstringstring").then_some(0)
            };
            while let Some((_, entry_nil)) = doc.next_field(name, is_entry, None)? {
                if entry_nil {
                    doc.skip_element()?;
                    continue;
                }
                let (key, value) = read_entry(doc, name)?;
                match index.get(&key) {
                    Some(&i) => entries[i].1 = Cow::Owned(value),
                    None => {
                        index.insert(key.clone(), entries.len());
                        entries.push((Cow::Owned(key), Cow::Owned(value)));
                    }
                }
            }
            Value::Map(entries)
        }
    })
}

/// One `KeyValueOfstringstring`. A nil value reads as "" (as the JSON reader does); a missing
/// or nil key is an error because a .NET dictionary cannot hold it.
fn read_entry(doc: &mut Document<'_>, parent: &str) -> Result<(String, String), XmlError> {
    let mut key = None;
    let mut value = None;
    let mut seen = [false; 2];
    let lookup = |ns: &str, local: &str| match (ns == NS_ARRAYS, local) {
        (true, "Key") => Some(0),
        (true, "Value") => Some(1),
        _ => None,
    };
    while let Some((i, nil)) = doc.next_field("KeyValueOfstringstring", lookup, Some(&mut seen))? {
        let text = doc.read_text(nil, if i == 0 { "Key" } else { "Value" })?;
        if i == 0 {
            key = text;
        } else {
            value = text;
        }
    }
    let key = key.ok_or_else(|| XmlError::MissingElement {
        parent: parent.into(),
        name: "Key".into(),
    })?;
    Ok((key, value.unwrap_or_default()))
}
