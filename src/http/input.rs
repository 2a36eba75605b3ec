//! The request as binding needs it: body (size-bounded), its Content-Type and the query string.

use crate::AppState;
use crate::error::ApiError;
use crate::wire::Format;
use crate::wire::fields::{Fields, RequestDto};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, request::Parts};

/// How a route layers its inputs, as ServiceStack does.
#[derive(Debug, Clone, Copy)]
pub enum Binding<'a> {
    /// A custom route such as `/sessions/{sessionId}`: body, then path variables, then query,
    /// then form fields, each overriding the one before.
    Custom(&'a [(&'a str, &'a str)]),
    /// `/api/{Op}`, `/json/reply/{Op}`: the body wins; the query only fills fields it left empty.
    Predefined,
}

/// What kind of body a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Empty,
    Structured(Format),
    Form,
}

/// A request's inputs, read once with the body bounded by the configured limit.
#[derive(Debug)]
pub struct RequestInput {
    content_type: Option<String>,
    query: Option<String>,
    body: Bytes,
}

impl RequestInput {
    /// Reads the body, refusing it with 413 as soon as it exceeds `limit` (a declared
    /// Content-Length over the limit is refused before anything is read).
    pub async fn read(parts: &Parts, body: Body, limit: usize) -> Result<Self, ApiError> {
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(ApiError::payload_too_large(limit));
        }
        let body = axum::body::to_bytes(body, limit).await.map_err(|e| {
            if is_length_limit(&e) {
                ApiError::payload_too_large(limit)
            } else {
                ApiError::serialization(format!("The request body could not be read: {e}"))
            }
        })?;
        Ok(RequestInput {
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            query: parts.uri.query().map(str::to_owned),
            body,
        })
    }

    fn body_kind(&self) -> Result<BodyKind, ApiError> {
        if self.body.is_empty() {
            return Ok(BodyKind::Empty);
        }
        let ct = self.content_type.as_deref().unwrap_or("");
        if let Some(format) = Format::from_media_type(ct) {
            return Ok(BodyKind::Structured(format));
        }
        let essence = ct.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Ok(BodyKind::Form);
        }
        Err(ApiError::unsupported_media_type(if ct.is_empty() {
            "(none)"
        } else {
            ct
        }))
    }

    /// Binds the request DTO `T` from every input, layered as `binding` says.
    pub fn bind<T: RequestDto>(&self, binding: Binding<'_>) -> Result<T, ApiError> {
        let kind = self.body_kind()?;
        let mut fields = match kind {
            BodyKind::Structured(Format::Json) => {
                Fields::from_json(T::FIELDS, T::NAME, &self.body)?
            }
            BodyKind::Structured(Format::Xml) => Fields::from_xml::<T>(&self.body)?,
            BodyKind::Empty | BodyKind::Form => Fields::new(T::FIELDS),
        };
        let query = self.query.as_deref().unwrap_or("").as_bytes();
        match binding {
            Binding::Custom(path) => {
                for (name, value) in path {
                    fields.set(name, (*value).to_string());
                }
                fields.apply_pairs(query, true);
                if kind == BodyKind::Form {
                    fields.apply_pairs(&self.body, true);
                }
            }
            Binding::Predefined => {
                if kind == BodyKind::Form {
                    fields.apply_pairs(&self.body, true);
                }
                fields.apply_pairs(query, false);
            }
        }
        T::from_fields(fields)
    }
}

/// Whether a body error is the length limit being hit (the error type is boxed inside axum's).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

impl FromRequest<AppState> for RequestInput {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        RequestInput::read(&parts, body, state.config.max_body_bytes).await
    }
}
