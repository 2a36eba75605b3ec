//! Entity tags: `If-None-Match` (304 for what the client holds) and `If-Match` (a write only
//! against the version the client saw), shared by every cacheable or versioned answer.

use axum::http::{HeaderMap, HeaderValue, header};

/// A strong entity tag for a session version.
pub fn of_version(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits in quotes are a header value")
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for it) or is `*`.
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// The session versions `If-Match` accepts: `None` without the header or with `*` (any
/// version); otherwise the strong tags of ours it lists, over every `If-Match` line (RFC 9110:
/// any of them matches). A weak tag never matches for If-Match, and a tag that is not one of
/// ours names no version, so a list of only those is empty: the write is refused as stale.
pub fn if_match(headers: &HeaderMap) -> Option<Vec<i64>> {
    let mut lines = headers.get_all(header::IF_MATCH).iter().peekable();
    lines.peek()?;
    let tags: Vec<&str> = lines
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .collect();
    if tags.contains(&"*") {
        return None;
    }
    Some(
        tags.iter()
            .filter_map(|t| t.strip_prefix('"')?.strip_suffix('"')?.parse().ok())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn if_match_takes_a_strong_tag_and_refuses_weak_or_foreign_ones() {
        assert_eq!(if_match(&HeaderMap::new()), None);
        assert_eq!(if_match(&headers(header::IF_MATCH, "*")), None);
        assert_eq!(if_match(&headers(header::IF_MATCH, "\"7\"")), Some(vec![7]));
        assert_eq!(
            if_match(&headers(header::IF_MATCH, "W/\"7\"")),
            Some(vec![])
        );
        assert_eq!(
            if_match(&headers(header::IF_MATCH, "\"abc\"")),
            Some(vec![])
        );
        assert_eq!(
            if_match(&headers(header::IF_MATCH, "\"1\", W/\"2\", \"29\"")),
            Some(vec![1, 29])
        );
        let mut two = headers(header::IF_MATCH, "\"3\"");
        two.append(header::IF_MATCH, "\"5\"".parse().unwrap());
        assert_eq!(if_match(&two), Some(vec![3, 5]));
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        assert!(none_match(
            &headers(header::IF_NONE_MATCH, "W/\"3\", \"4\""),
            "\"3\""
        ));
        assert!(none_match(&headers(header::IF_NONE_MATCH, "*"), "\"3\""));
        assert!(!none_match(
            &headers(header::IF_NONE_MATCH, "\"4\""),
            "\"3\""
        ));
        assert!(!none_match(&HeaderMap::new(), "\"3\""));
    }
}
