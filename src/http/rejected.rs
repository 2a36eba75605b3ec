//! Requests hyper refuses by itself, before the router sees them: a head it cannot parse (400)
//! or one over `max_header_bytes` or `max_headers` (431). hyper answers those with an empty
//! response of its own, and this API answers every failure with a ServiceStack
//! `ResponseStatus`; so the connection's socket ([`crate::server`]) shows [`replace`] what is
//! written while no request is in progress, and sends hyper's refusal as the same status with
//! an error body instead. The body is JSON, what ServiceStack answers a request that names no
//! format: nothing of a head that could not be read can be trusted to negotiate another.

use crate::contract::servicestack::ResponseStatus;
use crate::server::ConnectionLimits;
use crate::wire::{self, Format};

/// Whether a write is worth a closer look: a short head alone with an error's status line
/// (hyper's refusals are ~120 bytes; the server's own error responses have a body). Every one
/// of the server's own responses also carries `x-request-id` (the outermost layer adds it),
/// which [`replace`] does not accept, so none is ever rewritten.
pub fn may_be_refusal(buf: &[u8]) -> bool {
    buf.len() <= 256
        && buf.ends_with(b"\r\n\r\n")
        && (buf.starts_with(b"HTTP/1.1 4") || buf.starts_with(b"HTTP/1.1 5"))
}

/// hyper's own refusal (`HTTP/1.1 <status> <reason>`, then exactly `connection: close`,
/// `content-length: 0` and `date`, and no body) as a complete response with a ServiceStack
/// error body; `None` for anything else, which is written as it is.
pub fn replace(response: &[u8], limits: &ConnectionLimits) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(response).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let rest = status_line.strip_prefix("HTTP/1.1 ")?;
    let (code, reason) = rest.split_once(' ')?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (mut close, mut empty, mut date) = (false, false, None);
    for line in lines {
        let (name, value) = line.split_once(": ")?;
        match name.to_ascii_lowercase().as_str() {
            "connection" if value == "close" => close = true,
            "content-length" if value == "0" => empty = true,
            "date" => date = Some(value),
            _ => return None,
        }
    }
    let date = date.filter(|_| close && empty)?;
    let (error_code, message) = match code {
        "431" => (
            "RequestHeaderFieldsTooLarge".to_string(),
            format!(
                "The request's head is over {} bytes or {} header fields",
                limits.max_header_bytes, limits.max_headers
            ),
        ),
        "400" => (
            "BadRequest".to_string(),
            "The request is not well-formed HTTP/1.1".to_string(),
        ),
        _ => (reason.replace(' ', ""), reason.to_string()),
    };
    let body = wire::error_bytes(
        Format::Json,
        ResponseStatus {
            error_code,
            message,
            ..ResponseStatus::default()
        },
    );
    let mut out = format!(
        "{status_line}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\ndate: {date}\r\n\r\n",
        Format::Json.content_type(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Thu, 03 Dec 2026 11:25:44 GMT";

    fn refusal(status: &str) -> String {
        format!("HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n")
    }

    #[test]
    fn hypers_refusals_get_a_servicestack_body_with_their_status() {
        let limits = ConnectionLimits::default();
        let got = replace(
            refusal("431 Request Header Fields Too Large").as_bytes(),
            &limits,
        )
        .expect("rewritten");
        let body = r#"{"responseStatus":{"errorCode":"RequestHeaderFieldsTooLarge","message":"The request's head is over 16384 bytes or 100 header fields","errors":[]}}"#;
        let want = format!(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n{DATE}\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(String::from_utf8(got).unwrap(), want);

        let got = replace(refusal("400 Bad Request").as_bytes(), &limits).expect("rewritten");
        let body = r#"{"responseStatus":{"errorCode":"BadRequest","message":"The request is not well-formed HTTP/1.1","errors":[]}}"#;
        assert!(String::from_utf8(got).unwrap().ends_with(&format!(
            "content-length: {}\r\nconnection: close\r\n{DATE}\r\n\r\n{body}",
            body.len()
        )));
    }

    #[test]
    fn anything_else_is_left_as_it_is() {
        let limits = ConnectionLimits::default();
        let own = "HTTP/1.1 404 Not Found\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}";
        let with_more = format!(
            "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\nx-request-id: 1\r\n{DATE}\r\n\r\n"
        );
        let not_empty = format!(
            "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 5\r\n{DATE}\r\n\r\n"
        );
        let cut = &refusal("400 Bad Request")[..40];
        for other in [own, &with_more, &not_empty, cut, "HTTP/1.1 4xx Odd\r\n\r\n"] {
            assert_eq!(replace(other.as_bytes(), &limits), None, "{other}");
        }
    }
}
