//! What an error is about: which deadline, which API error type, which origin.

use std::fmt;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::redact::Secrets;

/// Where an [`Error::Api`](super::Error::Api) came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorOrigin {
    /// The response's HTTP status (4xx, 5xx) and error body.
    Http,
    /// An `error` event inside a streamed response whose status was a success (the API
    /// failed midway, e.g. `overloaded_error` after some text).
    Stream,
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Opening the TCP connection and the TLS handshake.
    Connect,
    /// Waiting for the response status and headers after the request was sent.
    ResponseHeaders,
    /// Waiting for the next chunk of a response body (a stalled stream).
    Idle,
    /// The whole call, retries included.
    Total,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connecting",
            TimeoutPhase::ResponseHeaders => "waiting for response headers",
            TimeoutPhase::Idle => "waiting for the next chunk of the response",
            TimeoutPhase::Total => "the call's total deadline",
        })
    }
}

/// The `error.type` of an API error.
///
/// Known types get their own variant; a type this version does not know is kept in
/// [`ApiErrorKind::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// `invalid_request_error` (400): the request is malformed.
    InvalidRequest,
    /// `authentication_error` (401): the API key is missing or wrong.
    Authentication,
    /// `billing_error` (402).
    Billing,
    /// `permission_error` (403): the key may not use this resource.
    Permission,
    /// `not_found_error` (404).
    NotFound,
    /// `request_too_large` (413).
    RequestTooLarge,
    /// `rate_limit_error` (429).
    RateLimit,
    /// `timeout_error` (504): the API timed out.
    Timeout,
    /// `api_error` (500): an unexpected error inside the API.
    Internal,
    /// `overloaded_error` (529): the API is temporarily overloaded.
    Overloaded,
    /// Any other type, kept verbatim.
    Other(String),
}

impl ApiErrorKind {
    /// The kind named by an `error.type` string.
    pub fn from_type(name: &str) -> Self {
        match name {
            "invalid_request_error" => Self::InvalidRequest,
            "authentication_error" => Self::Authentication,
            "billing_error" => Self::Billing,
            "permission_error" => Self::Permission,
            "not_found_error" => Self::NotFound,
            "request_too_large" => Self::RequestTooLarge,
            "rate_limit_error" => Self::RateLimit,
            "timeout_error" => Self::Timeout,
            "api_error" => Self::Internal,
            "overloaded_error" => Self::Overloaded,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The kind the API uses for an HTTP status, for bodies that do not say.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::InvalidRequest,
            401 => Self::Authentication,
            402 => Self::Billing,
            403 => Self::Permission,
            404 => Self::NotFound,
            413 => Self::RequestTooLarge,
            429 => Self::RateLimit,
            504 => Self::Timeout,
            529 => Self::Overloaded,
            s if s >= 500 => Self::Internal,
            s => Self::Other(format!("http_{s}")),
        }
    }

    /// This kind with `secrets` scrubbed from an [`Other`](Self::Other) type, which a server
    /// chooses, and that type cut to 128 bytes.
    pub(super) fn redacted(self, secrets: &Secrets) -> Self {
        match self {
            Self::Other(name) if secrets.appears_in(name.as_bytes()) || name.len() > 128 => {
                Self::Other(secrets.scrub_bounded(&name, 128))
            }
            kind => kind,
        }
    }

    /// The `error.type` string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request_error",
            Self::Authentication => "authentication_error",
            Self::Billing => "billing_error",
            Self::Permission => "permission_error",
            Self::NotFound => "not_found_error",
            Self::RequestTooLarge => "request_too_large",
            Self::RateLimit => "rate_limit_error",
            Self::Timeout => "timeout_error",
            Self::Internal => "api_error",
            Self::Overloaded => "overloaded_error",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for ApiErrorKind {
    fn from(name: String) -> Self {
        Self::from_type(&name)
    }
}

impl From<ApiErrorKind> for String {
    fn from(kind: ApiErrorKind) -> Self {
        kind.as_str().to_owned()
    }
}
