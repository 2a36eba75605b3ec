//! The service describes itself, as ServiceStack does, from the contract alone:
//!
//! - [`page`]: the HTML metadata pages (`/metadata`, `/{json|xml}/metadata?op=NAME&lang=…`);
//! - Add ServiceStack Reference: `/types` (links), `/types/{typescript|python|csharp}`
//!   ([`typescript`], [`python`], [`csharp`]: one writer per language over [`plan`], which
//!   decides the declarations, their order and the `Options:` header) and `/types/metadata`
//!   ([`types_json`]).
//!
//! Every answer carries an `ETag` (a digest of the body) and a matching `If-None-Match` gets
//! 304. Nothing here runs on the session routes: these are routes of their own. An unknown
//! operation or language is a 404 `ResponseStatus` in the negotiated format.

pub mod csharp;
pub mod page;
pub mod plan;
pub mod python;
pub mod types_json;
pub mod typescript;

use crate::AppState;
use crate::contract::operations::{self, METADATA_ROUTES, Operation};
use crate::error::{ApiError, Result};
use crate::wire::Format;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use plan::{Decl, Options, Target};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// A language of the DTO listings and references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    CSharp,
    TypeScript,
    Python,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::CSharp, Lang::TypeScript, Lang::Python];

    /// `typescript`, `ts`, `python`, `py`, `csharp`, `cs` (any case), as in the reference tools.
    pub fn from_param(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "csharp" | "cs" | "c#" => Some(Lang::CSharp),
            "typescript" | "ts" => Some(Lang::TypeScript),
            "python" | "py" => Some(Lang::Python),
            _ => None,
        }
    }

    pub fn param(self) -> &'static str {
        match self {
            Lang::CSharp => "csharp",
            Lang::TypeScript => "typescript",
            Lang::Python => "python",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Lang::CSharp => "C#",
            Lang::TypeScript => "TypeScript",
            Lang::Python => "Python",
        }
    }

    /// The declarations as the metadata page lists them.
    pub fn listing(self, decls: &[Decl]) -> String {
        match self {
            Lang::CSharp => csharp::listing(decls),
            Lang::TypeScript => typescript::listing(decls),
            Lang::Python => python::listing(decls),
        }
    }

    /// `/types/{lang}`.
    pub fn reference(self, decls: &[Decl], options: &Options, base_url: &str) -> String {
        let date = &*STARTED;
        match self {
            Lang::CSharp => csharp::reference(decls, options, base_url, date),
            Lang::TypeScript => typescript::reference(decls, options, base_url, date),
            Lang::Python => python::reference(decls, options, base_url, date),
        }
    }
}

/// The `Date:` of every reference: when this process started describing itself, so the same
/// request gets the same bytes (and ETag) for the life of the process.
static STARTED: LazyLock<String> =
    LazyLock::new(|| chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string());

/// The routes, in the order of [`METADATA_ROUTES`].
pub fn router() -> Router<AppState> {
    let handlers: [MethodRouter<AppState>; 5] = [
        get(index),
        get(|h: HeaderMap, u: Uri| operation_page(Format::Json, h, u)),
        get(|h: HeaderMap, u: Uri| operation_page(Format::Xml, h, u)),
        get(links),
        get(reference),
    ];
    METADATA_ROUTES
        .iter()
        .zip(handlers)
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
}

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// The value of query parameter `name` (case-insensitive).
fn query_param(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.into_owned())
}

/// The host the client asked for, for the samples and `BaseUrl`.
fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['<', '>', '"', '\n', '\r']))
        .unwrap_or("localhost")
        .to_string()
}

/// `http://host`, or `https://` behind a proxy that says so.
fn base_url(headers: &HeaderMap) -> String {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{}", host(headers))
}

/// 200 with an ETag, or 304 when the client has these bytes already.
fn cacheable(headers: &HeaderMap, content_type: &'static str, body: String) -> Response {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{hex}\"");
    let matches = crate::http::etag::none_match(headers, &etag);
    let etag = HeaderValue::from_str(&etag).expect("hex in quotes is a header value");
    // Cacheable, revalidated each time: a new deployment may describe itself differently.
    let cache = HeaderValue::from_static("no-cache");
    if matches {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

async fn index(headers: HeaderMap) -> Response {
    cacheable(&headers, HTML, page::index())
}

fn find_operation(name: &str) -> Result<&'static Operation> {
    operations::OPERATIONS
        .iter()
        .find(|op| op.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| ApiError::not_found(format!("Operation '{name}' does not exist")))
}

fn find_lang(name: &str) -> Result<Lang> {
    Lang::from_param(name).ok_or_else(|| {
        ApiError::not_found(format!(
            "Language '{name}' is not supported; use csharp, typescript or python"
        ))
    })
}

/// `/{json|xml}/metadata?op=NAME[&lang=…]`; without `op`, the index. C# unless `lang` says
/// otherwise, as in ServiceStack.
async fn operation_page(format: Format, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let Some(name) = query_param(&uri, "op") else {
        return Ok(cacheable(&headers, HTML, page::index()));
    };
    let op = find_operation(&name)?;
    let lang = match query_param(&uri, "lang") {
        Some(l) if !l.is_empty() => find_lang(&l)?,
        _ => Lang::CSharp,
    };
    let body = page::operation(op, format, lang, &host(&headers));
    Ok(cacheable(&headers, HTML, body))
}

/// `/types`: where each reference is.
async fn links(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let mut links = serde_json::Map::new();
    links.insert("metadata".into(), format!("{base}/types/metadata").into());
    for lang in Lang::ALL {
        links.insert(
            lang.param().into(),
            format!("{base}/types/{}", lang.param()).into(),
        );
    }
    cacheable(&headers, JSON, serde_json::Value::Object(links).to_string())
}

/// `/types/{lang}` and `/types/metadata`, with the query options.
async fn reference(
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let options = Options::from_query(uri.query());
    let ops = plan::all_operations();
    let decls = plan::filter(plan::declarations(&ops, Target::Reference), &options);
    let base = base_url(&headers);
    if name.eq_ignore_ascii_case("metadata") {
        let body = types_json::document(&decls, &ops, &base);
        return Ok(cacheable(&headers, JSON, body));
    }
    let lang = find_lang(&name)?;
    Ok(cacheable(
        &headers,
        TEXT,
        lang.reference(&decls, &options, &base),
    ))
}
