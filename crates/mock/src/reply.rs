//! Scripted replies.

use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// A scripted answer to one `POST /v1/messages`, queued with
/// [`MockServer::enqueue`](crate::MockServer::enqueue).
///
/// Build one with [`Reply::error`], [`Reply::json`], [`Reply::text`] or [`Reply::raw`], and add
/// response headers with [`Reply::header`]. More kinds (transcript replay, faults) may be added.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Reply {
    /// An API error: `{"type":"error","error":{"type":..,"message":..},"request_id":..}`.
    #[non_exhaustive]
    Error {
        /// HTTP status.
        status: StatusCode,
        /// The error type, e.g. `"overloaded_error"`.
        error_type: String,
        /// The error message.
        message: String,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// Any JSON body with any status.
    #[non_exhaustive]
    Json {
        /// HTTP status.
        status: StatusCode,
        /// The body.
        body: serde_json::Value,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// A normal assistant message with this text: JSON, or SSE when the request streams.
    #[non_exhaustive]
    Text {
        /// The assistant's text.
        text: String,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// A verbatim body.
    #[non_exhaustive]
    Raw {
        /// HTTP status.
        status: StatusCode,
        /// The `content-type` header.
        content_type: String,
        /// The body, sent as is.
        body: Bytes,
        /// Extra response headers.
        headers: HeaderMap,
    },
}

/// Converts a status code, panicking with a clear message when it is out of range.
fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code)
        .unwrap_or_else(|_| panic!("claude-agent-mock: invalid HTTP status {code}"))
}

impl Reply {
    /// An API error with this status, error type and message; the body also carries the
    /// response's `request_id`.
    ///
    /// # Panics
    ///
    /// If `status` is not in `100..=999`.
    pub fn error(status: u16, error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Reply::Error {
            status: self::status(status),
            error_type: error_type.into(),
            message: message.into(),
            headers: HeaderMap::new(),
        }
    }

    /// A JSON body with this status, sent as is (`content-type: application/json`).
    ///
    /// # Panics
    ///
    /// If `status` is not in `100..=999`.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Reply::Json {
            status: self::status(status),
            body,
            headers: HeaderMap::new(),
        }
    }

    /// A successful assistant message whose only content block is `text`; streamed as SSE
    /// events (one `text_delta` per word) when the request has `"stream": true`.
    pub fn text(text: impl Into<String>) -> Self {
        Reply::Text {
            text: text.into(),
            headers: HeaderMap::new(),
        }
    }

    /// A verbatim body with this status and content type.
    ///
    /// # Panics
    ///
    /// If `status` is not in `100..=999`.
    pub fn raw(status: u16, content_type: impl Into<String>, body: Bytes) -> Self {
        Reply::Raw {
            status: self::status(status),
            content_type: content_type.into(),
            body,
            headers: HeaderMap::new(),
        }
    }

    /// Adds a response header (e.g. `retry-after`). Headers set here replace the server's own
    /// headers of the same name (except `request-id`); repeat the call to send several values.
    ///
    /// # Panics
    ///
    /// If `name` or `value` is not a valid header name or value.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::try_from(name)
            .unwrap_or_else(|_| panic!("claude-agent-mock: invalid header name {name:?}"));
        let value = HeaderValue::try_from(value)
            .unwrap_or_else(|_| panic!("claude-agent-mock: invalid header value {value:?}"));
        self.headers_mut().append(name, value);
        self
    }

    fn headers_mut(&mut self) -> &mut HeaderMap {
        match self {
            Reply::Error { headers, .. }
            | Reply::Json { headers, .. }
            | Reply::Text { headers, .. }
            | Reply::Raw { headers, .. } => headers,
        }
    }
}
