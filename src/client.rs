//! [`Client`] and its [`ClientBuilder`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use claude_kit_core::redact::Secrets;
use claude_kit_core::transport::Transport;
use claude_kit_hyper::{HyperTransport, ProxyConfig};
use claude_kit_rt::Runtime;

use claude_kit_core::policy::retry::RetryPolicy;

use crate::auth::ApiKey;
use crate::messages::Messages;
use crate::options::{CallSettings, RequestOptions, parse_header};
use crate::stats::{ClientStats, Counters, CountingRuntime};
use crate::throttle::Throttle;
use crate::{Error, Result};

/// The API's address, used when neither the builder nor `ANTHROPIC_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The model [`Client::query`] and [`crate::query`] use unless `ANTHROPIC_MODEL` or
/// [`ClientBuilder::model`] says otherwise.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";

/// The `max_tokens` of [`Client::query`].
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The `anthropic-version` header value this SDK speaks.
pub const API_VERSION: &str = "2023-06-01";

/// A client of the Anthropic API.
///
/// Cheap to clone (an `Arc` inside): clones share the connection pool, the runtime and the
/// configuration. Dropping the last clone is always safe; [`Client::close`] additionally
/// closes idle connections and refuses new calls.
///
/// ```no_run
/// # async fn run() -> claude_kit::Result<()> {
/// use claude_kit::{Client, MessageRequest};
///
/// let client = Client::from_env()?;
/// let reply = client
///     .messages()
///     .create(MessageRequest::new("claude-sonnet-4-5", 256).user("Hello"))
///     .await?;
/// println!("{} (request {:?})", reply.text(), reply.request_id());
/// client.close().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
    pub(crate) settings: Arc<CallSettings>,
}

/// What a client and every client derived from it share: one pool, one runtime, one set of
/// limits and counters.
pub(crate) struct Shared {
    pub(crate) base_url: String,
    /// `base_url` + the Messages API path, parsed once.
    pub(crate) messages_uri: http::Uri,
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) transport: Arc<dyn Transport>,
    /// Authentication, version and default headers.
    pub(crate) headers: HeaderMap,
    pub(crate) model: String,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_event_size: usize,
    pub(crate) throttle: Throttle,
    pub(crate) counters: Counters,
    pub(crate) closed: AtomicBool,
    /// The key and token, redacted from every error built from server text.
    pub(crate) secrets: Secrets,
}

/// The deadlines of a call. Every wait the client does is bounded by one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// TCP connect plus TLS handshake (enforced by the transport). Default 10 s.
    pub connect: Duration,
    /// From sending the request to receiving the response headers. Default 10 min: a
    /// non-streaming reply arrives only when the model is done.
    pub response_headers: Duration,
    /// Between two chunks of a response body. Default 5 min.
    pub idle: Duration,
    /// The whole call, reading a non-streaming body included. Default 10 min, as the official
    /// SDKs.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            response_headers: Duration::from_secs(600),
            idle: Duration::from_secs(300),
            total: Duration::from_secs(600),
        }
    }
}

impl Client {
    /// A builder, starting from defaults (nothing is read from the environment).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `ANTHROPIC_API_KEY` (required),
    /// `ANTHROPIC_BASE_URL` and `ANTHROPIC_MODEL` (optional).
    ///
    /// The runtime is [`current_runtime`](crate::rt::current_runtime): call this inside your
    /// tokio runtime, or enable `runtime-smol` / `runtime-async-std`.
    pub fn from_env() -> Result<Self> {
        ClientBuilder::from_env().build()
    }

    /// The Messages API: `create`.
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(self)
    }

    /// Sends `prompt` as one user message to the client's model and returns the reply.
    ///
    /// The short path of the seeds' `query(prompt=...)`; build a
    /// [`MessageRequest`](crate::MessageRequest) for anything more.
    pub async fn query(
        &self,
        prompt: impl Into<String>,
    ) -> Result<crate::Response<crate::Message>> {
        let request = crate::MessageRequest::new(self.shared.model.clone(), DEFAULT_MAX_TOKENS)
            .user(prompt.into());
        self.messages().create(request).await
    }

    /// A client that shares this one's connections, runtime, limits and counters, with some
    /// settings overridden: a per-call timeout, more retries, an extra header.
    ///
    /// ```no_run
    /// # async fn run(client: claude_kit::Client) -> claude_kit::Result<()> {
    /// use std::time::Duration;
    /// use claude_kit::RequestOptions;
    ///
    /// let quick = client.with_options(RequestOptions::new().timeout(Duration::from_secs(5)).max_retries(0))?;
    /// let reply = quick.query("Answer fast").await?;
    /// # Ok(()) }
    /// ```
    pub fn with_options(&self, options: RequestOptions) -> Result<Client> {
        Ok(Client {
            shared: self.shared.clone(),
            settings: Arc::new(self.settings.apply(options)?),
        })
    }

    /// What the client holds right now: calls in flight or waiting, background tasks, and the
    /// connection pool. Shared by every clone and derived client.
    pub fn stats(&self) -> ClientStats {
        let counters = &self.shared.counters;
        ClientStats {
            in_flight: counters.in_flight.load(Ordering::SeqCst),
            waiting: counters.waiting.load(Ordering::SeqCst),
            tasks: counters.tasks.load(Ordering::SeqCst),
            pool: self.shared.transport.pool_stats(),
        }
    }

    /// The runtime this client runs its timers, connections and background tasks on.
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.shared.runtime
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The model [`Client::query`] uses.
    pub fn model(&self) -> &str {
        &self.shared.model
    }

    /// The deadlines of each call.
    pub fn timeouts(&self) -> Timeouts {
        self.settings.timeouts
    }

    /// The retry policy of this client's calls.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// Shuts the client down gracefully: refuses new calls (they fail with
    /// [`Error::Closed`]), closes idle connections, and waits up to 30 s for the calls in
    /// flight (streams included) to finish. Every clone and derived client is closed.
    /// Dropping a client without closing it is safe too; this is for an orderly exit.
    pub async fn close(&self) {
        self.close_within(Duration::from_secs(30)).await;
    }

    /// [`close`](Self::close) with a bound of your choice; returns whether every call in
    /// flight finished within it.
    pub async fn close_within(&self, bound: Duration) -> bool {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.transport.close().await;
        let counters = &self.shared.counters;
        let drained = async {
            loop {
                // Listen before checking, so a call finishing in between is not missed.
                let listener = counters.drained.listen();
                if counters.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                listener.await;
            }
        };
        claude_kit_rt::timeout(&*self.shared.runtime, bound, drained)
            .await
            .is_ok()
    }

    /// Whether [`Client::close`] was called on this client or a clone.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers hold the API key: they are never printed, not even as `Sensitive`.
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url)
            .field("runtime", &self.shared.runtime.name())
            .field("transport", &self.shared.transport)
            .field("model", &self.shared.model)
            .field("timeouts", &self.settings.timeouts)
            .field("retry", &self.settings.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
///
/// ```
/// use std::time::Duration;
///
/// claude_kit::rt::block_on(async {
///     let client = claude_kit::Client::builder()
///         .api_key("sk-ant-example")
///         .base_url("http://127.0.0.1:8080")
///         .timeout(Duration::from_secs(30))
///         .build() // on the runtime it is built in: see `rt::current_runtime`
///         .unwrap();
///     assert_eq!(client.base_url(), "http://127.0.0.1:8080");
///     assert!(!format!("{client:?}").contains("sk-ant-example"));
/// });
/// ```
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    auth_token: Option<ApiKey>,
    base_url: Option<String>,
    model: Option<String>,
    runtime: Option<Arc<dyn Runtime>>,
    transport: Option<Arc<dyn Transport>>,
    root_certificates_der: Vec<Vec<u8>>,
    headers: Vec<(String, String)>,
    timeouts: Timeouts,
    max_response_bytes: Option<usize>,
    max_event_size: Option<usize>,
    retry: RetryPolicy,
    max_concurrent_requests: Option<usize>,
    requests_per_minute: Option<u32>,
    tokens_per_minute: Option<u32>,
    max_connections_per_host: Option<usize>,
    pool_max_idle_per_host: Option<usize>,
    pool_idle_timeout: Option<Duration>,
    use_env_proxy: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            auth_token: None,
            base_url: None,
            model: None,
            runtime: None,
            transport: None,
            root_certificates_der: Vec::new(),
            headers: Vec::new(),
            timeouts: Timeouts::default(),
            max_response_bytes: None,
            max_event_size: None,
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

impl ClientBuilder {
    /// A builder with the key, base URL and model from `ANTHROPIC_API_KEY`,
    /// `ANTHROPIC_BASE_URL` and `ANTHROPIC_MODEL`; later calls override them.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        Self {
            api_key: var("ANTHROPIC_API_KEY").map(ApiKey::new),
            auth_token: var("ANTHROPIC_AUTH_TOKEN").map(ApiKey::new),
            base_url: var("ANTHROPIC_BASE_URL"),
            model: var("ANTHROPIC_MODEL"),
            headers: var("ANTHROPIC_CUSTOM_HEADERS")
                .map(|value| parse_custom_headers(&value))
                .unwrap_or_default(),
            ..Self::default()
        }
    }

    /// A bearer token, sent as `Authorization: Bearer …` (for gateways and OAuth), instead
    /// of or as well as an API key. From `ANTHROPIC_AUTH_TOKEN` in [`from_env`](Self::from_env).
    pub fn auth_token(mut self, token: impl Into<ApiKey>) -> Self {
        self.auth_token = Some(token.into());
        self
    }

    /// The API key, sent as `x-api-key`.
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Where to send requests, e.g. `http://127.0.0.1:8080` for a local server. Default
    /// [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The model [`Client::query`] uses. Default [`DEFAULT_MODEL`].
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The runtime to run on, overriding [`current_runtime`](crate::rt::current_runtime).
    pub fn runtime(self, runtime: impl Runtime) -> Self {
        self.shared_runtime(Arc::new(runtime))
    }

    /// The runtime to run on, already shared.
    pub fn shared_runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Sends requests through `transport` instead of the built-in hyper transport (a proxy, a
    /// recorder, a test double). Connection settings of this builder then do not apply.
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Trusts one more root certificate (DER) for TLS, e.g. a local server's own CA.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.root_certificates_der.push(der.into());
        self
    }

    /// Adds a header to every request.
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The total deadline of each call. Default 10 minutes.
    pub fn timeout(mut self, total: Duration) -> Self {
        self.timeouts.total = total;
        self
    }

    /// The deadline for the TCP connect and TLS handshake. Default 10 s.
    pub fn connect_timeout(mut self, connect: Duration) -> Self {
        self.timeouts.connect = connect;
        self
    }

    /// The deadline for the response headers after a request is sent. Default 10 minutes.
    pub fn response_header_timeout(mut self, response_headers: Duration) -> Self {
        self.timeouts.response_headers = response_headers;
        self
    }

    /// The longest wait between two chunks of a response body. Default 5 minutes.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.timeouts.idle = idle;
        self
    }

    /// The largest non-streaming response body accepted. Default 64 MiB.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// The largest server-sent event a stream accepts; a larger one ends the stream with
    /// [`Error::Decode`] instead of growing memory. Default 16 MiB.
    pub fn max_event_size(mut self, limit: usize) -> Self {
        self.max_event_size = Some(limit);
        self
    }

    /// How many times a failed call is retried. Default 2, as the official SDKs.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry = self.retry.max_retries(retries);
        self
    }

    /// The whole retry policy: which failures, how many times, which backoff, a callback.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// At most `limit` requests in flight at once for this client and its clones; more wait
    /// for a slot (bounded by their total deadline). Default: no limit.
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.max_concurrent_requests = Some(limit.max(1));
        self
    }

    /// At most `limit` requests per minute, as a smooth rate with bursts up to a minute's
    /// worth. Default: no limit (the API's own limits still answer 429, which is retried).
    pub fn requests_per_minute(mut self, limit: u32) -> Self {
        self.requests_per_minute = Some(limit.max(1));
        self
    }

    /// At most `limit` tokens per minute, counting each request's input estimate plus its
    /// `max_tokens` up front and giving back what the reply did not use.
    pub fn tokens_per_minute(mut self, limit: u32) -> Self {
        self.tokens_per_minute = Some(limit.max(1));
        self
    }

    /// At most `limit` connections (idle and in use) to the API's host; further requests wait
    /// for one. Default: no limit.
    pub fn max_connections_per_host(mut self, limit: usize) -> Self {
        self.max_connections_per_host = Some(limit.max(1));
        self
    }

    /// At most `limit` idle keep-alive connections kept per host. Default 32.
    pub fn pool_max_idle_per_host(mut self, limit: usize) -> Self {
        self.pool_max_idle_per_host = Some(limit);
        self
    }

    /// How long an idle keep-alive connection is kept for reuse. Default 90 s.
    pub fn pool_idle_timeout(mut self, idle: Duration) -> Self {
        self.pool_idle_timeout = Some(idle);
        self
    }

    /// Whether to honour `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (an HTTP `CONNECT`
    /// tunnel, with `user:password@` credentials sent as `Proxy-Authorization`). Default true.
    pub fn use_env_proxy(mut self, on: bool) -> Self {
        self.use_env_proxy = on;
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`Error::Config`] when there is no API key, the key or token is not visible
    /// ASCII, the base URL is not an `http(s)://host[:port][/path]` URL (a query or fragment
    /// is refused: request paths are appended to it), a header is invalid, or no runtime is
    /// available.
    pub fn build(self) -> Result<Client> {
        if self.api_key.is_none() && self.auth_token.is_none() {
            return Err(Error::config(
                "no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) or call ClientBuilder::api_key",
            ));
        }
        let base_url = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let base_url = parse_base_url(&base_url)?;

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

        let counters = Counters::default();
        let runtime: Arc<dyn Runtime> = Arc::new(CountingRuntime::new(
            match self.runtime {
                Some(runtime) => runtime,
                None => crate::rt::current_runtime()?,
            },
            counters.tasks.clone(),
        ));
        let transport: Arc<dyn Transport> = match self.transport {
            Some(transport) => transport,
            None => {
                let mut builder =
                    HyperTransport::builder(runtime.clone()).connect_timeout(self.timeouts.connect);
                if self.use_env_proxy {
                    builder = builder.proxy(ProxyConfig::from_env());
                }
                if let Some(limit) = self.max_connections_per_host {
                    builder = builder.max_connections_per_host(limit);
                }
                if let Some(limit) = self.pool_max_idle_per_host {
                    builder = builder.pool_max_idle_per_host(limit);
                }
                if let Some(idle) = self.pool_idle_timeout {
                    builder = builder.pool_idle_timeout(idle);
                }
                for der in self.root_certificates_der {
                    builder = builder.add_root_certificate_der(der);
                }
                Arc::new(builder.build()?)
            }
        };
        let throttle = Throttle::new(
            self.max_concurrent_requests,
            self.requests_per_minute,
            self.tokens_per_minute,
        );
        Ok(Client {
            shared: Arc::new(Shared {
                messages_uri: format!("{base_url}{}", crate::send::MESSAGES_PATH)
                    .parse()
                    .map_err(|e| Error::config(format!("invalid base URL {base_url:?}: {e}")))?,
                base_url,
                runtime,
                transport,
                headers,
                model: self.model.unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
                max_response_bytes: self.max_response_bytes.unwrap_or(64 << 20),
                max_event_size: self
                    .max_event_size
                    .unwrap_or(claude_kit_core::sse::SseDecoder::DEFAULT_MAX_EVENT_SIZE),
                throttle,
                counters,
                closed: AtomicBool::new(false),
                secrets,
            }),
            settings: Arc::new(CallSettings {
                timeouts: self.timeouts,
                retry: self.retry,
                headers: Vec::new(),
            }),
        })
    }
}

/// Checks a base URL and returns it without a trailing `/`. A path prefix is kept (proxies and
/// gateways use one: `https://gateway/anthropic` → `https://gateway/anthropic/v1/messages`); a
/// query or fragment is refused, because request paths are appended to the URL and would land
/// inside it.
fn parse_base_url(base_url: &str) -> Result<String> {
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

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
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

const USER_AGENT: &str = concat!("claude-kit-rust/", env!("CARGO_PKG_VERSION"));
