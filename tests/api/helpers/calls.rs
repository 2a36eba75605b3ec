//! Typed calls: `app.patch_session(id, &json!({..})).signed_in_as(&AGENT).await` reads as the
//! request it sends. A [`Call`] is a request being built; awaiting it sends it and gives a
//! [`Response`] (status, headers, body text, how long it took).

use super::app::TestApp;
use super::fixtures::User;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::{Duration, Instant};

/// The request content type of a JSON body.
pub const JSON: &str = "application/json";
pub const JSON_UTF8: &str = "application/json; charset=utf-8";
pub const XML: &str = "application/xml";
pub const FORM: &str = "application/x-www-form-urlencoded";
/// The `WWW-Authenticate` of every 401.
pub const CHALLENGE: &str = "basic realm=\"/auth/basic\"";

/// A request being built; `.await` sends it.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call {
    req: reqwest::RequestBuilder,
}

impl Call {
    pub fn new(req: reqwest::RequestBuilder) -> Call {
        Call { req }
    }

    /// HTTP Basic credentials.
    pub fn basic(self, user: &str, password: &str) -> Call {
        Call::new(self.req.basic_auth(user, Some(password)))
    }

    /// HTTP Basic credentials of a fixture user.
    pub fn signed_in_as(self, user: &User) -> Call {
        self.basic(user.email, user.password)
    }

    /// `Authorization: Bearer {token}`.
    pub fn bearer(self, token: &str) -> Call {
        Call::new(self.req.bearer_auth(token))
    }

    /// A `Cookie` header as given (a replayed, partial or bogus set of cookies).
    pub fn cookie(self, cookies: &str) -> Call {
        self.header("Cookie", cookies)
    }

    /// The cookies a browser sends back after `login`.
    pub fn with_login(self, login: &Login) -> Call {
        self.header("Cookie", &login.cookie_header())
    }

    pub fn header(self, name: &str, value: &str) -> Call {
        Call::new(self.req.header(name, value))
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json(self, body: &Value) -> Call {
        self.body(JSON, body.to_string())
    }

    /// A JSON body given as text (malformed JSON, exact bytes).
    pub fn json_text(self, body: impl Into<reqwest::Body>) -> Call {
        self.body(JSON, body)
    }

    /// `Accept: {media_type}`.
    pub fn accept(self, media_type: &str) -> Call {
        self.header("Accept", media_type)
    }

    /// An `Authorization` header as given (a Basic header of a key, an undecodable one, ...).
    pub fn authorization(self, value: &str) -> Call {
        self.header("Authorization", value)
    }

    /// Sends and reads the answer as a login (its cookies parsed).
    pub async fn login(self) -> Login {
        Login::from_response(self.await)
    }

    /// A body of any content type.
    pub fn body(self, content_type: &str, body: impl Into<reqwest::Body>) -> Call {
        Call::new(self.req.header("Content-Type", content_type).body(body))
    }

    /// A body with `content_type`, or without a `Content-Type` when it is `None`.
    pub fn body_as(self, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> Call {
        match content_type {
            Some(ct) => self.body(ct, body),
            None => self.raw_body(body),
        }
    }

    /// A body without a `Content-Type`.
    pub fn raw_body(self, body: impl Into<reqwest::Body>) -> Call {
        Call::new(self.req.body(body))
    }

    /// The underlying request, for what the typed calls do not cover.
    pub fn into_request(self) -> reqwest::RequestBuilder {
        self.req
    }

    /// Sends; an error when no answer came (e.g. the server refused the connection).
    pub async fn try_send(self) -> reqwest::Result<Response> {
        let started = Instant::now();
        let res = self.req.send().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await?;
        Ok(Response {
            status,
            headers,
            text,
            took: started.elapsed(),
        })
    }
}

impl IntoFuture for Call {
    type Output = Response;
    type IntoFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.try_send().await.expect("the server answers") })
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// From sending the request to the whole body.
    pub took: Duration,
}

impl Response {
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.status, self.text))
    }

    /// The body as JSON, or `Null` when it is not JSON.
    pub fn json_or_null(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    /// `Content-Type`, or "" without one.
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// The `Set-Cookie` headers, parsed.
    pub fn cookies(&self) -> Vec<SetCookie> {
        set_cookies(&self.headers)
    }

    /// The ServiceStack `ResponseStatus.ErrorCode`, from a JSON or an XML body ("" if none).
    pub fn error_code(&self) -> String {
        self.json_or_null()["responseStatus"]["errorCode"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                self.text
                    .split("<ErrorCode>")
                    .nth(1)
                    .and_then(|r| r.split('<').next())
                    .unwrap_or("")
                    .to_string()
            })
    }

    /// The parts of a JSON answer a test compares whole (see [`Reply`]).
    pub fn reply(&self) -> Reply {
        Reply {
            status: self.status,
            content_type: self.header("content-type").map(str::to_owned),
            www_authenticate: self.header("www-authenticate").map(str::to_owned),
            body: if self.text.is_empty() {
                Value::Null
            } else {
                self.json()
            },
        }
    }

    /// Asserts a 401 with the Basic challenge and exactly `body` (JSON).
    pub fn assert_401(&self, body: &str) {
        assert_eq!(self.status, 401, "{}", self.text);
        assert_eq!(self.header("www-authenticate"), Some(CHALLENGE));
        assert_eq!(self.content_type(), JSON_UTF8);
        assert_eq!(self.text, body);
    }
}

/// Status, the headers that matter, and the parsed JSON body: what most tests compare whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub www_authenticate: Option<String>,
    pub body: Value,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            content_type: Some(JSON_UTF8.into()),
            www_authenticate: None,
            body,
        }
    }

    /// A ServiceStack error in JSON.
    pub fn error(status: u16, code: &str, message: &str, errors: Value) -> Reply {
        Reply {
            status,
            content_type: Some(JSON_UTF8.into()),
            www_authenticate: None,
            body: json!({"responseStatus": {"errorCode": code, "message": message, "errors": errors}}),
        }
    }

    /// 401 with the Basic challenge.
    pub fn unauthorized(message: &str) -> Reply {
        Reply {
            www_authenticate: Some(CHALLENGE.into()),
            ..Reply::error(401, "Unauthorized", message, json!([]))
        }
    }
}

/// A ServiceStack `ResponseStatus` body without field errors, as JSON text.
pub fn status_json(code: &str, message: &str) -> String {
    format!(r#"{{"responseStatus":{{"errorCode":"{code}","message":"{message}","errors":[]}}}}"#)
}

pub fn not_authenticated() -> String {
    status_json("Unauthorized", "Not Authenticated")
}

pub fn invalid_credentials() -> String {
    status_json("Unauthorized", "Invalid Username or Password")
}

/// One `Set-Cookie`: name, value, and its attributes with lower-cased names (they are
/// case-insensitive), e.g. `path=/`, `samesite=lax`, `httponly`, `max-age=43200`, `secure`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub attrs: BTreeSet<String>,
}

pub fn set_cookies(headers: &HeaderMap) -> Vec<SetCookie> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| {
            let text = v.to_str().unwrap();
            let mut parts = text.split(';').map(str::trim);
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            let attrs = parts
                .filter(|a| !a.is_empty())
                .map(|a| match a.split_once('=') {
                    Some((k, v)) if k.eq_ignore_ascii_case("samesite") => {
                        format!("samesite={}", v.to_ascii_lowercase())
                    }
                    Some((k, v)) => format!("{}={v}", k.to_ascii_lowercase()),
                    None => a.to_ascii_lowercase(),
                })
                .collect();
            SetCookie {
                name: name.into(),
                value: value.into(),
                attrs,
            }
        })
        .collect()
}

/// What a login answered, with its cookies.
#[derive(Debug, Clone)]
pub struct Login {
    pub response: Response,
    pub cookies: Vec<SetCookie>,
}

impl Login {
    pub fn from_response(response: Response) -> Login {
        Login {
            cookies: response.cookies(),
            response,
        }
    }

    pub fn status(&self) -> u16 {
        self.response.status
    }

    pub fn body(&self) -> &str {
        &self.response.text
    }

    pub fn json(&self) -> Value {
        self.response.json()
    }

    pub fn cookie(&self, name: &str) -> &SetCookie {
        self.cookies
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} cookie in {:?}", self.cookies))
    }

    /// The `Cookie` header a browser would send back.
    pub fn cookie_header(&self) -> String {
        ["ss-id", "ss-pid", "ss-opt"]
            .iter()
            .map(|n| format!("{n}={}", self.cookie(n).value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The live session id: ss-pid when ss-opt is perm, else ss-id.
    pub fn live_id(&self) -> String {
        if self.cookie("ss-opt").value == "perm" {
            self.cookie("ss-pid").value.clone()
        } else {
            self.cookie("ss-id").value.clone()
        }
    }
}

/// The typed calls, on a server at `base_url` with client `http`: implemented for [`TestApp`]
/// and for [`Remote`] (a server process).
pub trait Api {
    fn http(&self) -> &reqwest::Client;
    fn base_url(&self) -> &str;

    fn request(&self, method: Method, path: &str) -> Call {
        Call::new(
            self.http()
                .request(method, format!("{}{path}", self.base_url())),
        )
    }

    fn get(&self, path: &str) -> Call {
        self.request(Method::GET, path)
    }

    fn patch(&self, path: &str) -> Call {
        self.request(Method::PATCH, path)
    }

    fn post(&self, path: &str) -> Call {
        self.request(Method::POST, path)
    }

    fn delete(&self, path: &str) -> Call {
        self.request(Method::DELETE, path)
    }

    /// `{method} /api/{op}`: ServiceStack's predefined route of an operation (`op` may carry a
    /// query string, e.g. `GetSession?sessionId=..`).
    fn api(&self, method: Method, op: &str) -> Call {
        self.request(method, &format!("/api/{op}"))
    }

    /// `{method} /json/reply/{op}`.
    fn json_reply(&self, method: Method, op: &str) -> Call {
        self.request(method, &format!("/json/reply/{op}"))
    }

    /// `{method} /xml/reply/{op}`.
    fn xml_reply(&self, method: Method, op: &str) -> Call {
        self.request(method, &format!("/xml/reply/{op}"))
    }

    /// A handle on the same server for another task (same client, so same connection pool).
    fn remote(&self) -> Remote {
        Remote {
            base_url: self.base_url().to_string(),
            http: self.http().clone(),
        }
    }

    /// `GET /sessions/{id}`.
    fn get_session(&self, id: &str) -> Call {
        self.get(&format!("/sessions/{id}"))
    }

    /// `GET /sessions/{id}` with `Accept: application/xml`.
    fn get_session_xml(&self, id: &str) -> Call {
        self.get_session(id).header("Accept", XML)
    }

    /// `PATCH /sessions/{id}` with a JSON body.
    fn patch_session(&self, id: &str, body: &Value) -> Call {
        self.patch(&format!("/sessions/{id}")).json(body)
    }

    /// `PATCH /sessions/{id}` with a JSON body given as text (malformed, exact bytes).
    fn patch_session_text(&self, id: &str, body: impl Into<reqwest::Body>) -> Call {
        self.patch(&format!("/sessions/{id}")).json_text(body)
    }

    /// `PATCH /sessions/{id}` with a DataContract XML body.
    fn patch_session_xml(&self, id: &str, body: impl Into<reqwest::Body>) -> Call {
        self.patch(&format!("/sessions/{id}")).body(XML, body)
    }

    /// `POST {route}` to the Authenticate operation (`/auth/credentials`, `/auth`,
    /// `/api/Authenticate`, ...); the body is the caller's.
    fn authenticate(&self, route: &str) -> Call {
        self.post(route)
    }

    /// `POST /auth/credentials` with a JSON body; the answer is not checked.
    fn try_login(
        &self,
        user: &str,
        password: &str,
        remember_me: bool,
    ) -> impl Future<Output = Login> + Send {
        self.authenticate("/auth/credentials")
            .json(&json!({"userName": user, "password": password, "rememberMe": remember_me}))
            .login()
    }

    /// A successful login of a fixture user: asserts 200.
    fn login(&self, user: &User, remember_me: bool) -> impl Future<Output = Login> + Send {
        let attempt = self.try_login(user.email, user.password, remember_me);
        async move {
            let login = attempt.await;
            assert_eq!(login.status(), 200, "login failed: {}", login.body());
            login
        }
    }

    /// `POST /auth/logout`.
    fn logout(&self) -> Call {
        self.post("/auth/logout")
    }

    /// `GET /auth/status`.
    fn auth_status(&self) -> Call {
        self.get("/auth/status")
    }
}

impl Api for TestApp {
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
    fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// A server known only by its URL (another process), with a client of its own.
#[derive(Clone)]
pub struct Remote {
    pub base_url: String,
    pub http: reqwest::Client,
}

impl Remote {
    pub fn new(base_url: &str) -> Remote {
        Remote {
            base_url: base_url.to_string(),
            http: reqwest::Client::new(),
        }
    }
}

impl Api for Remote {
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
    fn base_url(&self) -> &str {
        &self.base_url
    }
}
