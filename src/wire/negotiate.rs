//! Content negotiation and path normalisation, as ServiceStack does them, decided from the
//! request line and headers alone (before routing, so errors can use the result too).
//!
//! Precedence of the response format, highest first: a `.xml`/`.json` path extension,
//! `?format=`, a leading `/json/` or `/xml/` segment, the `Accept` header (ignored on `/api/*`
//! and `/json/reply/*`), JSON.

use super::Format;
use crate::contract::operations;
use std::sync::LazyLock;

/// Route shapes whose literal segments match case-insensitively; `*` is a variable. Learnt
/// from the operation table, so a new operation's routes are canonicalised too.
static ROUTE_SHAPES: LazyLock<Vec<Vec<&'static str>>> = LazyLock::new(operations::route_shapes);

/// The outcome of negotiation for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub format: Format,
    /// The path to route on when it differs from the request's: extension removed, literals
    /// in canonical case.
    pub rewritten_path: Option<String>,
}

/// The client accepts neither JSON nor XML: the message, and the format to say so in (the
/// path's `/xml/` or `/json/` prefix, else JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAcceptable(pub String, pub Format);

pub fn negotiate(
    path: &str,
    query: Option<&str>,
    accept: Option<&str>,
    content_type: Option<&str>,
) -> Result<Negotiated, NotAcceptable> {
    let (path, by_extension) = strip_extension(path);
    let normalized = normalize_literals(path);
    let routed = normalized.as_deref().unwrap_or(path);
    let rewritten_path =
        (by_extension.is_some() || normalized.is_some()).then(|| routed.to_string());

    let refused = |NotAcceptable(message, _)| {
        NotAcceptable(message, by_path_prefix(routed).unwrap_or_default())
    };
    let format = match by_extension
        .map(Ok)
        .or_else(|| query.and_then(query_format))
    {
        Some(f) => f.map_err(refused)?,
        None => by_path_prefix(routed).map(Ok).unwrap_or_else(|| {
            if ignores_accept(routed) {
                Ok(Format::Json)
            } else {
                from_accept(accept, content_type).map_err(refused)
            }
        })?,
    };
    Ok(Negotiated {
        format,
        rewritten_path,
    })
}

/// `/sessions/abc.xml` → (`/sessions/abc`, Xml). Only a known format counts as an extension, so
/// an id containing a dot stays whole.
fn strip_extension(path: &str) -> (&str, Option<Format>) {
    let last = path.rsplit('/').next().unwrap_or("");
    if let Some((stem, ext)) = last.rsplit_once('.')
        && !stem.is_empty()
        && let Some(format) = Format::from_name(ext)
    {
        return (&path[..path.len() - ext.len() - 1], Some(format));
    }
    (path, None)
}

/// Rewrites literal segments to their canonical (lower) case when the path has one of the
/// known shapes; None when nothing changes.
fn normalize_literals(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let shape = ROUTE_SHAPES.iter().find(|shape| {
        shape.len() == segments.len()
            && shape
                .iter()
                .zip(&segments)
                .all(|(lit, seg)| *lit == "*" || lit.eq_ignore_ascii_case(seg))
    })?;
    let mut changed = false;
    let canonical: Vec<&str> = shape
        .iter()
        .zip(&segments)
        .map(|(lit, seg)| {
            if *lit == "*" || lit == seg {
                *seg
            } else {
                changed = true;
                *lit
            }
        })
        .collect();
    changed.then(|| format!("/{}", canonical.join("/")))
}

/// `?format=`: None when absent or empty. A format this server does not write (ServiceStack's
/// `csv`, `jsv`, `html`, ...) is refused as an `Accept` it cannot meet is, rather than answered
/// in JSON the client did not ask for.
fn query_format(query: &str) -> Option<Result<Format, NotAcceptable>> {
    let (_, name) = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("format"))
        .filter(|(_, v)| !v.is_empty())?;
    Some(Format::from_name(&name).ok_or_else(|| {
        NotAcceptable(
            format!("The format '{name}' cannot be produced; use format=json or format=xml"),
            Format::Json,
        )
    }))
}

fn by_path_prefix(path: &str) -> Option<Format> {
    if path.starts_with("/json/") {
        Some(Format::Json)
    } else if path.starts_with("/xml/") {
        Some(Format::Xml)
    } else {
        None
    }
}

/// The JS and Python clients' `/api` routes are JSON endpoints whatever the Accept header says;
/// so is the OpenAPI document, which has no other form (a browser's Accept would pick XML);
/// so are the Server Events paths (an EventSource accepts only `text/event-stream`), and the
/// metadata pages and `/types` (HTML and source text: a client asking for exactly that is
/// answered; their errors are JSON).
fn ignores_accept(path: &str) -> bool {
    path.starts_with("/api/")
        || path == operations::OPENAPI_ROUTE
        || path == "/metadata"
        || path == "/types"
        || path.starts_with("/types/")
        || [
            operations::EVENT_STREAM,
            operations::EVENT_HEARTBEAT,
            operations::EVENT_UNREGISTER,
        ]
        .contains(&path)
}

/// ServiceStack's Accept rules: q-values ignored; the request's own Content-Type wins when it
/// is accepted; otherwise the server's preference (JSON, then XML); `*/*` means "like the
/// request", else JSON.
fn from_accept(accept: Option<&str>, content_type: Option<&str>) -> Result<Format, NotAcceptable> {
    let request_format = content_type.and_then(Format::from_media_type);
    let accept = accept.map(str::trim).unwrap_or("");
    if accept.is_empty() {
        return Ok(request_format.unwrap_or_default());
    }
    let mut accepted = Vec::new();
    let mut anything = false;
    let mut ranges = 0;
    for item in accept.split(',') {
        let media = item
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        // What is not a media range (`*`, `application`, an empty item) says nothing.
        if !media
            .split_once('/')
            .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty())
        {
            continue;
        }
        ranges += 1;
        match media.as_str() {
            "*/*" | "application/*" => anything = true,
            "text/*" => accepted.push(Format::Xml),
            other => accepted.extend(Format::from_media_type(other)),
        }
    }
    if let Some(f) = request_format.filter(|f| accepted.contains(f)) {
        return Ok(f);
    }
    for preferred in [Format::Json, Format::Xml] {
        if accepted.contains(&preferred) {
            return Ok(preferred);
        }
    }
    if anything || ranges == 0 {
        return Ok(request_format.unwrap_or_default());
    }
    Err(NotAcceptable(
        format!(
            "None of the accepted media types ({accept}) can be produced; \
             use application/json or application/xml"
        ),
        Format::Json,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(path: &str, query: Option<&str>, accept: Option<&str>, ct: Option<&str>) -> Format {
        negotiate(path, query, accept, ct).unwrap().format
    }

    #[test]
    fn extension_beats_query_beats_prefix_beats_accept() {
        assert_eq!(
            fmt(
                "/sessions/a.xml",
                Some("format=json"),
                Some("application/json"),
                None
            ),
            Format::Xml
        );
        assert_eq!(
            fmt(
                "/sessions/a",
                Some("format=xml"),
                Some("application/json"),
                None
            ),
            Format::Xml
        );
        assert_eq!(
            fmt(
                "/xml/reply/GetSession",
                None,
                Some("application/json"),
                None
            ),
            Format::Xml
        );
        assert_eq!(
            fmt("/sessions/a", None, Some("application/xml"), None),
            Format::Xml
        );
        assert_eq!(fmt("/sessions/a", None, None, None), Format::Json);
    }

    #[test]
    fn extension_is_stripped_and_literals_are_canonicalised() {
        let n = negotiate("/Sessions/AbC.XML", None, None, None).unwrap();
        assert_eq!(n.rewritten_path.as_deref(), Some("/sessions/AbC"));
        assert_eq!(n.format, Format::Xml);
        let n = negotiate("/JSON/Reply/PatchSession", None, None, None).unwrap();
        assert_eq!(
            n.rewritten_path.as_deref(),
            Some("/json/reply/PatchSession")
        );
        assert_eq!(
            negotiate("/sessions/abc", None, None, None)
                .unwrap()
                .rewritten_path,
            None
        );
    }

    #[test]
    fn a_query_format_this_server_does_not_write_is_not_acceptable() {
        for query in ["format=csv", "format=JSV", "x=1&format=html"] {
            let err = negotiate("/sessions/a", Some(query), Some("application/json"), None)
                .expect_err(query);
            assert!(err.0.contains("cannot be produced"), "{query}: {err:?}");
        }
        assert_eq!(
            fmt("/sessions/a", Some("format=XML"), None, None),
            Format::Xml
        );
        // Empty is absent; an extension still comes first.
        assert_eq!(
            fmt("/sessions/a", Some("format="), None, None),
            Format::Json
        );
        assert_eq!(
            fmt("/sessions/a.xml", Some("format=csv"), None, None),
            Format::Xml
        );
    }

    #[test]
    fn an_id_with_an_unknown_extension_stays_whole() {
        let n = negotiate("/sessions/a.b", None, None, None).unwrap();
        assert_eq!(n.rewritten_path, None);
    }

    #[test]
    fn accept_prefers_the_request_content_type_then_json() {
        let both = Some("application/json, application/xml");
        assert_eq!(
            fmt("/sessions/a", None, both, Some("application/xml")),
            Format::Xml
        );
        assert_eq!(fmt("/sessions/a", None, both, None), Format::Json);
        assert_eq!(
            fmt("/sessions/a", None, Some("*/*"), Some("text/xml")),
            Format::Xml
        );
        assert_eq!(fmt("/sessions/a", None, Some("*/*"), None), Format::Json);
        assert_eq!(
            fmt("/sessions/a", None, Some("text/xml;q=0.5"), None),
            Format::Xml
        );
    }

    #[test]
    fn api_routes_ignore_accept() {
        assert_eq!(
            fmt("/api/GetSession", None, Some("application/xml"), None),
            Format::Json
        );
        assert_eq!(
            fmt("/api/GetSession", Some("format=xml"), None, None),
            Format::Xml
        );
    }

    #[test]
    fn the_openapi_document_ignores_accept_and_its_path_case() {
        let n = negotiate(
            "/OpenAPI",
            None,
            Some("application/vnd.oai.openapi+json"),
            None,
        );
        let n = n.unwrap();
        assert_eq!(n.format, Format::Json);
        assert_eq!(n.rewritten_path.as_deref(), Some("/openapi"));
        assert_eq!(
            fmt(
                "/openapi",
                None,
                Some("text/html,application/xml;q=0.9"),
                None
            ),
            Format::Json
        );
    }

    #[test]
    fn an_accept_allowing_neither_format_is_not_acceptable() {
        assert!(negotiate("/sessions/a", None, Some("image/png"), None).is_err());
        assert!(negotiate("/sessions/a", None, Some("text/html"), None).is_err());
    }

    #[test]
    fn an_accept_without_a_media_range_says_nothing() {
        for accept in ["*", ",,,", "application", "/json", "application/"] {
            assert_eq!(
                fmt("/sessions/a", None, Some(accept), None),
                Format::Json,
                "{accept}"
            );
            assert_eq!(
                fmt("/sessions/a", None, Some(accept), Some("application/xml")),
                Format::Xml,
                "{accept}: like the request"
            );
        }
        // Beside a real range, only the range counts.
        assert!(negotiate("/sessions/a", None, Some("*, image/png"), None).is_err());
    }

    #[test]
    fn the_metadata_pages_and_types_ignore_accept() {
        for path in ["/metadata", "/types", "/types/typescript", "/Types/CSharp"] {
            for accept in ["text/html", "text/plain", "image/png"] {
                assert_eq!(
                    fmt(path, None, Some(accept), None),
                    Format::Json,
                    "{path} {accept}"
                );
            }
        }
    }

    #[test]
    fn not_acceptable_is_said_in_the_format_the_path_names() {
        let refused = |path, query| {
            negotiate(path, query, Some("image/png"), None)
                .unwrap_err()
                .1
        };
        assert_eq!(
            refused("/xml/reply/GetSession", Some("format=csv")),
            Format::Xml
        );
        assert_eq!(
            refused("/json/reply/GetSession", Some("format=csv")),
            Format::Json
        );
        assert_eq!(refused("/sessions/a", None), Format::Json);
        assert_eq!(refused("/xml/metadata", Some("format=jsv")), Format::Xml);
    }
}
