//! Every setting of a client and its default, in one table ([`Config`]); the per-call
//! overrides of a derived client ([`RequestOptions`], a partial `Config`); and `Settings`,
//! what one call runs with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use claude_kit_core::policy::deadline::Timeouts;
use claude_kit_core::policy::retry::RetryPolicy;
use claude_kit_core::redact::Secrets;
use claude_kit_core::transport::Transport;
use claude_kit_core::{Error, Result};
use claude_kit_rt::SharedRuntime;

use crate::auth::ApiKey;

/// The API's address, used when neither the builder nor `ANTHROPIC_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The model `Client::query` uses unless `ANTHROPIC_MODEL` or `ClientBuilder::model` says
/// otherwise.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";

/// The `max_tokens` of `Client::query`.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The `anthropic-version` header value this SDK speaks.
pub const API_VERSION: &str = "2023-06-01";

const USER_AGENT: &str = concat!("claude-kit-rust/", env!("CARGO_PKG_VERSION"));

/// Everything a [`ClientBuilder`](crate::ClientBuilder) collects, with its defaults
/// ([`Config::default`] is the one table of them). Read it with
/// [`ClientBuilder::config`](crate::ClientBuilder::config); set it through the builder.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// Sent as `x-api-key`. From `ANTHROPIC_API_KEY` in [`Config::from_env`].
    pub api_key: Option<ApiKey>,
    /// Sent as `Authorization: Bearer …`. From `ANTHROPIC_AUTH_TOKEN`.
    pub auth_token: Option<ApiKey>,
    /// Where requests go. Default [`DEFAULT_BASE_URL`]; `ANTHROPIC_BASE_URL`.
    pub base_url: String,
    /// The model of `Client::query`. Default [`DEFAULT_MODEL`]; `ANTHROPIC_MODEL`.
    pub model: String,
    /// The runtime to run on; `None`: the one `claude_kit_rt::context::choose` picks.
    pub runtime: Option<SharedRuntime>,
    /// A transport replacing the built-in hyper one.
    pub transport: Option<Arc<dyn Transport>>,
    /// Extra trusted root certificates (DER) of the hyper transport.
    pub root_certificates_der: Vec<Vec<u8>>,
    /// Headers added to every request; `ANTHROPIC_CUSTOM_HEADERS`.
    pub headers: Vec<(String, String)>,
    /// The deadlines of each call.
    pub timeouts: Timeouts,
    /// The largest non-streaming response body accepted. Default 64 MiB.
    pub max_response_bytes: usize,
    /// The largest server-sent event a stream accepts. Default 16 MiB.
    pub max_event_size: usize,
    /// Which failures are retried, how often, after which delay. Default 2 retries.
    pub retry: RetryPolicy,
    /// At most this many requests in flight. Default: no limit.
    pub max_concurrent_requests: Option<usize>,
    /// At most this many requests per minute. Default: no limit.
    pub requests_per_minute: Option<u32>,
    /// At most this many tokens per minute. Default: no limit.
    pub tokens_per_minute: Option<u32>,
    /// At most this many connections to the API's host. Default: no limit.
    pub max_connections_per_host: Option<usize>,
    /// Idle keep-alive connections kept per host. Default: the transport's (32).
    pub pool_max_idle_per_host: Option<usize>,
    /// How long an idle connection is kept. Default: the transport's (90 s).
    pub pool_idle_timeout: Option<Duration>,
    /// Whether `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` are honoured. Default true.
    pub use_env_proxy: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_key: None,
            auth_token: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_MODEL.to_owned(),
            runtime: None,
            transport: None,
            root_certificates_der: Vec::new(),
            headers: Vec::new(),
            timeouts: Timeouts::default(),
            max_response_bytes: 64 << 20,
            max_event_size: claude_kit_core::sse::SseDecoder::DEFAULT_MAX_EVENT_SIZE,
            retry: RetryPolicy::new(),
            max_concurrent_requests: None,
            requests_per_minute: None,
            tokens_per_minute: None,
            max_connections_per_host: None,
            pool_max_idle_per_host: None,
            pool_idle_timeout: None,
            use_env_proxy: true,
        }
    }
}

impl Config {
    /// The defaults, with the key, token, base URL, model and custom headers from
    /// `ANTHROPIC_API_KEY`, `ANTHROPIC_AUTH_TOKEN`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_MODEL`
    /// and `ANTHROPIC_CUSTOM_HEADERS` (blank values are ignored).
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        let defaults = Self::default();
        Self {
            api_key: var("ANTHROPIC_API_KEY").map(ApiKey::new),
            auth_token: var("ANTHROPIC_AUTH_TOKEN").map(ApiKey::new),
            base_url: var("ANTHROPIC_BASE_URL").unwrap_or(defaults.base_url),
            model: var("ANTHROPIC_MODEL").unwrap_or(defaults.model),
            headers: var("ANTHROPIC_CUSTOM_HEADERS")
                .map(|value| parse_custom_headers(&value))
                .unwrap_or_default(),
            ..Self::default()
        }
    }

    /// The base URL, checked, without a trailing `/`. A path prefix is kept (proxies and
    /// gateways use one: `https://gateway/anthropic` → `https://gateway/anthropic/v1/messages`);
    /// a query or fragment is refused, because request paths are appended to the URL and would
    /// land inside it.
    pub(crate) fn checked_base_url(&self) -> Result<String> {
        let base_url = self.base_url.as_str();
        let invalid = |why: &str| Error::config(format!("invalid base URL {base_url:?}: {why}"));
        if base_url.contains('?') {
            return Err(invalid(
                "it has a query (`?…`); request paths are appended to the base URL, so put \
                 query parameters in a default header or a proxy instead",
            ));
        }
        if base_url.contains('#') {
            return Err(invalid("it has a fragment (`#…`)"));
        }
        let base_url = base_url.trim_end_matches('/');
        let uri: http::Uri = base_url
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(invalid("expected http(s)://host[:port][/path]"));
        }
        Ok(base_url.to_owned())
    }

    /// The headers of every request (authentication, version, user agent, accept, the
    /// configured ones) and the secrets to redact from everything built from server text.
    pub(crate) fn request_headers(&self) -> Result<(HeaderMap, Secrets)> {
        if self.api_key.is_none() && self.auth_token.is_none() {
            return Err(Error::config(
                "no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) or call ClientBuilder::api_key",
            ));
        }
        let mut headers = HeaderMap::new();
        if let Some(api_key) = &self.api_key {
            let key = api_key.header_value().map_err(|_| {
                Error::config(
                    "the API key is not a valid header value: it must be visible ASCII \
                     (no spaces, line breaks or non-ASCII characters)",
                )
            })?;
            headers.insert(HeaderName::from_static("x-api-key"), key);
        }
        if let Some(token) = &self.auth_token {
            let token_value = token.header_value().map_err(|_| {
                Error::config(
                    "the auth token is not a valid header value: it must be visible ASCII \
                     (no spaces, line breaks or non-ASCII characters)",
                )
            })?;
            let mut bearer = HeaderValue::from_maybe_shared(bytes::Bytes::from(
                [b"Bearer ".as_slice(), token_value.as_bytes()].concat(),
            ))
            .map_err(|_| Error::config("the auth token is not a valid header value"))?;
            bearer.set_sensitive(true);
            headers.insert(http::header::AUTHORIZATION, bearer);
        }
        let secrets = Secrets::new(
            self.api_key
                .iter()
                .chain(self.auth_token.iter())
                .map(ApiKey::expose),
        );
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(USER_AGENT),
        );
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in &self.headers {
            let (name, value) = parse_header(name, value)?;
            headers.append(name, value);
        }
        // Room for what each request adds (content type, retry count, `Host`, per-call
        // headers): a clone keeps the table's size, so no request's insert has to rehash it.
        headers.reserve(8);
        Ok((headers, secrets))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("api_key", &self.api_key)
            .field("auth_token", &self.auth_token)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("runtime", &self.runtime.as_ref().map(|rt| rt.name()))
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// `ANTHROPIC_CUSTOM_HEADERS`: one `Name: value` per line (blank lines and lines without a
/// colon are skipped).
fn parse_custom_headers(value: &str) -> Vec<(String, String)> {
    value
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

pub(crate) fn parse_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let name = HeaderName::try_from(name)
        .map_err(|_| Error::config(format!("invalid header name {name:?}")))?;
    let value = HeaderValue::try_from(value)
        .map_err(|_| Error::config(format!("invalid value for header {name}")))?;
    Ok((name, value))
}
