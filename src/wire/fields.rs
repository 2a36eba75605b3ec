//! Request DTO binding. Every input source (JSON body, XML body, form body, query string, path
//! variables) is first read into the DTO's fields as strings; one conversion per DTO then
//! validates them. This mirrors ServiceStack, which binds query, form and path values from
//! strings too, and keeps the layering rules (which source wins) in one place.

use super::xml;
use crate::dto::{
    Authenticate, GetSession, PatchSession, SessionCallState, SessionHoldReasons,
    SessionQueueStates,
};
use crate::error::ApiError;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The longest id accepted anywhere (Evo Voice ids are 24 characters).
pub const MAX_ID_LEN: usize = 128;

/// The longest `consoleData` accepted, in bytes (it is a note on the call, not a document).
pub const MAX_CONSOLE_DATA_LEN: usize = 64 * 1024;

/// Most query-string or form fields a request may carry.
pub const MAX_FORM_FIELDS: usize = 256;

/// The DataContract namespace of the Sessions DTOs.
pub const SESSIONS_NAMESPACE: &str = "http://schemas.datacontract.org/2004/07/Voice.Api.Sessions";

/// A request DTO that can be bound from string fields.
pub trait RequestDto: Sized {
    /// The operation name (`PatchSession`), used by the predefined routes and XML root.
    const NAME: &'static str;
    /// The DataContract namespace of the XML root element.
    const NAMESPACE: &'static str;
    /// The member names as JSON, form and query keys (camelCase; matched case-insensitively).
    const FIELDS: &'static [&'static str];
    /// The DataContract XML element of each member, in `FIELDS` order.
    const XML_ELEMENTS: &'static [&'static str];

    fn from_fields(fields: Fields) -> Result<Self, ApiError>;
}

/// The raw string value of each of a DTO's fields; `None` = not given.
#[derive(Debug, Clone)]
pub struct Fields {
    names: &'static [&'static str],
    values: Vec<Option<String>>,
}

impl Fields {
    pub fn new(names: &'static [&'static str]) -> Self {
        Fields {
            names,
            values: vec![None; names.len()],
        }
    }

    /// Index of a field by name, case-insensitively (ServiceStack binds keys that way).
    fn index(&self, key: &str) -> Option<usize> {
        self.names.iter().position(|n| n.eq_ignore_ascii_case(key))
    }

    /// Refuses NUL characters in any value: PostgreSQL text cannot hold them, and no
    /// legitimate id, note or enum name contains one.
    pub fn check_text(&self, op: &str) -> Result<(), ApiError> {
        for (name, value) in self.names.iter().zip(&self.values) {
            if value.as_deref().is_some_and(|v| v.contains('\0')) {
                return Err(ApiError::invalid_field(
                    op,
                    name,
                    format!("'{name}' must not contain NUL characters"),
                ));
            }
        }
        Ok(())
    }

    /// Takes the value of a field (by its exact camelCase name).
    pub fn take(&mut self, name: &str) -> Option<String> {
        let i = self.names.iter().position(|n| *n == name)?;
        self.values[i].take()
    }

    /// Sets a field by a case-insensitive key; unknown keys are ignored.
    pub fn set(&mut self, key: &str, value: String) {
        if let Some(i) = self.index(key) {
            self.values[i] = Some(value);
        }
    }

    /// Sets a field only when it has no value yet.
    pub fn fill(&mut self, key: &str, value: String) {
        if let Some(i) = self.index(key)
            && self.values[i].is_none()
        {
            self.values[i] = Some(value);
        }
    }

    /// Applies `key=value` pairs (query string or form fields). Empty values are skipped, as
    /// ServiceStack does, so `?consoleData=` changes nothing. With `overwrite` false a pair only
    /// fills a field that is still empty (the `/api` route rule).
    pub fn apply_pairs<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
        overwrite: bool,
    ) {
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            if overwrite {
                self.set(&k, v.into_owned());
            } else {
                self.fill(&k, v.into_owned());
            }
        }
    }

    /// Reads a JSON object body. Keys bind case-insensitively; unknown keys are ignored;
    /// scalars bind as their text; `null` leaves the field unset.
    pub fn from_json(
        names: &'static [&'static str],
        op: &str,
        body: &[u8],
    ) -> Result<Self, ApiError> {
        let mut fields = Fields::new(names);
        let mut de = serde_json::Deserializer::from_slice(body);
        let bound = de::Deserializer::deserialize_map(&mut de, ObjectVisitor(&mut fields))
            .and_then(|()| de.end());
        bound.map_err(|e| {
            ApiError::serialization(format!(
                "Could not deserialize 'application/json' request using {op}: {e}"
            ))
        })?;
        Ok(fields)
    }

    /// Reads a DataContract XML body whose root is `<{NAME} xmlns="{NAMESPACE}">`.
    pub fn from_xml<T: RequestDto>(body: &[u8]) -> Result<Self, ApiError> {
        let values =
            xml::read_fields(body, T::NAME, T::NAMESPACE, T::XML_ELEMENTS).map_err(|e| {
                ApiError::serialization(format!(
                    "Could not deserialize 'application/xml' request using {}: {e}",
                    T::NAME
                ))
            })?;
        Ok(Fields {
            names: T::FIELDS,
            values,
        })
    }
}

struct ObjectVisitor<'a>(&'a mut Fields);

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = vec![false; self.0.names.len()];
        while let Some(key) = map.next_key::<String>()? {
            match self.0.index(&key) {
                // A repeated member (in any case) is ambiguous: refuse it rather than guess.
                Some(i) if seen[i] => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate key '{key}' for '{}'",
                        self.0.names[i]
                    )));
                }
                Some(i) => {
                    seen[i] = true;
                    self.0.values[i] = map.next_value_seed(Scalar(self.0.names[i]))?;
                }
                None => map.next_value_seed(Skip(MAX_IGNORED_DEPTH))?,
            }
        }
        Ok(())
    }
}

/// How deep a value of an unknown member may nest. serde_json's own recursion limit does not
/// apply to values it is told to skip, so skipping counts depth itself.
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
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
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

/// A JSON scalar read as text for the named field; objects and arrays are refused.
struct Scalar(&'static str);

impl<'de> DeserializeSeed<'de> for Scalar {
    type Value = Option<String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scalar {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string, number, boolean or null for '{}'", self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Parses an enum field: a name in any case or the integer value; anything else is a 400 that
/// names the field and the allowed values.
fn enum_field<T>(
    op: &str,
    fields: &mut Fields,
    name: &'static str,
    parse: fn(&str) -> Option<T>,
    allowed: fn() -> String,
) -> Result<Option<T>, ApiError> {
    match fields.take(name) {
        None => Ok(None),
        Some(v) => parse(&v).map(Some).ok_or_else(|| {
            ApiError::invalid_field(
                op,
                name,
                format!(
                    "'{v}' is an Invalid value for '{name}' (allowed values: {})",
                    allowed()
                ),
            )
        }),
    }
}

fn console_data(fields: &mut Fields) -> Result<Option<String>, ApiError> {
    match fields.take("consoleData") {
        Some(v) if v.len() > MAX_CONSOLE_DATA_LEN => Err(ApiError::validation(
            "consoleData",
            "InvalidLength",
            format!("'consoleData' must be at most {MAX_CONSOLE_DATA_LEN} bytes"),
        )),
        v => Ok(v),
    }
}

/// The session id from the path or body: required, non-empty, bounded.
pub fn session_id(fields: &mut Fields) -> Result<String, ApiError> {
    match fields.take("sessionId") {
        Some(id) if id.len() > MAX_ID_LEN => Err(ApiError::validation(
            "sessionId",
            "InvalidLength",
            format!("'sessionId' must be at most {MAX_ID_LEN} characters"),
        )),
        Some(id) if !id.trim().is_empty() => Ok(id),
        _ => Err(ApiError::validation(
            "sessionId",
            "NotEmpty",
            "'sessionId' must not be empty",
        )),
    }
}

impl RequestDto for PatchSession {
    const NAME: &'static str = "PatchSession";
    const NAMESPACE: &'static str = SESSIONS_NAMESPACE;
    const FIELDS: &'static [&'static str] = &[
        "sessionId",
        "consoleData",
        "callState",
        "holdReason",
        "queueState",
    ];

    const XML_ELEMENTS: &'static [&'static str] = &[
        "SessionId",
        "ConsoleData",
        "CallState",
        "HoldReason",
        "QueueState",
    ];

    fn from_fields(mut f: Fields) -> Result<Self, ApiError> {
        Ok(PatchSession {
            session_id: Some(session_id(&mut f)?),
            console_data: console_data(&mut f)?,
            call_state: enum_field(
                Self::NAME,
                &mut f,
                "callState",
                SessionCallState::parse,
                SessionCallState::allowed,
            )?,
            hold_reason: enum_field(
                Self::NAME,
                &mut f,
                "holdReason",
                SessionHoldReasons::parse,
                SessionHoldReasons::allowed,
            )?,
            queue_state: enum_field(
                Self::NAME,
                &mut f,
                "queueState",
                SessionQueueStates::parse,
                SessionQueueStates::allowed,
            )?,
        })
    }
}

impl RequestDto for GetSession {
    const NAME: &'static str = "GetSession";
    const NAMESPACE: &'static str = SESSIONS_NAMESPACE;
    const FIELDS: &'static [&'static str] = &["sessionId"];
    const XML_ELEMENTS: &'static [&'static str] = &["SessionId"];

    fn from_fields(mut f: Fields) -> Result<Self, ApiError> {
        Ok(GetSession {
            session_id: Some(session_id(&mut f)?),
        })
    }
}

/// ServiceStack's own DTOs (`Authenticate`, `ResponseStatus`) live in this namespace.
pub const SERVICESTACK_NAMESPACE: &str = "http://schemas.servicestack.net/types";

impl RequestDto for Authenticate {
    const NAME: &'static str = "Authenticate";
    const NAMESPACE: &'static str = SERVICESTACK_NAMESPACE;
    const FIELDS: &'static [&'static str] = &["provider", "userName", "password", "rememberMe"];
    // ServiceStack declares `provider` in lower case; the rest are PascalCase.
    const XML_ELEMENTS: &'static [&'static str] =
        &["provider", "UserName", "Password", "RememberMe"];

    fn from_fields(mut f: Fields) -> Result<Self, ApiError> {
        let remember_me = match f.take("rememberMe") {
            None => false,
            // ServiceStack binds a bool from the text before any comma (`true,true` from forms).
            Some(v) => match v
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
                .as_str()
            {
                "true" | "1" | "on" => true,
                "false" | "0" | "off" | "" => false,
                _ => {
                    return Err(ApiError::invalid_field(
                        Self::NAME,
                        "rememberMe",
                        format!("'{v}' is an Invalid value for 'rememberMe'"),
                    ));
                }
            },
        };
        Ok(Authenticate {
            provider: f.take("provider"),
            user_name: f.take("userName"),
            password: f.take("password"),
            remember_me,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(json: &str) -> Result<PatchSession, ApiError> {
        PatchSession::from_fields(Fields::from_json(
            PatchSession::FIELDS,
            "PatchSession",
            json.as_bytes(),
        )?)
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
    fn query_pairs_skip_empty_values_and_fill_only_gaps_when_asked() {
        let mut f = Fields::from_json(
            PatchSession::FIELDS,
            "PatchSession",
            br#"{"consoleData":"body"}"#,
        )
        .unwrap();
        f.apply_pairs(
            form_urlencoded::parse(b"consoledata=query&callState=&sessionId=q"),
            false,
        );
        let p = PatchSession::from_fields(f.clone()).unwrap();
        assert_eq!(p.console_data.as_deref(), Some("body"));
        assert_eq!(p.session_id.as_deref(), Some("q"));
        assert_eq!(p.call_state, None);
        f.apply_pairs(form_urlencoded::parse(b"ConsoleData=query"), true);
        assert_eq!(
            PatchSession::from_fields(f)
                .unwrap()
                .console_data
                .as_deref(),
            Some("query")
        );
    }
}
