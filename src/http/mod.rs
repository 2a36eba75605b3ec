//! HTTP routing. [`router`] is the whole API as one axum `Router`: the routes, and around them
//! the wire layer that negotiates the format, normalises the path and renders every error as a
//! ServiceStack `ResponseStatus`.

mod cookies;
pub mod etag;
mod health;
pub mod held;
mod input;
mod observe;
pub mod rejected;
mod routes;

pub use input::{Binding, RequestInput, decoded_pairs};

use crate::AppState;
use crate::error::ApiError;
use crate::wire::negotiate::{NotAcceptable, negotiate};
use crate::wire::{self, Format, JSON_CONTENT_TYPE, XML_CONTENT_TYPE};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::Response;

/// The application: every route, wrapped in the wire layer.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let request_timeout = state.config.request_timeout;
    let cors = cors_layer(&state.config.cors_origins);
    let routes = routes::routes()
        .route_layer(middleware::from_fn(observe::record_route))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            (request_timeout, state.pool.clone()),
            observe::time_limit,
        ))
        // A bug that panics a handler answers 500 with a ResponseStatus (and is logged), not a
        // connection closed without a word.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .with_state(state);
    // The wire layer must see the request before routing (it rewrites the path), and
    // `Router::layer` runs after matching; wrapping the routes as the fallback service of an
    // outer router puts the layer in front of matching.
    let app = Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn_with_state(
            (limit, request_timeout),
            wire_layer,
        ));
    // CORS outside the wire layer, so preflights are answered before routing (they would
    // otherwise be 405s); the request log outside everything, so it sees every answer.
    let app = match cors {
        // tower-http sends Allow-Credentials whatever the origin; keep it to the listed ones.
        Some(cors) => app.layer(cors).layer(axum::middleware::map_response(
            only_allowed_origins_get_credentials,
        )),
        None => app,
    };
    app.layer(middleware::from_fn(observe::log_requests))
}

fn panicked(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let text = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    axum::response::IntoResponse::into_response(ApiError::internal(format_args!(
        "a handler panicked: {text}"
    )))
}

async fn only_allowed_origins_get_credentials(mut res: Response) -> Response {
    if !res
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        res.headers_mut()
            .remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    }
    res
}

/// CORS for browser clients such as `@servicestack/client`, which sends `credentials:
/// 'include'` and an `Authorization` header: only the listed origins are allowed, and only
/// they get `Access-Control-Allow-Credentials`.
fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim().trim_end_matches('/')).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let headers = [
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::ACCEPT,
        HeaderName::from_static("x-http-method-override"),
        HeaderName::from_static("x-ss-id"),
        HeaderName::from_static("x-ss-pid"),
        HeaderName::from_static("x-ss-opt"),
        HeaderName::from_static("x-requested-with"),
    ];
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers(headers)
            .max_age(std::time::Duration::from_secs(3600)),
    )
}

/// The negotiated response format, available to every handler.
impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Format>()
            .copied()
            .unwrap_or_default())
    }
}

fn header_str(req: &Request, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Negotiates the format and normalises the path, runs the routes, then renders any error
/// in the negotiated format — including rejections from layers and extractors we do not own.
async fn wire_layer(
    State((body_limit, request_timeout)): State<(usize, std::time::Duration)>,
    req: Request,
    next: Next,
) -> Response {
    let mut req = req;
    let negotiated = negotiate(
        req.uri().path(),
        req.uri().query(),
        header_str(&req, header::ACCEPT),
        header_str(&req, header::CONTENT_TYPE),
    );
    let format = match negotiated {
        Ok(n) => {
            if let Some(path) = n.rewritten_path {
                rewrite_path(&mut req, &path);
            }
            n.format
        }
        Err(NotAcceptable(message, format)) => {
            let err = ApiError::new(StatusCode::NOT_ACCEPTABLE, "NotAcceptable", message);
            return render_error(format, err);
        }
    };
    let mut req = match apply_method_override(req, body_limit, request_timeout).await {
        Ok(req) => req,
        Err(err) => return render_error(format, err),
    };
    req.extensions_mut().insert(format);
    let mut res = next.run(req).await;
    if let Some(err) = res.extensions_mut().remove::<ApiError>() {
        // Keep what inner layers recorded (the matched route, for the request log), and the
        // `Allow` axum puts on a 405 (RFC 9110 requires it; schemathesis found it missing).
        let extensions = std::mem::take(res.extensions_mut());
        let allow = res.headers_mut().remove(header::ALLOW);
        res = render_error(format, err);
        *res.extensions_mut() = extensions;
        if let Some(allow) = allow {
            res.headers_mut().insert(header::ALLOW, allow);
        }
    } else if (res.status().is_client_error() || res.status().is_server_error())
        && !is_wire_body(&res)
    {
        let extensions = std::mem::take(res.extensions_mut());
        res = render_foreign_error(format, res).await;
        *res.extensions_mut() = extensions;
    }
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    res
}

/// The name ServiceStack reads the verb override from, in a header, the query or a form field.
const METHOD_OVERRIDE: &str = "X-Http-Method-Override";

/// Applies `X-Http-Method-Override` as ServiceStack's hosts do: the header, else the query
/// string, else a field of an urlencoded form body; for any original verb. Reading the form
/// means buffering the body (bounded), which is then handed on unchanged.
async fn apply_method_override(
    mut req: Request,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Request, ApiError> {
    // Only a POST is overridden: real clients override POST, and letting a query string turn
    // a GET (a link) into a PATCH would let other sites change data with a visitor's cookies.
    if req.method() != Method::POST {
        return Ok(req);
    }
    let from_header =
        header_str(&req, HeaderName::from_static("x-http-method-override")).map(str::to_owned);
    let from_query = || {
        req.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k.eq_ignore_ascii_case(METHOD_OVERRIDE))
                .map(|(_, v)| v.into_owned())
        })
    };
    let mut verb = from_header.or_else(from_query);
    if verb.is_none()
        && header_str(&req, header::CONTENT_TYPE).is_some_and(input::is_urlencoded_form)
    {
        let (mut parts, body) = req.into_parts();
        // Read before routing, so bounded by the request time limit here too; the limit then
        // counts from here, not again from the routing (one limit for the whole request).
        parts.extensions.insert(observe::Arrived::now());
        let bytes = tokio::time::timeout(timeout, input::read_body(&parts, body, limit))
            .await
            .map_err(|_| ApiError::body_timeout(timeout))??;
        verb = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k.eq_ignore_ascii_case(METHOD_OVERRIDE))
            .map(|(_, v)| v.into_owned());
        // The body goes on decoded: its coding and length no longer describe it.
        parts.headers.remove(header::CONTENT_ENCODING);
        parts.headers.remove(header::CONTENT_LENGTH);
        req = Request::from_parts(parts, Body::from(bytes));
    }
    if let Some(verb) = verb.filter(|v| !v.trim().is_empty()) {
        let method =
            Method::from_bytes(verb.trim().to_ascii_uppercase().as_bytes()).map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "ArgumentException",
                    format!("Invalid {METHOD_OVERRIDE} value '{verb}'"),
                )
            })?;
        *req.method_mut() = method;
    }
    Ok(req)
}

fn rewrite_path(req: &mut Request, path: &str) {
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

fn is_wire_body(res: &Response) -> bool {
    matches!(
        res.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some(JSON_CONTENT_TYPE | XML_CONTENT_TYPE)
    )
}

/// The full error response: status, ServiceStack body, and the error's headers.
pub fn render_error(format: Format, err: ApiError) -> Response {
    let mut res = wire::error_body(format, err.response_status());
    *res.status_mut() = err.status;
    error_headers(&mut res, &err);
    res
}

/// `WWW-Authenticate` for a 401 challenge, `Retry-After` while locked out.
pub fn error_headers(res: &mut Response, err: &ApiError) {
    if err.challenge {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(crate::error::BASIC_CHALLENGE),
        );
    }
    if let Some(secs) = err.retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

/// A plain-text error from a layer or extractor outside our control (a path that fails to
/// decode, a timeout): keep its status and text, in a ServiceStack body.
async fn render_foreign_error(format: Format, res: Response) -> Response {
    let status = res.status();
    let text = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = status
        .canonical_reason()
        .unwrap_or("Error")
        .replace(' ', "");
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_string()
    } else {
        text
    };
    render_error(format, ApiError::new(status, code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_an_internal_error_the_wire_layer_renders() {
        for cause in [
            Box::new("boom") as Box<dyn std::any::Any + Send>,
            Box::new(String::from("boom")),
            Box::new(7_u8),
        ] {
            let res = panicked(cause);
            assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
            let status = res
                .extensions()
                .get::<ApiError>()
                .expect("the error travels to the wire layer")
                .response_status();
            assert_eq!(status.error_code, "InternalServerError");
            assert_eq!(
                status.message,
                "An internal error occurred; it has been logged"
            );
        }
    }
}
