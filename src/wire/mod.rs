//! Wire formats: which format a request asked for ([`negotiate`]), how request DTOs are bound
//! from any of them ([`fields`]), and writing responses straight into the body buffer
//! (JSON with serde, DataContract XML in [`xml`]).

pub mod fields;
pub mod negotiate;
pub mod xml;

use crate::dto::{AuthenticateResponse, ErrorResponse, ResponseStatus, SessionInfo, UserInfo};
use crate::error::ApiError;
use crate::storage::sessions::StoredSession;
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

fn body_response(format: Format, body: Vec<u8>) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    res
}

/// A response DTO, written straight into the response buffer in either format.
pub trait ResponseDto {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), ApiError>;
    fn write_xml(&self, out: &mut Vec<u8>) -> Result<(), ApiError>;
}

/// ServiceStack's JSON is serde's with camelCase keys and nulls omitted (set on the DTOs).
fn serde_json_into<T: serde::Serialize>(out: &mut Vec<u8>, dto: &T) -> Result<(), ApiError> {
    serde_json::to_writer(out, dto).map_err(ApiError::internal)
}

impl ResponseDto for SessionInfo {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        serde_json_into(out, self)
    }
    fn write_xml(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        xml::write_session_info(out, self);
        Ok(())
    }
}

impl ResponseDto for StoredSession {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        Ok(StoredSession::write_json(self, out)?)
    }
    fn write_xml(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        xml::write_session_info(out, &self.to_info()?);
        Ok(())
    }
}

impl ResponseDto for AuthenticateResponse {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        serde_json_into(out, self)
    }
    fn write_xml(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        xml::write_authenticate_response(out, self);
        Ok(())
    }
}

impl ResponseDto for UserInfo {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        serde_json_into(out, self)
    }
    fn write_xml(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        xml::write_user_info(out, self);
        Ok(())
    }
}

/// A 200 response carrying `dto` in `format`.
pub fn respond<T: ResponseDto>(format: Format, dto: &T) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(4096);
    match format {
        Format::Json => dto.write_json(&mut body)?,
        Format::Xml => dto.write_xml(&mut body)?,
    }
    Ok(body_response(format, body))
}

/// The body of an error response in `format`.
pub fn error_body(format: Format, status: ResponseStatus) -> Response {
    let mut body = Vec::with_capacity(256);
    match format {
        Format::Json => serde_json::to_writer(
            &mut body,
            &ErrorResponse {
                response_status: status,
            },
        )
        .expect("ErrorResponse serialises"),
        Format::Xml => xml::write_error_response(&mut body, &status),
    }
    body_response(format, body)
}
