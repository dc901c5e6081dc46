//! [`RequestOptions`]: per-call overrides of a client's deadlines, retries and headers (a
//! partial [`Config`](crate::Config)), and `Settings`, what a call runs with.

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use claude_kit_core::Result;
use claude_kit_core::policy::deadline::Timeouts;
use claude_kit_core::policy::retry::RetryPolicy;

use crate::config::parse_header;

/// Overrides for the calls of a derived client; see
/// [`Client::with_options`](crate::Client::with_options).
///
/// ```
/// use std::time::Duration;
/// use claude_kit_api::RequestOptions;
///
/// let options = RequestOptions::new()
///     .timeout(Duration::from_secs(20))
///     .max_retries(5)
///     .header("anthropic-beta", "some-feature-2025-01-01");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RequestOptions {
    total: Option<Duration>,
    connect: Option<Duration>,
    response_headers: Option<Duration>,
    idle: Option<Duration>,
    max_retries: Option<u32>,
    retry_policy: Option<RetryPolicy>,
    headers: Vec<(String, String)>,
    label: Option<String>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// The total deadline of each call, retries included.
    pub fn timeout(mut self, total: Duration) -> Self {
        self.total = Some(total);
        self
    }

    /// The deadline for the TCP connect and TLS handshake.
    pub fn connect_timeout(mut self, connect: Duration) -> Self {
        self.connect = Some(connect);
        self
    }

    /// The deadline for the response headers after a request is sent.
    pub fn response_header_timeout(mut self, response_headers: Duration) -> Self {
        self.response_headers = Some(response_headers);
        self
    }

    /// The longest wait between two chunks of a response body.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// How many times a failed call is retried (keeping the rest of the retry policy).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// The whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// A label for the call, passed to the retry callback
    /// ([`RetryEvent::label`](claude_kit_core::policy::retry::RetryEvent::label)) so that it
    /// can tell which of many calls is being retried. Never sent to the API.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// A header to send (replacing a client default of the same name), e.g. `anthropic-beta`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What a call runs with: a client's settings with its overrides applied.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    timeouts: Timeouts,
    retry: RetryPolicy,
    headers: Vec<(HeaderName, HeaderValue)>,
    label: Option<std::sync::Arc<str>>,
}

impl Settings {
    pub(crate) fn new(timeouts: Timeouts, retry: RetryPolicy) -> Self {
        Self {
            timeouts,
            retry,
            headers: Vec::new(),
            label: None,
        }
    }

    /// The caller's label for the call (for the retry callback).
    pub(crate) fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The deadlines of each call.
    pub(crate) fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// The retry policy of each call.
    pub(crate) fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Headers that replace the client's of the same name.
    pub(crate) fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// These settings with `options` applied; an invalid header is [`Error::Config`](claude_kit_core::Error::Config).
    pub(crate) fn apply(&self, options: RequestOptions) -> Result<Self> {
        let mut settings = self.clone();
        let timeouts = &mut settings.timeouts;
        timeouts.total = options.total.unwrap_or(timeouts.total);
        timeouts.connect = options.connect.unwrap_or(timeouts.connect);
        timeouts.response_headers = options
            .response_headers
            .unwrap_or(timeouts.response_headers);
        timeouts.idle = options.idle.unwrap_or(timeouts.idle);
        if let Some(policy) = options.retry_policy {
            settings.retry = policy;
        }
        if let Some(retries) = options.max_retries {
            settings.retry = settings.retry.max_retries(retries);
        }
        if let Some(label) = options.label {
            settings.label = Some(label.into());
        }
        for (name, value) in options.headers {
            let (name, value) = parse_header(&name, &value)?;
            settings.headers.retain(|(existing, _)| *existing != name);
            settings.headers.push((name, value));
        }
        Ok(settings)
    }
}
