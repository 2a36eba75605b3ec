//! The HTML metadata pages, in ServiceStack's layout: `/metadata` (every operation, with a link
//! per format and language) and the operation page (`/{json|xml}/metadata?op=NAME&lang=…`):
//! "Requires Authentication", the routes, the DTOs in the chosen language, and sample HTTP
//! messages whose bodies are placeholder DTOs written by the real JSON and XML writers.
//!
//! The markup is laid out so that the page's text (its `<head>` and tags removed, entities
//! decoded) is exactly what the seed shows: the newlines that separate the seed's lines are the
//! only whitespace between elements.

use super::Lang;
use super::plan::{self, Target};
use crate::contract::operations::{OPERATIONS, Operation};
use crate::contract::{TypeDef, Value, WireType};
use crate::wire::{Format, json, xml};
use std::borrow::Cow;

/// The service's name, as the original's metadata pages show it.
pub const SERVICE_NAME: &str = "Evo Voice";

const STYLE: &str = "body{font-family:Helvetica,Arial,sans-serif;margin:1em 2em;color:#333}\
h1{font-size:1.6em}h2{font-size:1.3em;margin-top:1em}a{color:#0072c6}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left}\
pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;overflow:auto}\
.auth{color:#c00;font-weight:bold}";

/// `&`, `<`, `>`, `"` as entities.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn head(title: &str, extra: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <meta name=\"viewport\" content=\"width=device-width\">{extra}<style>{STYLE}</style></head>",
        escape(title)
    )
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        Format::Xml => "xml",
    }
}

/// `/metadata`: the operations and where each is described.
pub fn index() -> String {
    let mut out = head(SERVICE_NAME, "");
    out.push_str(&format!("<body><h1>{}</h1>\n\n", escape(SERVICE_NAME)));
    out.push_str("<p>The following operations are supported:</p>\n<table>");
    out.push_str("<tr><th>Operation</th><th>Formats</th><th>DTOs</th></tr>\n");
    for op in OPERATIONS {
        let name = op.name();
        out.push_str(&format!(
            "<tr><th>{name}</th><td><a href=\"/xml/metadata?op={name}\">XML</a> \
             <a href=\"/json/metadata?op={name}\">JSON</a></td><td>"
        ));
        for lang in Lang::ALL {
            out.push_str(&format!(
                "<a href=\"/xml/metadata?op={name}&amp;lang={}\">{}</a> ",
                lang.param(),
                escape(lang.title())
            ));
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n\n<p>Add ServiceStack Reference: ");
    for lang in Lang::ALL {
        out.push_str(&format!(
            "<a href=\"/types/{}\">{}</a> ",
            lang.param(),
            escape(lang.title())
        ));
    }
    out.push_str("<a href=\"/types/metadata\">metadata</a></p>\n</body></html>\n");
    out
}

/// The page of one operation, its samples in `format`, its DTOs in `lang`.
pub fn operation(op: &'static Operation, format: Format, lang: Lang, host: &str) -> String {
    let name = op.name();
    let fmt = format_name(format);
    let mut alternates = String::new();
    for other in Lang::ALL {
        alternates.push_str(&format!(
            "<link rel=\"alternate\" title=\"{}\" href=\"/{fmt}/metadata?op={name}&amp;lang={}\">",
            escape(other.title()),
            other.param()
        ));
    }
    let mut out = head(&format!("{name} | {SERVICE_NAME}"), &alternates);
    out.push_str(&format!("<body><h1>{}</h1>\n\n", escape(SERVICE_NAME)));
    out.push_str("<p><a href=\"/metadata\">&lt;back to all web services</a></p>\n\n");
    out.push_str(&format!("<h2>{name}</h2>\n\n"));
    if op.requires_auth {
        out.push_str("<div class=\"auth\">Requires Authentication</div>\n");
    }
    out.push_str("<div>The following routes are available for this service:</div>\n<table>");
    let rows: Vec<String> = op
        .routes
        .iter()
        .map(|r| {
            format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                r.verbs.join(","),
                escape(r.path)
            )
        })
        .collect();
    out.push_str(&rows.join("\n"));
    out.push_str("</table>\n\n\n");

    let decls = plan::declarations(&[op], Target::Page);
    let listing = lang.listing(&decls);
    out.push_str(&format!(
        "<pre class=\"dtos\">{}</pre>\n\n",
        escape(listing.trim_end())
    ));
    out.push_str(&format!("<p>{} {name} DTOs</p>\n\n", escape(lang.title())));
    out.push_str(&format!(
        "<p>To override the Content-type in your clients, use the HTTP Accept Header, \
         append the .{fmt} suffix or ?format={fmt}</p>\n\n"
    ));
    out.push_str(&format!("<h3>HTTP + {}</h3>\n\n", fmt.to_uppercase()));
    out.push_str(
        "<p>The following are sample HTTP requests and responses. \
         The placeholders shown need to be replaced with actual values.</p>\n\n",
    );
    let (request, response) = samples(op, format, host);
    out.push_str(&format!(
        "<pre class=\"request\">{}</pre>\n<pre class=\"response\">{}</pre></body></html>\n",
        escape(&request),
        escape(&response)
    ));
    out
}

/// The sample HTTP request and response of `op` in `format`.
pub fn samples(op: &'static Operation, format: Format, host: &str) -> (String, String) {
    let content_type = match format {
        Format::Json => "application/json",
        Format::Xml => "application/xml",
    };
    let route = op.routes.first();
    let path = route.map_or_else(
        || format!("/{}/reply/{}", format_name(format), op.name()),
        |r| r.path.to_string(),
    );
    let verb = route
        .and_then(|r| {
            r.verbs
                .iter()
                .find(|v| **v == "POST")
                .or(r.verbs.first())
                .copied()
        })
        .unwrap_or("POST");
    let mut request = format!("{verb} {path} HTTP/1.1 \nHost: {host} \nAccept: {content_type}\n");
    if !matches!(verb, "GET" | "HEAD" | "DELETE") {
        request.push_str(&format!(
            "Content-Type: {content_type}\nContent-Length: length\n\n{}",
            sample_body(op.request, format)
        ));
    }
    let response = format!(
        "HTTP/1.1 200 OK\nContent-Type: {content_type}\nContent-Length: length\n\n{}",
        sample_body(op.response, format)
    );
    (request, response)
}

/// A placeholder `ty` written by the real writer of `format`: XML indented as the seed shows
/// it, without the declaration; JSON as it goes on the wire.
pub fn sample_body(ty: &'static TypeDef, format: Format) -> String {
    let value = placeholder(ty, 0);
    let mut out = Vec::new();
    let written = match format {
        Format::Json => json::write(&mut out, ty, &value),
        Format::Xml => xml::write(&mut out, ty, &value),
    };
    if written.is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&out);
    match format {
        Format::Json => text.into_owned(),
        Format::Xml => indent_xml(&text),
    }
}

/// ServiceStack's placeholders: `String`, `false`, the lowest enum value, one list item, one
/// map entry, nested objects filled the same way (to a bounded depth).
pub fn placeholder(ty: &'static TypeDef, depth: usize) -> Value<'static> {
    Value::Object(
        ty.slots()
            .iter()
            .map(|slot| placeholder_of(&slot.member.ty, depth))
            .collect(),
    )
}

fn placeholder_of(ty: &'static WireType, depth: usize) -> Value<'static> {
    const TEXT: &str = "String";
    match ty {
        WireType::Text => Value::Text(Cow::Borrowed(TEXT)),
        WireType::Bool => Value::Bool(false),
        WireType::Int => Value::Text(Cow::Borrowed("0")),
        WireType::Enum(def) => Value::Text(Cow::Borrowed(plan::lowest(def))),
        WireType::List(inner) => Value::List(vec![placeholder_of(inner, depth + 1)]),
        WireType::StringMap => Value::Map(vec![(Cow::Borrowed(TEXT), Cow::Borrowed(TEXT))]),
        WireType::Object(_) if depth > 8 => Value::Null,
        WireType::Object(td) => placeholder(td, depth + 1),
    }
}

/// Indents a document of the XML writer by two spaces per level, an element holding only text
/// on one line. The writer escapes every `<` in text and attribute values, so each `<` starts
/// markup; the declaration is dropped (the seed's samples have none).
pub fn indent_xml(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len() * 2);
    let mut depth = 0usize;
    let mut last_was_text = false;
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + len + 1];
        rest = &rest[start + len + 1..];
        if !text.is_empty() {
            out.push_str(text);
            last_was_text = true;
        }
        if tag.starts_with("<?") {
            continue;
        }
        let closing = tag.starts_with("</");
        let empty = tag.ends_with("/>");
        if closing {
            depth = depth.saturating_sub(1);
            if !last_was_text {
                newline(&mut out, depth);
            }
        } else {
            newline(&mut out, depth);
            if !empty {
                depth += 1;
            }
        }
        out.push_str(tag);
        // `<A></A>`: an empty string, kept on one line.
        last_was_text = !closing && !empty;
    }
    out
}

fn newline(out: &mut String, depth: usize) {
    if !out.is_empty() {
        out.push('\n');
    }
    for _ in 0..depth {
        out.push_str("  ");
    }
}
