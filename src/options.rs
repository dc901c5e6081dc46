//! [`RequestOptions`]: per-call overrides of a client's deadlines, retries and headers.

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use claude_kit_core::policy::retry::RetryPolicy;

use crate::client::Timeouts;
use crate::{Error, Result};

/// Overrides for the calls of a derived client; see [`Client::with_options`](crate::Client::with_options).
///
/// ```
/// use std::time::Duration;
/// use claude_kit::RequestOptions;
///
/// let options = RequestOptions::new()
///     .timeout(Duration::from_secs(20))
///     .max_retries(5)
///     .header("anthropic-beta", "some-feature-2025-01-01");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    pub(crate) total: Option<Duration>,
    pub(crate) connect: Option<Duration>,
    pub(crate) response_headers: Option<Duration>,
    pub(crate) idle: Option<Duration>,
    pub(crate) max_retries: Option<u32>,
    pub(crate) retry_policy: Option<RetryPolicy>,
    pub(crate) headers: Vec<(String, String)>,
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

    /// A header to send (replacing a client default of the same name), e.g. `anthropic-beta`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What a call runs with: a client's settings with its overrides applied.
#[derive(Debug, Clone)]
pub(crate) struct CallSettings {
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl CallSettings {
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
        for (name, value) in options.headers {
            let (name, value) = parse_header(&name, &value)?;
            settings.headers.retain(|(existing, _)| *existing != name);
            settings.headers.push((name, value));
        }
        Ok(settings)
    }
}

pub(crate) fn parse_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let name = HeaderName::try_from(name)
        .map_err(|_| Error::config(format!("invalid header name {name:?}")))?;
    let value = HeaderValue::try_from(value)
        .map_err(|_| Error::config(format!("invalid value for header {name}")))?;
    Ok((name, value))
}
