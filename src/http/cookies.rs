//! ServiceStack's session cookies: `ss-id` (session cookie), `ss-pid` (permanent) and `ss-opt`
//! (`perm` when the live session id is in `ss-pid`). All are `Path=/`, `HttpOnly`,
//! `SameSite=Lax`, and `Secure` when the request came over https (directly or, behind a proxy,
//! as `X-Forwarded-Proto: https`).

use crate::login::{Login, new_login_session_id};
use axum::http::{HeaderValue, header, request::Parts};
use axum::response::Response;
use std::time::Duration;

fn is_https(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https")
        || parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// One `Set-Cookie` value; `max_age` None makes a browser-session cookie.
fn cookie(name: &str, value: &str, max_age: Option<Duration>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    c.push_str("; SameSite=Lax; HttpOnly");
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie names and base64url values are valid header text")
}

/// Sets the cookies of a new login: the live id goes in `ss-pid` with rememberMe (kept for the
/// session's lifetime), else in the browser-session `ss-id`; the other cookie gets a fresh
/// random id that is no session, as ServiceStack always issues both.
pub fn set_login_session(res: &mut Response, parts: &Parts, login: &Login) {
    let secure = is_https(parts);
    let other = new_login_session_id();
    let (id, pid, opt) = if login.remember_me {
        (other.as_str(), login.session_id.as_str(), "perm")
    } else {
        (login.session_id.as_str(), other.as_str(), "temp")
    };
    let headers = res.headers_mut();
    headers.append(header::SET_COOKIE, cookie("ss-id", id, None, secure));
    headers.append(
        header::SET_COOKIE,
        cookie("ss-pid", pid, Some(login.ttl), secure),
    );
    headers.append(
        header::SET_COOKIE,
        cookie("ss-opt", opt, Some(login.ttl), secure),
    );
}

/// Deletes the session cookies (ServiceStack leaves `ss-opt`).
pub fn clear_login_session(res: &mut Response, parts: &Parts) {
    let secure = is_https(parts);
    let headers = res.headers_mut();
    for name in ["ss-id", "ss-pid"] {
        headers.append(
            header::SET_COOKIE,
            cookie(name, "", Some(Duration::ZERO), secure),
        );
    }
}
