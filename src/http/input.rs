//! The request as binding needs it: body (size-bounded), its Content-Type and the query string.

use crate::AppState;
use crate::contract::Dto;
use crate::error::ApiError;
use crate::wire::Format;
use crate::wire::bind::{Binder, MAX_FORM_FIELDS};
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
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyKind {
    Empty,
    /// A JSON or DataContract XML document.
    Structured(Format),
    /// `application/x-www-form-urlencoded` or the text fields of `multipart/form-data`.
    Form(Vec<(String, String)>),
}

/// A request's inputs, read once with the body bounded by the configured limit.
#[derive(Debug)]
pub struct RequestInput {
    query: Option<String>,
    body: Bytes,
    kind: BodyKind,
}

/// Whether a Content-Type is `application/x-www-form-urlencoded`.
pub fn is_urlencoded_form(content_type: &str) -> bool {
    media_essence(content_type).eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn media_essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Reads a request body, refusing it with 413 as soon as it exceeds `limit` (a declared
/// Content-Length over the limit is refused before anything is read).
pub async fn read_body(parts: &Parts, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::payload_too_large(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if is_length_limit(&e) {
            ApiError::payload_too_large(limit)
        } else {
            ApiError::serialization(format!("The request body could not be read: {e}"))
        }
    })
}

impl RequestInput {
    pub async fn read(parts: &Parts, body: Body, limit: usize) -> Result<Self, ApiError> {
        let body = read_body(parts, body, limit).await?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let kind = body_kind(content_type, &body).await?;
        Ok(RequestInput {
            query: parts.uri.query().map(str::to_owned),
            body,
            kind,
        })
    }

    /// Binds the request DTO `T` from every input, layered as `binding` says.
    pub fn bind<T: Dto>(&self, binding: Binding<'_>) -> Result<T, ApiError> {
        let mut binder = match &self.kind {
            BodyKind::Structured(format) => Binder::from_body(T::TYPE, *format, &self.body)?,
            BodyKind::Empty | BodyKind::Form(_) => Binder::empty(T::TYPE),
        };
        let form: &[(String, String)] = match &self.kind {
            BodyKind::Form(pairs) => pairs,
            _ => &[],
        };
        let query = self.query.as_deref().unwrap_or("").as_bytes();
        check_field_count(form_urlencoded::parse(query).count())?;
        let form_pairs = || form.iter().map(|(k, v)| (k.into(), v.into()));
        match binding {
            Binding::Custom(path) => {
                for (name, value) in path {
                    binder.set(name, value, true);
                }
                binder.apply_pairs(form_urlencoded::parse(query), true);
                binder.apply_pairs(form_pairs(), true);
            }
            Binding::Predefined => {
                binder.apply_pairs(form_pairs(), true);
                binder.apply_pairs(form_urlencoded::parse(query), false);
            }
        }
        binder.finish()
    }
}

fn check_field_count(n: usize) -> Result<(), ApiError> {
    if n > MAX_FORM_FIELDS {
        return Err(ApiError::serialization(format!(
            "Too many query or form fields: {n} (at most {MAX_FORM_FIELDS})"
        )));
    }
    Ok(())
}

/// Classifies the body by its Content-Type; form bodies are parsed into pairs here, once.
async fn body_kind(content_type: &str, body: &Bytes) -> Result<BodyKind, ApiError> {
    if body.is_empty() {
        return Ok(BodyKind::Empty);
    }
    if let Some(format) = Format::from_media_type(content_type) {
        return Ok(BodyKind::Structured(format));
    }
    if is_urlencoded_form(content_type) {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        check_field_count(pairs.len())?;
        return Ok(BodyKind::Form(pairs));
    }
    if media_essence(content_type).eq_ignore_ascii_case("multipart/form-data") {
        return multipart_fields(content_type, body.clone())
            .await
            .map(BodyKind::Form);
    }
    let shown = if content_type.is_empty() {
        "(none)"
    } else {
        content_type
    };
    Err(ApiError::unsupported_media_type(shown))
}

/// The text fields of a `multipart/form-data` body; file parts are skipped.
async fn multipart_fields(
    content_type: &str,
    body: Bytes,
) -> Result<Vec<(String, String)>, ApiError> {
    let bad = |e: multer::Error| {
        ApiError::serialization(format!("Malformed multipart/form-data body: {e}"))
    };
    let boundary = multer::parse_boundary(content_type).map_err(bad)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut pairs = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        if field.file_name().is_some() {
            continue;
        }
        let name = field.name().unwrap_or_default().to_string();
        let value = field.text().await.map_err(bad)?;
        pairs.push((name, value));
        check_field_count(pairs.len())?;
    }
    Ok(pairs)
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
