//! What every reply carries besides its value: [`ResponseMeta`] (status, headers, request id,
//! rate limits), and [`Response`], a decoded value with its metadata.

use std::ops::Deref;

use http::{HeaderMap, StatusCode};

use claude_kit_core::policy::limit::RateLimitInfo;

use crate::stored_headers::StoredHeaders;

/// The metadata of an HTTP response: its status and headers, with the request id and the
/// rate-limit headers read from them.
#[derive(Debug, Clone)]
pub struct ResponseMeta {
    status: StatusCode,
    headers: StoredHeaders,
}

impl ResponseMeta {
    pub(crate) fn new(status: StatusCode, headers: StoredHeaders) -> Self {
        Self { status, headers }
    }

    /// The `request-id` header: quote it when you contact support.
    pub fn request_id(&self) -> Option<&str> {
        self.headers.request_id()
    }

    /// The `content-type` header, read without making the map of [`headers`](Self::headers).
    pub(crate) fn content_type(&self) -> Option<&str> {
        self.headers.content_type()
    }

    /// The `anthropic-ratelimit-*` headers, parsed.
    pub fn rate_limit(&self) -> RateLimitInfo {
        RateLimitInfo::from_headers(self.headers())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// All response headers (rate-limit headers included). Values that contain the client's
    /// key or token are marked sensitive: their `Debug` never shows them.
    pub fn headers(&self) -> &HeaderMap {
        self.headers.map()
    }
}

/// The `request-id` header of `headers`.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    // A `HeaderName`, not a `&str`: a string key is parsed into a name on every lookup.
    static REQUEST_ID: http::HeaderName = http::HeaderName::from_static("request-id");
    headers
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
}

/// A value returned by the API, with its request id and response headers.
///
/// Dereferences to the value, so `response.text()` works on a `Response<Message>`.
#[derive(Debug, Clone)]
pub struct Response<T> {
    value: T,
    meta: ResponseMeta,
}

impl<T> Response<T> {
    pub(crate) fn new(value: T, meta: ResponseMeta) -> Self {
        Self { value, meta }
    }

    /// The `request-id` header: quote it when you contact support.
    pub fn request_id(&self) -> Option<&str> {
        self.meta.request_id()
    }

    /// The `anthropic-ratelimit-*` headers of the response, parsed.
    pub fn rate_limit(&self) -> RateLimitInfo {
        self.meta.rate_limit()
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.meta.status()
    }

    /// All response headers (rate-limit headers included).
    pub fn headers(&self) -> &HeaderMap {
        self.meta.headers()
    }

    /// The status and headers together.
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// The value, without the metadata.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for Response<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> AsRef<T> for Response<T> {
    fn as_ref(&self) -> &T {
        &self.value
    }
}
