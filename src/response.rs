//! [`Response`]: a decoded API value with the metadata of the HTTP response it came in.

use std::ops::Deref;

use http::{HeaderMap, StatusCode};

/// A value returned by the API, with its request id and response headers.
///
/// Dereferences to the value, so `response.text()` works on a `Response<Message>`.
#[derive(Debug, Clone)]
pub struct Response<T> {
    value: T,
    status: StatusCode,
    headers: HeaderMap,
}

impl<T> Response<T> {
    pub(crate) fn new(value: T, status: StatusCode, headers: HeaderMap) -> Self {
        Self {
            value,
            status,
            headers,
        }
    }

    /// The `request-id` header: quote it when you contact support.
    pub fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
    }

    /// The `anthropic-ratelimit-*` headers of the response, parsed.
    pub fn rate_limit(&self) -> crate::RateLimitInfo {
        crate::RateLimitInfo::from_headers(&self.headers)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// All response headers (rate-limit headers included).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
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

pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("request-id")
        .and_then(|value| value.to_str().ok())
}
