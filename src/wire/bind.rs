//! Request binding from the contract, as ServiceStack binds: the body (JSON or DataContract
//! XML) is read into the request DTO's members, then path variables, query and form fields are
//! layered over them by key (case-insensitively; empty values skipped), and only then is every
//! value checked once against its member's wire type and rules. So JSON, XML, form and query
//! input share one validation path, and which source wins is decided in one place.

use super::{Format, json, xml};
use crate::contract::{Dto, Member, TypeDef, Value, WireType};
use crate::error::ApiError;
use std::borrow::Cow;

/// Most query-string or form fields a request may carry.
pub const MAX_FORM_FIELDS: usize = 256;

/// A request DTO's members while its inputs are layered, before validation.
#[derive(Debug)]
pub struct Binder<'a> {
    ty: &'static TypeDef,
    values: Vec<Value<'a>>,
}

impl<'a> Binder<'a> {
    /// No body: every member absent.
    pub fn empty(ty: &'static TypeDef) -> Self {
        Binder {
            ty,
            values: vec![Value::Null; ty.len()],
        }
    }

    /// Reads a JSON or DataContract XML body into the members.
    pub fn from_body(
        ty: &'static TypeDef,
        format: Format,
        body: &'a [u8],
    ) -> Result<Self, ApiError> {
        let value = match format {
            Format::Json => json::read(ty, body).map_err(|e| {
                ApiError::serialization(format!(
                    "Could not deserialize 'application/json' request using {}: {e}",
                    ty.name
                ))
            })?,
            Format::Xml => xml::read(ty, body).map_err(|e| {
                ApiError::serialization(format!(
                    "Could not deserialize 'application/xml' request using {}: {e}",
                    ty.name
                ))
            })?,
        };
        match value {
            Value::Object(values) => Ok(Binder { ty, values }),
            // `null` as the whole body: nothing given.
            _ => Ok(Binder::empty(ty)),
        }
    }

    /// Sets the member `key` names from text; an unknown key or an empty value changes
    /// nothing (ServiceStack skips empty values, so `?someMember=` leaves it alone). With
    /// `overwrite` false it only fills a member that is still absent (the `/api` route rule).
    pub fn set(&mut self, key: &str, value: &str, overwrite: bool) {
        if value.is_empty() {
            return;
        }
        let Some(slot) = self.ty.slot_by_key(key) else {
            return;
        };
        let current = &mut self.values[slot.index];
        if !overwrite && !current.is_null() {
            return;
        }
        *current = match slot.member.ty {
            // ServiceStack binds a list from comma-separated text, in JSV brackets or not
            // (the Python client sends `ids=[a,b]`).
            WireType::List(_) => Value::List(
                strip_jsv_list(value)
                    .split(',')
                    .map(|item| Value::Text(Cow::Owned(item.to_owned())))
                    .collect(),
            ),
            _ => Value::Text(Cow::Owned(value.to_owned())),
        };
    }

    /// Applies `key=value` pairs (query string or form fields).
    pub fn apply_pairs<'p>(
        &mut self,
        pairs: impl IntoIterator<Item = (Cow<'p, str>, Cow<'p, str>)>,
        overwrite: bool,
    ) {
        // A member named again in the same source gets the value appended, as ServiceStack
        // binds ASP.NET's collections, which join repeated keys: a list's items
        // (`ids=a&ids=b` is `ids=a,b`), a scalar's text (`consoleData=a&consoleData=b` is
        // `a,b`, not `b` with `a` lost).
        let mut named: Vec<usize> = Vec::new();
        for (k, v) in pairs {
            let Some(slot) = self.ty.slot_by_key(&k).filter(|_| !v.is_empty()) else {
                continue;
            };
            if named.contains(&slot.index) {
                match &mut self.values[slot.index] {
                    Value::List(items) => items.extend(
                        strip_jsv_list(&v)
                            .split(',')
                            .map(|i| Value::Text(Cow::Owned(i.to_owned()))),
                    ),
                    Value::Text(text) => *text = Cow::Owned(format!("{text},{v}")),
                    _ => {}
                }
                continue;
            }
            if overwrite || self.values[slot.index].is_null() {
                named.push(slot.index);
            }
            self.set(&k, &v, overwrite);
        }
    }

    /// Checks every member and builds the DTO.
    pub fn finish<T: Dto>(mut self) -> Result<T, ApiError> {
        debug_assert_eq!(self.ty.name, T::TYPE.name);
        validate(self.ty, &mut self.values, self.ty.name)?;
        T::from_object(Value::Object(self.values)).map_err(ApiError::internal)
    }
}

/// `[a,b]` → `a,b`: one pair of outer JSV list brackets, as ServiceStack.Text strips them.
fn strip_jsv_list(text: &str) -> &str {
    let t = text.trim();
    t.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text)
}

/// Checks and canonicalises a document of `ty` read by a reader (e.g. an imported session):
/// enum names to their canonical spelling, booleans, rules, text XML can carry.
pub fn validate_document<T: Dto>(value: Value<'_>) -> Result<T, ApiError> {
    let Value::Object(mut values) = value else {
        return Err(ApiError::serialization(format!(
            "expected a {}",
            T::TYPE.name
        )));
    };
    validate(T::TYPE, &mut values, T::TYPE.name)?;
    T::from_object(Value::Object(values)).map_err(ApiError::internal)
}

/// Validates the values of an object of `ty`, in member order; the first problem is the answer.
fn validate(ty: &'static TypeDef, values: &mut [Value<'_>], op: &str) -> Result<(), ApiError> {
    ty.try_for_each_slot(&mut |slot| {
        let value = std::mem::replace(&mut values[slot.index], Value::Null);
        values[slot.index] = check_member(slot.member, &slot.member.ty, value, op)?;
        Ok(())
    })
}

fn check_member<'a>(
    m: &'static Member,
    ty: &'static WireType,
    value: Value<'a>,
    op: &str,
) -> Result<Value<'a>, ApiError> {
    let name = m.json;
    let value = match (ty, value) {
        (_, Value::Null) if m.rules.required => {
            return Err(ApiError::validation(
                name,
                "NotEmpty",
                format!("'{name}' must not be empty"),
            ));
        }
        (_, Value::Null) if m.nullable => Value::Null,
        (ty, Value::Null) => default_value(ty),
        (WireType::Text, Value::Bool(b)) => Value::Text(Cow::Borrowed(bool_text(b))),
        (WireType::Text, Value::Text(t)) => {
            check_text(op, name, &t)?;
            check_rules(m, &t)?;
            Value::Text(t)
        }
        (WireType::Enum(def), Value::Text(t)) => match def.position(&t) {
            Some(i) => Value::Text(Cow::Borrowed(def.values[i].0)),
            None => {
                return Err(ApiError::invalid_field(
                    op,
                    name,
                    format!(
                        "'{}' is an Invalid value for '{name}' (allowed values: {})",
                        shown(&t),
                        def.allowed()
                    ),
                ));
            }
        },
        (WireType::Int, Value::Text(t)) => match t.trim().parse::<i32>() {
            Ok(n) => Value::Text(Cow::Owned(n.to_string())),
            Err(_) => {
                return Err(ApiError::invalid_field(
                    op,
                    name,
                    format!(
                        "'{}' is an Invalid value for '{name}' (an integer)",
                        shown(&t)
                    ),
                ));
            }
        },
        (WireType::Bool, Value::Bool(b)) => Value::Bool(b),
        (WireType::Bool, Value::Text(t)) => match parse_bool(&t) {
            Some(b) => Value::Bool(b),
            None => {
                return Err(ApiError::invalid_field(
                    op,
                    name,
                    format!("'{}' is an Invalid value for '{name}'", shown(&t)),
                ));
            }
        },
        // An item is never null (the member's own nullability is the list's, not its items').
        (WireType::List(item), Value::List(items)) => Value::List(
            items
                .into_iter()
                .map(|v| match v {
                    Value::Null => Err(ApiError::invalid_field(
                        op,
                        name,
                        format!("'{name}' must not hold a null item"),
                    )),
                    v => check_member(m, item, v, op),
                })
                .collect::<Result<_, _>>()?,
        ),
        (WireType::StringMap, Value::Map(entries)) => {
            for (k, v) in &entries {
                check_text(op, name, k)?;
                check_text(op, name, v)?;
            }
            Value::Map(entries)
        }
        (WireType::Object(td), Value::Object(mut values)) if values.len() == td.len() => {
            validate(td, &mut values, op)?;
            Value::Object(values)
        }
        (_, other) => {
            return Err(ApiError::invalid_field(
                op,
                name,
                format!(
                    "'{name}' cannot be bound from {}",
                    match other {
                        Value::Bool(_) => "a boolean",
                        Value::Text(_) => "text",
                        Value::List(_) => "a list",
                        Value::Map(_) | Value::Object(_) => "an object",
                        _ => "this value",
                    }
                ),
            ));
        }
    };
    Ok(value)
}

/// What a non-nullable member holds when the input leaves it out (.NET's default).
fn default_value(ty: &'static WireType) -> Value<'static> {
    match ty {
        WireType::Text => Value::Text(Cow::Borrowed("")),
        WireType::Bool => Value::Bool(false),
        WireType::Int => Value::Text(Cow::Borrowed("0")),
        WireType::Enum(def) => Value::Text(Cow::Borrowed(def.values[0].0)),
        WireType::List(_) => Value::List(Vec::new()),
        WireType::StringMap => Value::Map(Vec::new()),
        WireType::Object(td) => {
            let mut values = Vec::with_capacity(td.len());
            let _ = td.try_for_each_slot(&mut |slot| -> Result<(), ()> {
                values.push(if slot.member.nullable {
                    Value::Null
                } else {
                    default_value(&slot.member.ty)
                });
                Ok(())
            });
            Value::Object(values)
        }
    }
}

fn check_rules(m: &Member, text: &str) -> Result<(), ApiError> {
    let name = m.json;
    if m.rules.required && text.trim().is_empty() {
        return Err(ApiError::validation(
            name,
            "NotEmpty",
            format!("'{name}' must not be empty"),
        ));
    }
    if let Some(max) = m.rules.max_bytes
        && text.len() > max
    {
        return Err(ApiError::validation(
            name,
            "InvalidLength",
            format!("'{name}' must be at most {max} bytes"),
        ));
    }
    if let Some(max) = m.rules.max_chars
        && text.chars().count() > max
    {
        return Err(ApiError::validation(
            name,
            "InvalidLength",
            format!("'{name}' must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Refuses text that could be stored but not answered in every format: NUL (PostgreSQL text
/// cannot hold it) and every other character XML 1.0 cannot carry (C0 controls other than
/// tab, LF and CR; U+FFFE, U+FFFF). A JSON client could send them; an XML client could then
/// not read the session back at all.
fn check_text(op: &str, name: &str, text: &str) -> Result<(), ApiError> {
    match text.chars().find(|c| !xml::is_xml_char(*c)) {
        None => Ok(()),
        Some('\0') => Err(ApiError::invalid_field(
            op,
            name,
            format!("'{name}' must not contain NUL characters"),
        )),
        Some(c) => Err(ApiError::invalid_field(
            op,
            name,
            format!(
                "'{name}' must not contain U+{:04X}: XML 1.0 cannot carry that character",
                c as u32
            ),
        )),
    }
}

/// A client's value in a message: characters XML cannot carry written as escapes, and bounded.
fn shown(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == 100 {
            out.push('…');
            break;
        }
        if xml::is_xml_char(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        }
    }
    out
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// ServiceStack's boolean from text: the part before any comma (`true,true` from forms),
/// `true`/`1`/`on` or `false`/`0`/`off`/empty, in any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "true" | "1" | "on" => Some(true),
        "false" | "0" | "off" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::servicestack::Authenticate;
    use crate::contract::sessions::{
        PatchSession, SessionCallState, SessionHoldReasons, SessionQueueStates,
    };

    fn patch(json: &str) -> Result<PatchSession, ApiError> {
        Binder::from_body(PatchSession::TYPE, Format::Json, json.as_bytes())?.finish()
    }

    #[test]
    fn keys_and_enum_names_bind_case_insensitively() {
        let p =
            patch(r#"{"SessionId":"s1","CALLSTATE":"ringing","queueState":3,"other":[1,{"a":2}]}"#)
                .unwrap();
        assert_eq!(
            p,
            PatchSession {
                session_id: Some("s1".into()),
                console_data: None,
                call_state: Some(SessionCallState::Ringing),
                hold_reason: None,
                queue_state: Some(SessionQueueStates::Connected),
            }
        );
    }

    #[test]
    fn an_unknown_enum_name_names_the_field_and_the_allowed_values() {
        let e = patch(r#"{"sessionId":"s1","holdReason":"Lunch"}"#).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.errors[0].field_name, "holdReason");
        assert_eq!(e.message, "Unable to bind to request 'PatchSession'");
        assert_eq!(
            e.errors[0].message,
            "'Lunch' is an Invalid value for 'holdReason' (allowed values: None, Transferring)"
        );
    }

    #[test]
    fn malformed_json_and_non_objects_are_serialization_errors() {
        for body in [
            "{",
            "[1]",
            "\"x\"",
            "{\"sessionId\":\"a\"} x",
            "{\"consoleData\":{}}",
        ] {
            let e = patch(body).unwrap_err();
            assert_eq!(e.error_code, "SerializationException", "{body}");
        }
    }

    #[test]
    fn a_number_sent_for_text_keeps_its_literal_digits() {
        let p = patch(r#"{"sessionId":12345678901234567890123,"consoleData":1.50}"#).unwrap();
        assert_eq!(p.session_id.as_deref(), Some("12345678901234567890123"));
        assert_eq!(p.console_data.as_deref(), Some("1.50"));
    }

    #[test]
    fn a_utf8_bom_before_json_is_skipped() {
        let p = patch("\u{FEFF}{\"sessionId\":\"s1\",\"holdReason\":\"Transferring\"}").unwrap();
        assert_eq!(p.hold_reason, Some(SessionHoldReasons::Transferring));
    }

    #[test]
    fn text_xml_cannot_carry_is_refused_naming_the_member() {
        for (body, code) in [
            (r#"{"sessionId":"s1","consoleData":"\u0001x"}"#, "U+0001"),
            (r#"{"sessionId":"s1","consoleData":"a\uFFFEb"}"#, "U+FFFE"),
        ] {
            let e = patch(body).unwrap_err();
            assert_eq!(e.status, 400, "{body}");
            assert_eq!(e.errors[0].field_name, "consoleData");
            assert!(
                e.errors[0].message.contains(code),
                "{}",
                e.errors[0].message
            );
        }
        let e = patch(r#"{"sessionId":"s1","consoleData":"a\u0000"}"#).unwrap_err();
        assert_eq!(
            e.errors[0].message,
            "'consoleData' must not contain NUL characters"
        );
    }

    #[test]
    fn query_pairs_skip_empty_values_and_fill_only_gaps_when_asked() {
        let body = br#"{"consoleData":"body"}"#;
        let mut b = Binder::from_body(PatchSession::TYPE, Format::Json, body).unwrap();
        b.apply_pairs(
            form_urlencoded::parse(b"consoledata=query&callState=&sessionId=q"),
            false,
        );
        let p: PatchSession = b.finish().unwrap();
        assert_eq!(p.console_data.as_deref(), Some("body"));
        assert_eq!(p.session_id.as_deref(), Some("q"));
        assert_eq!(p.call_state, None);
        let mut b = Binder::from_body(PatchSession::TYPE, Format::Json, body).unwrap();
        b.apply_pairs(
            form_urlencoded::parse(b"ConsoleData=query&sessionId=q"),
            true,
        );
        let p: PatchSession = b.finish().unwrap();
        assert_eq!(p.console_data.as_deref(), Some("query"));
    }

    #[test]
    fn a_key_repeated_in_one_source_joins_its_values_as_servicestack_binds_them() {
        let mut b = Binder::empty(PatchSession::TYPE);
        b.apply_pairs(
            form_urlencoded::parse(b"consoleData=a&consoleData=&ConsoleData=b&sessionId=s"),
            true,
        );
        let p: PatchSession = b.finish().unwrap();
        assert_eq!(p.console_data.as_deref(), Some("a,b"));
        // A later source still replaces the value whole (form over query on custom routes),
        // and one that only fills gaps leaves it alone.
        let mut b = Binder::empty(PatchSession::TYPE);
        b.set("sessionId", "s", true);
        b.apply_pairs(
            form_urlencoded::parse(b"consoleData=q1&consoleData=q2"),
            true,
        );
        b.apply_pairs(form_urlencoded::parse(b"consoleData=f"), true);
        b.apply_pairs(
            form_urlencoded::parse(b"consoleData=x&consoleData=y"),
            false,
        );
        let p: PatchSession = b.finish().unwrap();
        assert_eq!(p.console_data.as_deref(), Some("f"));
        // Joined enum names are no enum name: refused, not the last one taken.
        let mut b = Binder::empty(PatchSession::TYPE);
        b.set("sessionId", "s", true);
        b.apply_pairs(
            form_urlencoded::parse(b"callState=Hold&callState=Ringing"),
            true,
        );
        let e = b.finish::<PatchSession>().unwrap_err();
        assert_eq!(e.errors[0].field_name, "callState");
    }

    #[test]
    fn booleans_bind_from_form_text_as_servicestack_reads_them() {
        for (text, expected) in [("true,true", true), ("ON", true), ("0", false)] {
            let mut b = Binder::empty(Authenticate::TYPE);
            b.set("rememberMe", text, true);
            let a: Authenticate = b.finish().unwrap();
            assert_eq!(a.remember_me, Some(expected), "{text}");
        }
        let mut b = Binder::empty(Authenticate::TYPE);
        b.set("rememberMe", "maybe", true);
        let e = b.finish::<Authenticate>().unwrap_err();
        assert_eq!(e.errors[0].field_name, "rememberMe");
    }
}
