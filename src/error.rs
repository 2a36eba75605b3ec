//! The one error type of the HTTP API. Every failure becomes a ServiceStack `ResponseStatus`
//! body; the negotiation layer ([`crate::http::negotiate`]) renders it in the request's format,
//! because an error created deep in a handler cannot see the request.

use crate::contract::servicestack::{ResponseError, ResponseStatus};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

/// The challenge ServiceStack's BasicAuthProvider sends (provider name, then its realm).
pub const BASIC_CHALLENGE: &str = "basic realm=\"/auth/basic\"";

/// Crate-wide result for request handling.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// An error answered to a client: status, ServiceStack `errorCode`, message and field errors.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_code: Cow<'static, str>,
    pub message: String,
    pub errors: Vec<ResponseError>,
    /// Sent as `WWW-Authenticate` so clients (.NET's) know to retry with Basic credentials.
    pub challenge: bool,
    /// Sent as `Retry-After` (seconds), e.g. while a user name is locked.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        msg: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            error_code: code.into(),
            message: msg.into(),
            errors: Vec::new(),
            challenge: false,
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// A request body or value that cannot be read into the request DTO.
    pub fn serialization(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "SerializationException", msg)
    }

    /// A value that cannot be bound to a field of request `op`: ServiceStack's wording, one
    /// `errors` entry per bad field.
    pub fn invalid_field(op: &str, field: &str, message: String) -> Self {
        let mut e = Self::serialization(format!("Unable to bind to request '{op}'"));
        e.errors.push(ResponseError {
            error_code: "SerializationException".into(),
            field_name: field.into(),
            message,
            meta: None,
        });
        e
    }

    /// A required value is missing or out of bounds.
    pub fn validation(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Self::new(StatusCode::BAD_REQUEST, code, message.clone());
        e.errors.push(ResponseError {
            error_code: code.into(),
            field_name: field.into(),
            message,
            meta: None,
        });
        e
    }

    pub fn unauthorized(msg: impl Into<String>) -> Self {
        ApiError {
            challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", msg)
        }
    }

    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", msg)
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", msg)
    }

    /// Unknown operation or a verb no route of the path accepts.
    pub fn not_implemented(msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "NotImplementedException",
            msg,
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("The request body is larger than the limit of {limit} bytes"),
        )
    }

    /// A body in a Content-Encoding the server does not decode (read as it is, it would fail
    /// to parse, or a plain one so labelled be taken for what it is not).
    pub fn unsupported_encoding(encoding: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "Content-Encoding '{encoding}' is not supported; use gzip, deflate or br, \
                 or send the body uncompressed"
            ),
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "Content-Type '{content_type}' is not supported; use application/json, \
                 application/xml, application/x-www-form-urlencoded or multipart/form-data"
            ),
        )
    }

    pub fn service_unavailable(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", msg)
    }

    /// The client did not send its request's body within `limit`: its slowness, not the
    /// server's (the operation was not applied).
    pub fn body_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeout",
            format!(
                "The request's body did not arrive within {} ms",
                limit.as_millis()
            ),
        )
    }

    /// An unexpected failure: the cause is logged here and never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal error occurred; it has been logged",
        )
    }

    pub fn response_status(&self) -> ResponseStatus {
        ResponseStatus {
            error_code: self.error_code.to_string(),
            message: self.message.clone(),
            errors: self.errors.clone(),
            ..ResponseStatus::default()
        }
    }
}

/// SQLSTATEs by which PostgreSQL says it cannot serve the statement now, so nothing was
/// applied and a retry later may succeed: connection exceptions (class 08), insufficient
/// resources (class 53: `too many clients` 53300, out of memory, disk full, configuration
/// limit), operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
/// connect now, 57P04 database dropped, 57P05 idle session timeout), and a read-only server
/// (25006, e.g. a standby answering after a failover).
pub fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57P04" | "57P05" | "25006"
        )
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // The pool could not hand out a connection in time: the database is away or saturated.
            sqlx::Error::Database(ref d)
                if d.code().as_deref().is_some_and(is_unavailable_sqlstate) =>
            {
                tracing::warn!(cause = %e, "database unavailable");
                ApiError::service_unavailable("The database is unavailable; retry shortly")
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(cause = %e, "database unavailable");
                ApiError::service_unavailable("The database is unavailable; retry shortly")
            }
            // statement_timeout (57014): PostgreSQL cancelled and rolled back a slow statement.
            sqlx::Error::Database(d) if d.code().as_deref() == Some("57014") => {
                tracing::warn!("statement cancelled by statement_timeout");
                ApiError::service_unavailable("The request took too long and was cancelled")
            }
            // A deadlock or serialization failure: PostgreSQL rolled the statement back, and the
            // same request sent again will go through.
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40P01" | "40001")) => {
                tracing::warn!(code = ?d.code(), "statement rolled back by a conflicting one");
                ApiError::service_unavailable(
                    "The change conflicted with a concurrent one and was not made; retry",
                )
            }
            // A value PostgreSQL cannot store (NUL in text, bad encoding): the client's input.
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("22021" | "22P05")) => {
                ApiError::serialization(format!("A value cannot be stored: {}", d.message()))
            }
            // A value out of PostgreSQL's range (a date, a number): the client's input too.
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("22008" | "22003")) => {
                ApiError::serialization(format!("A value is out of range: {}", d.message()))
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    /// Carries the error in the response extensions with an empty body; the negotiation layer
    /// fills the body in the negotiated format.
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        if self.challenge {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(BASIC_CHALLENGE),
            );
        }
        res.extensions_mut().insert(self);
        res
    }
}
