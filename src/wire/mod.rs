//! Wire formats: which format a request asked for ([`negotiate`]), how request DTOs are bound
//! from any of them ([`bind`]), and the contract-driven [`json`] and DataContract [`xml`]
//! readers and writers, which write responses straight into the body buffer.

pub mod bind;
pub mod json;
pub mod negotiate;
pub mod xml;

use crate::contract::servicestack::{ErrorResponse, ResponseStatus};
use crate::contract::{Dto, TypeDef, Value, WireType};
use crate::error::ApiError;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
pub const XML_CONTENT_TYPE: &str = "application/xml";

/// A response format ServiceStack clients understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Xml,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => JSON_CONTENT_TYPE,
            Format::Xml => XML_CONTENT_TYPE,
        }
    }

    /// The format named by a `?format=` value or a path extension, if it is one we write.
    pub fn from_name(name: &str) -> Option<Format> {
        if name.eq_ignore_ascii_case("json") {
            Some(Format::Json)
        } else if name.eq_ignore_ascii_case("xml") {
            Some(Format::Xml)
        } else {
            None
        }
    }

    /// The format of a media type (`application/json`, `text/xml; charset=utf-8`, ...).
    pub fn from_media_type(media_type: &str) -> Option<Format> {
        let essence = media_type.split(';').next().unwrap_or("").trim();
        match essence.to_ascii_lowercase().as_str() {
            "application/json" | "text/json" => Some(Format::Json),
            "application/xml" | "text/xml" => Some(Format::Xml),
            _ => None,
        }
    }
}

/// Writes `value`, an object of `ty`, in `format`.
pub fn write(
    format: Format,
    ty: &'static TypeDef,
    value: &Value<'_>,
    out: &mut Vec<u8>,
) -> Result<(), json::ShapeError> {
    match format {
        Format::Json => json::write(out, ty, value),
        Format::Xml => xml::write(out, ty, value),
    }
}

fn body_response(format: Format, body: Vec<u8>) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    res
}

/// About what one session takes in `format`: a session with a handful of members is 2–4 KB
/// of JSON, and about twice that of XML.
pub fn session_bytes(format: Format) -> usize {
    match format {
        Format::Json => 4096,
        Format::Xml => 8192,
    }
}

/// A 200 response carrying `value`, an object of `ty`, in `format`; sized for one session (one
/// reservation avoids regrowth).
pub fn respond_value(
    format: Format,
    ty: &'static TypeDef,
    value: &Value<'_>,
) -> Result<Response, ApiError> {
    respond_value_sized(format, ty, value, session_bytes(format))
}

/// [`respond_value`] into a body of `capacity` bytes to start with.
pub fn respond_value_sized(
    format: Format,
    ty: &'static TypeDef,
    value: &Value<'_>,
    capacity: usize,
) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(capacity);
    write(format, ty, value, &mut body).map_err(ApiError::internal)?;
    Ok(body_response(format, body))
}

/// A 200 response whose body is a bare list (a service returning `List<T>`), from each item's
/// JSON as storage keeps it: JSON copies them verbatim, XML writes the collection as
/// DataContractSerializer does ([`xml::write_list`]), each item from its JSON.
pub fn respond_stored_list(
    format: Format,
    item: &'static WireType,
    stored: &[String],
) -> Result<Response, ApiError> {
    let body = match format {
        Format::Json => format!("[{}]", stored.join(",")).into_bytes(),
        Format::Xml => {
            // As stored composites are: streamed from their JSON by the XML writer.
            let items: Vec<Value<'_>> = stored
                .iter()
                .map(|s| Value::Json(std::borrow::Cow::Borrowed(s.as_str())))
                .collect();
            let mut body = Vec::with_capacity(256 * stored.len().max(1));
            xml::write_list(&mut body, item, &items).map_err(ApiError::internal)?;
            body
        }
    };
    Ok(body_response(format, body))
}

/// A 200 response carrying `dto` in `format`.
pub fn respond<T: Dto>(format: Format, dto: &T) -> Result<Response, ApiError> {
    respond_value(format, T::TYPE, &dto.to_object())
}

/// The body of an error response in `format`. Messages may quote a client's input; characters
/// XML 1.0 cannot carry are replaced (U+FFFD) in both formats, so an XML error body is always
/// well-formed and the two formats say the same.
pub fn error_body(format: Format, status: ResponseStatus) -> Response {
    body_response(format, error_bytes(format, status))
}

/// The bytes of [`error_body`].
pub fn error_bytes(format: Format, mut status: ResponseStatus) -> Vec<u8> {
    sanitise(&mut status.message);
    for e in &mut status.errors {
        sanitise(&mut e.message);
        sanitise(&mut e.field_name);
    }
    let dto = ErrorResponse {
        response_status: status,
    };
    let mut body = Vec::with_capacity(256);
    // An ErrorResponse built from its typed struct always has the shape of its type.
    let _ = write(format, ErrorResponse::TYPE, &dto.to_object(), &mut body);
    body
}

/// A typed DTO from a stored value: the composites kept as JSON are read first.
pub fn from_stored<T: Dto>(value: Value<'_>) -> Result<T, ApiError> {
    let Value::Object(values) = value else {
        return Err(ApiError::internal(json::ShapeError(T::TYPE.name.into())));
    };
    let slots = T::TYPE.slots();
    let mut expanded = Vec::with_capacity(values.len());
    for (slot, value) in slots.iter().zip(values) {
        expanded.push(match value {
            Value::Json(text) => json::read_member(&slot.member.ty, &text)
                .map_err(ApiError::internal)?
                .into_owned(),
            v => v,
        });
    }
    T::from_object(Value::Object(expanded)).map_err(ApiError::internal)
}

fn sanitise(text: &mut String) {
    if !text.chars().all(xml::is_xml_char) {
        *text = text
            .chars()
            .map(|c| if xml::is_xml_char(c) { c } else { '\u{FFFD}' })
            .collect();
    }
}

/// `dto` as ServiceStack's JSON.
pub fn to_json<T: Dto>(dto: &T) -> String {
    let mut out = Vec::new();
    // A typed DTO always has the shape of its type, and JSON written from `&str`s is UTF-8.
    let _ = json::write(&mut out, T::TYPE, &dto.to_object());
    String::from_utf8(out).unwrap_or_default()
}

/// A DTO from ServiceStack's JSON, checked as a request body is.
pub fn from_json<T: Dto>(text: &str) -> Result<T, ApiError> {
    let value =
        json::read(T::TYPE, text.as_bytes()).map_err(|e| ApiError::serialization(e.to_string()))?;
    bind::validate_document(value)
}

/// `dto` as a DataContract XML document.
pub fn to_xml<T: Dto>(dto: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = xml::write_dto(&mut out, dto);
    out
}

/// A DTO from a DataContract XML document, checked as a request body is.
pub fn from_xml<T: Dto>(body: &[u8]) -> Result<T, ApiError> {
    let value = xml::read(T::TYPE, body).map_err(|e| ApiError::serialization(e.to_string()))?;
    bind::validate_document(value)
}
