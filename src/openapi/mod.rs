//! `GET /openapi`: an OpenAPI document of the API, generated from [`crate::contract`] (the
//! operation table and the DTO descriptions) the first time it is asked for, then served from
//! memory with a strong `ETag` (`If-None-Match` → 304). Nothing of it is on the PATCH path:
//! the route is one more entry in the router, and nothing is computed before the first request
//! for the document.
//!
//! What it says, and why:
//! - **OpenAPI 3.0.3**, not 3.1: it is the version the standard tools all read (openapi-generator,
//!   NSwag, Swagger UI, Postman, schemathesis, openapi-spec-validator). What 3.1 would make
//!   shorter costs little here: a nullable member is `nullable: true`, and a `$ref` that needs
//!   a description, nullability or an XML name is wrapped in `allOf` (3.0 ignores a `$ref`'s
//!   siblings).
//! - **The custom routes only**, every verb the contract gives them. The predefined routes
//!   (`/api/{Op}`, `/json/reply/{Op}`, `/xml/reply/{Op}`) reach the same operations by name on
//!   any verb; listing them would give each operation a dozen more entries with a free-form
//!   `{Op}` and make generated clients ambiguous. The document's description mentions them.
//!   `/openapi` and the health checks are not operations and are not listed.
//! - **Names as on the wire**: properties are the JSON keys (camelCase), in declaration order,
//!   base members first and flattened in (the wire has no nesting for a base class); enums are
//!   string schemas of their names, each a component named as the .NET enum; descriptions are
//!   the contract's. Members that are not nullable are always written, so response schemas
//!   require them; request bodies require only what binding requires.
//! - **One body**: POST, PUT and PATCH take the request DTO as one body (JSON or XML) without
//!   the members the route binds from its path, which are path parameters; GET, HEAD, DELETE
//!   and OPTIONS take the members as query parameters. Nothing is both. The server also binds
//!   urlencoded and multipart forms, as ServiceStack does, but they are not listed: a form
//!   cannot carry null (`null` is text there), lists or nested objects, so the body schema
//!   would misdescribe them.
//! - **Security**: HTTP Basic, the API key as a bearer token, and the `ss-id` session cookie;
//!   operations that need a caller require one of them, the others list them as optional.
//! - **Errors**: every status the server answers for an operation (see
//!   [`document::error_statuses`]) is a shared response whose body is `ErrorResponse`
//!   (`{"responseStatus": ResponseStatus}`). A 431 (request head too large) has no body and
//!   comes before any route is known, so it is not listed.
//! - **XML**: request and response bodies list `application/xml` beside JSON, with the schemas'
//!   `xml` objects giving .NET's element names (PascalCase), DataContract namespaces (base
//!   members in their own type's namespace) and collection item names. OpenAPI's XML object
//!   cannot say everything DataContract does: the required element order (ordinal by name),
//!   `i:nil`, and the `KeyValueOfstringstring` entries of a string map; tools that build XML
//!   from the document get names and namespaces right, not those. The golden files in
//!   `tests/golden` show the exact form.
//!
//! The document is JSON whatever the request's format: it has no XML form, and a browser's
//! `Accept` would otherwise pick XML. Negotiation ignores `Accept` on this route, so a client
//! asking for `application/vnd.oai.openapi+json` gets it rather than a 406.

mod document;
mod tree;

pub use document::{OPENAPI_VERSION, build, error_statuses};
pub use tree::Json;

use crate::wire::JSON_CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The document as served: its bytes and their entity tag.
pub struct Document {
    pub body: Vec<u8>,
    /// A strong entity tag (quoted): the first 128 bits of the body's SHA-256.
    pub etag: String,
}

static DOCUMENT: LazyLock<Document> = LazyLock::new(|| {
    let body = serde_json::to_vec_pretty(&build()).expect("the document serialises");
    let digest = Sha256::digest(&body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Document {
        body,
        etag: format!("\"{hex}\""),
    }
});

/// The document, built on first use.
pub fn document() -> &'static Document {
    &DOCUMENT
}

/// `GET /openapi` (and HEAD, which axum answers from it without the body).
pub async fn serve(headers: HeaderMap) -> Response {
    let doc = document();
    let etag = HeaderValue::from_str(&doc.etag).expect("hex in quotes is a header value");
    // Revalidate every time (the document changes with a deploy), which a 304 makes cheap.
    let cache = HeaderValue::from_static("no-cache");
    if not_modified(&headers, &doc.etag) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        axum::body::Bytes::from_static(&doc.body),
    )
        .into_response()
}

/// Whether `If-None-Match` names `etag` or is `*` (see [`crate::http::etag::none_match`]).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    crate::http::etag::none_match(headers, etag)
}

#[cfg(test)]
mod tests;
