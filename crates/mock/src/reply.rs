//! Scripted replies.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::Chunking;

/// A scripted answer to one `POST /v1/messages`, queued with
/// [`MockServer::enqueue`](crate::MockServer::enqueue).
///
/// Build one with [`Reply::error`], [`Reply::json`], [`Reply::text`] or [`Reply::raw`], replay a
/// recorded SSE transcript with [`Reply::sse`], or inject a stream fault with
/// [`Reply::sse_then_stall`], [`Reply::stall_before_headers`], [`Reply::sse_then_reset`],
/// [`Reply::oversized_event`], [`Reply::oversized_json`], [`Reply::trickle`],
/// [`Reply::reset_before_headers`], [`Reply::json_then_reset`], [`Reply::json_then_stall`],
/// [`Reply::malformed_sse`], [`Reply::error_event_after`] or [`Reply::wrong_content_type`].
/// Add response headers with [`Reply::header`] (e.g. `retry-after`, `retry-after-ms`,
/// `x-should-retry`).
///
/// Streamed replies (SSE) are sent with chunked transfer encoding, each piece as its own chunk.
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
    /// A recorded SSE transcript: `200`, `content-type: text/event-stream; charset=utf-8`, the
    /// bytes unchanged, cut into chunks by `chunking`.
    #[non_exhaustive]
    Sse {
        /// The transcript, sent as is.
        body: Bytes,
        /// How the transcript is cut into HTTP chunks.
        chunking: Chunking,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// `200` SSE: `prefix` (one chunk per event), then nothing, without ever ending the body.
    #[non_exhaustive]
    SseThenStall {
        /// What is sent before the stall.
        prefix: Bytes,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// No answer at all: not even the status line is sent.
    #[non_exhaustive]
    StallBeforeHeaders {
        /// Extra response headers (never sent; kept so [`Reply::header`] works on every reply).
        headers: HeaderMap,
    },
    /// `200` SSE: `prefix` (one chunk per event), then the connection is closed in the middle of
    /// the body, without the chunked encoding's final `0` chunk.
    #[non_exhaustive]
    SseThenReset {
        /// What is sent before the connection is closed.
        prefix: Bytes,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// `200` SSE: one `content_block_delta` event whose data line is `total_bytes` long.
    #[non_exhaustive]
    OversizedEvent {
        /// Size of the whole body, in bytes.
        total_bytes: u64,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// Like [`Reply::Text`], but a streamed answer pauses `per_chunk_delay` between events.
    #[non_exhaustive]
    Trickle {
        /// The assistant's text.
        text: String,
        /// The pause between two SSE events.
        per_chunk_delay: Duration,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// No answer: the connection is closed right after the request was read, without a single
    /// response byte.
    #[non_exhaustive]
    ResetBeforeHeaders {
        /// Extra response headers (never sent; kept so [`Reply::header`] works on every reply).
        headers: HeaderMap,
    },
    /// `200` JSON message with a `content-length`, of which only the first half is sent before
    /// the connection is closed.
    #[non_exhaustive]
    JsonThenReset {
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// `200` JSON message with a `content-length`, of which only the first half is sent; then
    /// nothing more, ever.
    #[non_exhaustive]
    JsonThenStall {
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// `200` SSE whose data is not JSON.
    #[non_exhaustive]
    MalformedSse {
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// `200` SSE: `message_start`, `content_block_start`, `text_deltas` text deltas, then an
    /// `error` event; for a non-streaming request, the error as JSON.
    #[non_exhaustive]
    ErrorEventAfter {
        /// Text deltas sent before the error.
        text_deltas: usize,
        /// The error type, e.g. `"overloaded_error"`.
        error_type: String,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// `200` with `content-type: text/html` and an HTML page.
    #[non_exhaustive]
    WrongContentType {
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// `200` JSON (chunked): one assistant message whose text is `total_bytes` long in all.
    #[non_exhaustive]
    OversizedJson {
        /// Size of the whole body, in bytes.
        total_bytes: u64,
        /// Extra response headers.
        headers: HeaderMap,
    },
}

/// Converts a status code, panicking with a clear message when it is out of range.
fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code)
        .unwrap_or_else(|_| panic!("claude-kit-mock: invalid HTTP status {code}"))
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

    /// Replays a recorded SSE transcript: status `200`,
    /// `content-type: text/event-stream; charset=utf-8`, chunked transfer encoding, the bytes
    /// unchanged, each piece given by `chunking` in its own HTTP chunk. The request's `stream`
    /// flag is ignored. With [`Chunking::PerEvent`], the server's
    /// [`token_delay`](crate::MockServerBuilder::token_delay) is paused between events.
    pub fn sse(transcript: impl Into<Bytes>, chunking: Chunking) -> Self {
        Reply::Sse {
            body: transcript.into(),
            chunking,
            headers: HeaderMap::new(),
        }
    }

    /// A fault: a `200` SSE response that sends `prefix` (one chunk per event, as
    /// [`Chunking::PerEvent`]), then nothing more and never ends. The connection stays open until
    /// the client closes it or the server shuts down.
    pub fn sse_then_stall(prefix: impl Into<Bytes>) -> Self {
        Reply::SseThenStall {
            prefix: prefix.into(),
            headers: HeaderMap::new(),
        }
    }

    /// A fault: the request is never answered, not even with a status line. The connection stays
    /// open until the client closes it or the server shuts down.
    pub fn stall_before_headers() -> Self {
        Reply::StallBeforeHeaders {
            headers: HeaderMap::new(),
        }
    }

    /// A fault: a `200` SSE response that sends `prefix` (one chunk per event, as
    /// [`Chunking::PerEvent`]) and then closes the connection in the middle of the body, without
    /// the terminating `0` chunk: the client sees an incomplete body, not a clean end.
    ///
    /// The prefix is flushed to the socket before the connection is dropped; keep it smaller
    /// than the socket buffers (a few hundred KiB on loopback is fine), since output that the
    /// socket has not accepted yet is lost with the connection.
    pub fn sse_then_reset(prefix: impl Into<Bytes>) -> Self {
        Reply::SseThenReset {
            prefix: prefix.into(),
            headers: HeaderMap::new(),
        }
    }

    /// A fault: a `200` SSE response of `total_bytes` bytes (at least the event's fixed parts)
    /// holding a single event with one endless data line:
    /// `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"aaaa…aaaa"}}\n\n`.
    ///
    /// The body is generated lazily in 64 KiB chunks (memory use does not depend on
    /// `total_bytes`), and generation stops when the client disconnects. For tests of a client's
    /// memory bounds; [`MockServer::bytes_streamed`](crate::MockServer::bytes_streamed) tells how
    /// much was produced.
    pub fn oversized_event(total_bytes: u64) -> Self {
        Reply::OversizedEvent {
            total_bytes,
            headers: HeaderMap::new(),
        }
    }

    /// Like [`Reply::text`], but when the request streams, the server pauses `per_chunk_delay`
    /// between two SSE events (not before the first): a slow but live stream, for idle-timeout
    /// tests that must not fire. A non-streaming request gets the JSON message at once.
    pub fn trickle(text: impl Into<String>, per_chunk_delay: Duration) -> Self {
        Reply::Trickle {
            text: text.into(),
            per_chunk_delay,
            headers: HeaderMap::new(),
        }
    }

    /// A fault: the request is read, then the TCP connection is closed without any response
    /// bytes (not even a status line). The client sees EOF (or a reset) where the response
    /// should be: a connection error, which is safe to retry.
    pub fn reset_before_headers() -> Self {
        Reply::ResetBeforeHeaders {
            headers: HeaderMap::new(),
        }
    }

    /// A fault: a `200 application/json` answer (the default model's message) whose
    /// `content-length` announces the whole message, but only its first half is sent before
    /// the connection is closed: the client sees an incomplete body. Sent as JSON whether or
    /// not the request streams.
    pub fn json_then_reset() -> Self {
        Reply::JsonThenReset {
            headers: HeaderMap::new(),
        }
    }

    /// A fault: like [`Reply::json_then_reset`], but after the first half of the body nothing
    /// more is sent and the connection stays open (until the client closes it or the server
    /// shuts down): for body-read timeouts.
    pub fn json_then_stall() -> Self {
        Reply::JsonThenStall {
            headers: HeaderMap::new(),
        }
    }

    /// A fault: a `200 text/event-stream` response that ends normally but whose only event
    /// carries data that is not JSON: `event: message_start\ndata: {not json\n\n`. Sent as SSE
    /// whether or not the request streams.
    pub fn malformed_sse() -> Self {
        Reply::MalformedSse {
            headers: HeaderMap::new(),
        }
    }

    /// A fault: a streaming answer that sends `message_start`, `content_block_start` and
    /// `text_deltas` text deltas (the default model's words, repeated as needed), then
    /// `event: error` with `{"type":"error","error":{"type":<error_type>,"message":..},..}`, and
    /// ends. With `text_deltas == 0` the error comes before any content.
    ///
    /// A non-streaming request gets the error as JSON instead, with the status the API uses
    /// for that type (`overloaded_error` 529, `api_error` 500, `rate_limit_error` 429, ...;
    /// 500 for unknown types).
    pub fn error_event_after(text_deltas: usize, error_type: &str) -> Self {
        Reply::ErrorEventAfter {
            text_deltas,
            error_type: error_type.to_owned(),
            headers: HeaderMap::new(),
        }
    }

    /// A fault: `200` with `content-type: text/html; charset=utf-8` and an HTML page (as a
    /// misconfigured proxy would answer), for streaming and non-streaming requests alike.
    pub fn wrong_content_type() -> Self {
        Reply::WrongContentType {
            headers: HeaderMap::new(),
        }
    }

    /// A fault: a `200 application/json` body of `total_bytes` bytes (at least the message's
    /// fixed parts), sent chunked, holding one assistant message with one endless text. Like
    /// [`Reply::oversized_event`], generated lazily and stopped when the client disconnects.
    pub fn oversized_json(total_bytes: u64) -> Self {
        Reply::OversizedJson {
            total_bytes,
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
            .unwrap_or_else(|_| panic!("claude-kit-mock: invalid header name {name:?}"));
        let value = HeaderValue::try_from(value)
            .unwrap_or_else(|_| panic!("claude-kit-mock: invalid header value {value:?}"));
        self.headers_mut().append(name, value);
        self
    }

    pub(crate) fn headers_mut(&mut self) -> &mut HeaderMap {
        match self {
            Reply::Error { headers, .. }
            | Reply::Json { headers, .. }
            | Reply::Text { headers, .. }
            | Reply::Raw { headers, .. }
            | Reply::Sse { headers, .. }
            | Reply::SseThenStall { headers, .. }
            | Reply::StallBeforeHeaders { headers }
            | Reply::SseThenReset { headers, .. }
            | Reply::OversizedEvent { headers, .. }
            | Reply::Trickle { headers, .. }
            | Reply::ResetBeforeHeaders { headers }
            | Reply::JsonThenReset { headers }
            | Reply::JsonThenStall { headers }
            | Reply::MalformedSse { headers }
            | Reply::ErrorEventAfter { headers, .. }
            | Reply::WrongContentType { headers }
            | Reply::OversizedJson { headers, .. } => headers,
        }
    }
}
