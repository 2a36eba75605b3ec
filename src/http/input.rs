//! The request as binding needs it: body (size-bounded), its Content-Type and the query string.

use crate::AppState;
use crate::contract::Dto;
use crate::error::ApiError;
use crate::wire::Format;
use crate::wire::bind::{Binder, MAX_FORM_FIELDS};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, request::Parts};
use std::borrow::Cow;

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
/// Content-Length over the limit is refused before anything is read). A body in gzip, deflate
/// (zlib) or br, as ServiceStack's .NET clients send one with `RequestCompressionType`, is read
/// within the limit as it came, then decoded within it too, so neither the bytes received nor
/// the bytes decoded are unbounded (a small body that inflates past the limit is refused
/// without being inflated further).
pub async fn read_body(parts: &Parts, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    // hyper takes the chunked framing off and hands any other transfer coding through as if it
    // were the body; RFC 9112 answers a coding the server does not understand with 501.
    for coding in parts.headers.get_all(header::TRANSFER_ENCODING) {
        let text = String::from_utf8_lossy(coding.as_bytes());
        if text.split(',').any(|c| {
            let c = c.trim();
            !c.is_empty()
                && !c.eq_ignore_ascii_case("chunked")
                && !c.eq_ignore_ascii_case("identity")
        }) {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                format!("Transfer-Encoding '{}' is not supported", text.trim()),
            ));
        }
    }
    let coding = content_coding(parts)?;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::payload_too_large(limit));
    }
    let raw = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if is_length_limit(&e) {
            ApiError::payload_too_large(limit)
        } else {
            ApiError::serialization(format!("The request body could not be read: {e}"))
        }
    })?;
    match coding {
        Some(coding) if !raw.is_empty() => decode(coding, &raw, limit).map(Bytes::from),
        _ => Ok(raw),
    }
}

/// A Content-Encoding the server decodes.
#[derive(Debug, Clone, Copy)]
enum Coding {
    Gzip,
    /// HTTP's deflate is zlib-wrapped (RFC 9110), as ServiceStack's ZLibCompressor (its deflate
    /// on .NET 6 and later) writes it; .NET Framework's raw DeflateStream is a 400.
    Deflate,
    Brotli,
}

/// The body's Content-Encoding: None without one (or identity), a coding the server decodes,
/// or 415 for any other (read as it is, such a body would fail to parse, or a plain body so
/// labelled be taken for what it is not). A request without the header pays one lookup.
fn content_coding(parts: &Parts) -> Result<Option<Coding>, ApiError> {
    let mut codings = parts.headers.get_all(header::CONTENT_ENCODING).iter();
    let Some(first) = codings.next() else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(first.as_bytes())
        .trim()
        .to_ascii_lowercase();
    if codings.next().is_some() || text.contains(',') {
        return Err(ApiError::unsupported_encoding(&text));
    }
    match text.as_str() {
        "" | "identity" => Ok(None),
        "gzip" | "x-gzip" => Ok(Some(Coding::Gzip)),
        "deflate" => Ok(Some(Coding::Deflate)),
        "br" => Ok(Some(Coding::Brotli)),
        _ => Err(ApiError::unsupported_encoding(&text)),
    }
}

/// `raw` decoded, at most `limit` bytes of it (413 beyond), all of it: every gzip member, and
/// nothing after the end of the stream (a body whose tail would be dropped is a 400, not a
/// shorter body). In memory and at once: both sides are within the body limit.
fn decode(coding: Coding, raw: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let bad = |e: std::io::Error| {
        ApiError::serialization(format!("The request body could not be decoded: {e}"))
    };
    let trailing = || ApiError::serialization("The request body has data after its compressed end");
    let mut out = Vec::new();
    let bound = limit as u64 + 1;
    match coding {
        Coding::Gzip => {
            let mut d = flate2::bufread::MultiGzDecoder::new(raw);
            d.by_ref().take(bound).read_to_end(&mut out).map_err(bad)?;
        }
        Coding::Deflate => {
            let mut d = flate2::bufread::ZlibDecoder::new(raw);
            d.by_ref().take(bound).read_to_end(&mut out).map_err(bad)?;
            if out.len() <= limit && !d.into_inner().is_empty() {
                return Err(trailing());
            }
        }
        Coding::Brotli => {
            // The reader's buffer holds the whole body, so it sees any byte after the end;
            // it says so on the read after the one that ends the output.
            let mut d = brotli::Decompressor::new(raw, raw.len());
            d.by_ref().take(bound).read_to_end(&mut out).map_err(bad)?;
            if out.len() <= limit && d.read(&mut [0; 1]).map_err(|_| trailing())? > 0 {
                return Err(trailing());
            }
        }
    }
    if out.len() > limit {
        return Err(ApiError::payload_too_large(limit));
    }
    Ok(out)
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
        let query = decoded_pairs(self.query.as_deref().unwrap_or("").as_bytes(), false)?;
        match binding {
            Binding::Custom(path) => {
                for (name, value) in path {
                    binder.set(name, value, true);
                }
                binder.apply_pairs(pairs(&query), true);
                binder.apply_pairs(pairs(form), true);
            }
            Binding::Predefined => {
                binder.apply_pairs(pairs(form), true);
                binder.apply_pairs(pairs(&query), false);
            }
        }
        binder.finish()
    }
}

/// The pairs of urlencoded text (a query string or a form body), decoded strictly: `+` is a
/// space and a percent-escape its byte, and what does not make UTF-8 is refused naming its
/// field, where `form_urlencoded::parse` would put U+FFFD in its place and the altered value be
/// stored. With `latin1` (a form that declares ISO-8859-1) every byte is its own character.
pub fn decoded_pairs(input: &[u8], latin1: bool) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |raw: &[u8], field: Option<&str>| -> Result<String, ApiError> {
        let plus: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        text_of(
            percent_encoding::percent_decode(&plus).collect(),
            latin1,
            field,
        )
    };
    let mut pairs = Vec::new();
    for piece in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        check_field_count(pairs.len() + 1)?;
        let (name, value) = match piece.iter().position(|&b| b == b'=') {
            Some(at) => (&piece[..at], &piece[at + 1..]),
            None => (piece, &b""[..]),
        };
        let name = decode(name, None)?;
        let value = decode(value, Some(&name))?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// A field whose text is not UTF-8: a 400 naming it, with ServiceStack's binding error code.
fn invalid_utf8(name: &str) -> ApiError {
    ApiError::validation(
        name,
        "SerializationException",
        format!("Invalid UTF-8 in '{name}'"),
    )
}

/// Whether text declared with this Content-Type is ISO-8859-1 (false: UTF-8, declared or not);
/// any other charset is 415, where decoding it as either would alter the text.
fn is_latin1(content_type: &str) -> Result<bool, ApiError> {
    let declared = content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    });
    match declared.as_deref() {
        None | Some("utf-8" | "utf8") => Ok(false),
        Some("iso-8859-1" | "latin1" | "iso_8859-1" | "l1") => Ok(true),
        Some(other) => Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!("The charset '{other}' is not supported; use utf-8 or iso-8859-1"),
        )),
    }
}

/// Text in UTF-8 or ISO-8859-1 (every byte its own character), strictly: what is not UTF-8 is
/// a 400 naming the field (a field's name itself, when `field` is None, named as it reads).
fn text_of(bytes: Vec<u8>, latin1: bool, field: Option<&str>) -> Result<String, ApiError> {
    if latin1 {
        return Ok(bytes.iter().map(|&b| char::from(b)).collect());
    }
    String::from_utf8(bytes).map_err(|e| {
        let name = field.map_or_else(
            || String::from_utf8_lossy(e.as_bytes()).into_owned(),
            str::to_owned,
        );
        invalid_utf8(&name)
    })
}

fn pairs(pairs: &[(String, String)]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
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
        let pairs = decoded_pairs(body, is_latin1(content_type)?)?;
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
        // Read as a form's text is (multer's `text` would put U+FFFD in place of what is not
        // its charset, or guess another from a BOM, and the altered value be stored).
        let latin1 = is_latin1(
            &field
                .content_type()
                .map(|m| m.to_string())
                .unwrap_or_default(),
        )?;
        let value = text_of(
            field.bytes().await.map_err(bad)?.to_vec(),
            latin1,
            Some(&name),
        )?;
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
