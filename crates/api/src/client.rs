//! [`Client`], what users hold, and its [`ClientBuilder`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use claude_kit_core::Result;
use claude_kit_core::policy::deadline::Timeouts;
use claude_kit_core::policy::retry::RetryPolicy;
use claude_kit_core::transport::Transport;
use claude_kit_core::types::{Message, MessageRequest};
use claude_kit_rt::{Runtime, SharedRuntime};

use crate::auth::ApiKey;
use crate::config::{Config, DEFAULT_MAX_TOKENS};
use crate::engine::{ClientStats, Engine};
use crate::meta::Response;
use crate::options::{RequestOptions, Settings};
use crate::resources::messages::Messages;
use crate::resources::models::Models;

/// A client of the Anthropic API.
///
/// Cheap to clone (an `Arc` inside): clones share the connection pool, the runtime and the
/// configuration. Dropping the last clone is always safe; [`Client::close`] additionally
/// closes idle connections and refuses new calls.
///
/// ```
/// use claude_kit_api::Client;
/// use claude_kit_core::types::MessageRequest;
///
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit_smol::block_on(async {
/// let client = Client::builder()
///     .api_key("sk-ant-...") // or Client::from_env(): ANTHROPIC_API_KEY, …
/// #   .base_url(server.url())
///     .build()?;
/// let reply = client
///     .messages()
///     .create(MessageRequest::new("claude-sonnet-4-5", 256).user("Hello"))
///     .await?;
/// println!("{} (request {:?})", reply.text(), reply.request_id());
/// assert!(reply.text().ends_with("You said: Hello"));
/// client.close().await;
/// # Ok::<_, claude_kit_core::Error>(()) })?;
/// # Ok::<_, claude_kit_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    engine: Arc<Engine>,
    settings: Arc<Settings>,
}

impl Client {
    /// A builder, starting from defaults (nothing is read from the environment).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `ANTHROPIC_API_KEY` (required),
    /// `ANTHROPIC_BASE_URL` and `ANTHROPIC_MODEL` (optional); see [`Config::from_env`].
    ///
    /// The runtime is the caller's (call this inside your tokio runtime), or one of the
    /// enabled `runtime-smol` / `runtime-async-std` features.
    pub fn from_env() -> Result<Self> {
        ClientBuilder::from_env().build()
    }

    /// The Messages API: `create`, `stream`, `count_tokens`, `batches`.
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(&self.engine, &self.settings)
    }

    /// The Models API: `list`, `get`.
    pub fn models(&self) -> Models<'_> {
        Models::new(&self.engine, &self.settings)
    }

    /// Sends `prompt` as one user message to the client's model and returns the reply.
    ///
    /// The short path of the seeds' `query(prompt=...)`; build a [`MessageRequest`] for
    /// anything more.
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
    /// # claude_kit_smol::block_on(async {
    /// # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build()?;
    /// let reply = client.query("What is Rust?").await?;
    /// assert!(reply.text().ends_with("You said: What is Rust?"));
    /// assert_eq!(reply.model, client.model());
    /// # Ok::<_, claude_kit_core::Error>(()) })?;
    /// # Ok::<_, claude_kit_core::Error>(())
    /// ```
    pub async fn query(&self, prompt: impl Into<String>) -> Result<Response<Message>> {
        let request = MessageRequest::new(self.engine.model().to_owned(), DEFAULT_MAX_TOKENS)
            .user(prompt.into());
        self.messages().create(request).await
    }

    /// A client that shares this one's connections, runtime, limits and counters, with some
    /// settings overridden: a per-call timeout, more retries, an extra header.
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
    /// # claude_kit_smol::block_on(async {
    /// # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
    /// use std::time::Duration;
    /// use claude_kit_api::RequestOptions;
    ///
    /// let quick = client.with_options(RequestOptions::new().timeout(Duration::from_secs(5)).max_retries(0))?;
    /// let reply = quick.query("Answer fast").await?;
    /// # Ok::<_, claude_kit_core::Error>(()) }).unwrap();
    /// ```
    pub fn with_options(&self, options: RequestOptions) -> Result<Client> {
        Ok(Client {
            engine: self.engine.clone(),
            settings: Arc::new(self.settings.apply(options)?),
        })
    }

    /// What the client holds right now: calls in flight or waiting, background tasks, and the
    /// connection pool. Shared by every clone and derived client.
    pub fn stats(&self) -> ClientStats {
        self.engine.stats()
    }

    /// The runtime this client runs its timers, connections and background tasks on.
    pub fn runtime(&self) -> &SharedRuntime {
        self.engine.runtime()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.engine.base_url()
    }

    /// The model [`Client::query`] uses.
    pub fn model(&self) -> &str {
        self.engine.model()
    }

    /// The deadlines of each call.
    pub fn timeouts(&self) -> Timeouts {
        *self.settings.timeouts()
    }

    /// The retry policy of this client's calls.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.settings.retry()
    }

    /// Shuts the client down gracefully: refuses new calls (they fail with
    /// [`Error::Closed`](claude_kit_core::Error::Closed)), closes idle connections, and waits up to 30 s for the calls in
    /// flight (streams included) to finish. Every clone and derived client is closed.
    /// Dropping a client without closing it is safe too; this is for an orderly exit.
    pub async fn close(&self) {
        self.close_within(Duration::from_secs(30)).await;
    }

    /// [`close`](Self::close) with a bound of your choice; returns whether every call in
    /// flight finished within it.
    pub async fn close_within(&self, bound: Duration) -> bool {
        self.engine.close_within(bound).await
    }

    /// Whether [`Client::close`] was called on this client or a clone.
    pub fn is_closed(&self) -> bool {
        self.engine.is_closed()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("engine", &self.engine)
            .field("timeouts", self.settings.timeouts())
            .field("retry", self.settings.retry())
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]: every setter writes one field of its [`Config`]; errors wait
/// for [`build`](Self::build).
///
/// ```
/// use std::time::Duration;
///
/// claude_kit_smol::block_on(async {
///     let client = claude_kit_api::Client::builder()
///         .api_key("sk-ant-example")
///         .base_url("http://127.0.0.1:8080")
///         .timeout(Duration::from_secs(30))
///         .build() // on the runtime it is built in
///         .unwrap();
///     assert_eq!(client.base_url(), "http://127.0.0.1:8080");
///     assert!(!format!("{client:?}").contains("sk-ant-example"));
/// });
/// ```
#[derive(Default)]
#[must_use]
pub struct ClientBuilder {
    config: Config,
}

impl ClientBuilder {
    /// A builder with the key, base URL and model from `ANTHROPIC_API_KEY`,
    /// `ANTHROPIC_BASE_URL` and `ANTHROPIC_MODEL` (and `ANTHROPIC_AUTH_TOKEN`,
    /// `ANTHROPIC_CUSTOM_HEADERS`); later calls override them. See [`Config::from_env`].
    pub fn from_env() -> Self {
        Self {
            config: Config::from_env(),
        }
    }

    /// The settings collected so far.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A bearer token, sent as `Authorization: Bearer …` (for gateways and OAuth), instead
    /// of or as well as an API key. From `ANTHROPIC_AUTH_TOKEN` in [`from_env`](Self::from_env).
    pub fn auth_token(mut self, token: impl Into<ApiKey>) -> Self {
        self.config.auth_token = Some(token.into());
        self
    }

    /// The API key, sent as `x-api-key`.
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.config.api_key = Some(key.into());
        self
    }

    /// Where to send requests, e.g. `http://127.0.0.1:8080` for a local server. Default
    /// [`DEFAULT_BASE_URL`](crate::DEFAULT_BASE_URL).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.config.base_url = url.into();
        self
    }

    /// The model [`Client::query`] uses. Default [`DEFAULT_MODEL`](crate::DEFAULT_MODEL).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.config.model = model.into();
        self
    }

    /// The runtime to run on, overriding the runtime `claude_kit_rt::context::choose` picks (the caller's, else the first of this crate's `runtime-*` features that can start on its own).
    pub fn runtime(self, runtime: impl Runtime) -> Self {
        self.shared_runtime(Arc::new(runtime))
    }

    /// The runtime to run on, already shared.
    pub fn shared_runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.config.runtime = Some(runtime);
        self
    }

    /// Sends requests through `transport` instead of the built-in hyper transport (a proxy, a
    /// recorder, a test double). Connection settings of this builder then do not apply.
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.config.transport = Some(Arc::new(transport));
        self
    }

    /// Trusts one more root certificate (DER) for TLS, e.g. a local server's own CA.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.config.root_certificates_der.push(der.into());
        self
    }

    /// Adds a header to every request.
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.headers.push((name.into(), value.into()));
        self
    }

    /// The total deadline of each call. Default 10 minutes.
    pub fn timeout(mut self, total: Duration) -> Self {
        self.config.timeouts.total = total;
        self
    }

    /// The deadline for the TCP connect and TLS handshake. Default 10 s.
    pub fn connect_timeout(mut self, connect: Duration) -> Self {
        self.config.timeouts.connect = connect;
        self
    }

    /// The deadline for the response headers after a request is sent. Default 10 minutes.
    pub fn response_header_timeout(mut self, response_headers: Duration) -> Self {
        self.config.timeouts.response_headers = response_headers;
        self
    }

    /// The longest wait between two chunks of a response body. Default 5 minutes.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.config.timeouts.idle = idle;
        self
    }

    /// The largest non-streaming response body accepted. Default 64 MiB.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.config.max_response_bytes = limit;
        self
    }

    /// The largest server-sent event a stream accepts; a larger one ends the stream with
    /// [`Error::Decode`](claude_kit_core::Error::Decode) instead of growing memory. Default 16 MiB.
    pub fn max_event_size(mut self, limit: usize) -> Self {
        self.config.max_event_size = limit;
        self
    }

    /// How many times a failed call is retried. Default 2, as the official SDKs.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.config.retry = self.config.retry.max_retries(retries);
        self
    }

    /// The whole retry policy: which failures, how many times, which backoff, a callback.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.config.retry = policy;
        self
    }

    /// At most `limit` requests in flight at once for this client and its clones; more wait
    /// for a slot (bounded by their total deadline). Default: no limit.
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.config.max_concurrent_requests = Some(limit.max(1));
        self
    }

    /// At most `limit` requests per minute, as a smooth rate with bursts up to a minute's
    /// worth. Default: no limit (the API's own limits still answer 429, which is retried).
    pub fn requests_per_minute(mut self, limit: u32) -> Self {
        self.config.requests_per_minute = Some(limit.max(1));
        self
    }

    /// At most `limit` tokens per minute, counting each request's input estimate plus its
    /// `max_tokens` up front and giving back what the reply did not use.
    pub fn tokens_per_minute(mut self, limit: u32) -> Self {
        self.config.tokens_per_minute = Some(limit.max(1));
        self
    }

    /// At most `limit` connections (idle and in use) to the API's host; further requests wait
    /// for one. Default: no limit.
    pub fn max_connections_per_host(mut self, limit: usize) -> Self {
        self.config.max_connections_per_host = Some(limit.max(1));
        self
    }

    /// At most `limit` idle keep-alive connections kept per host. Default 32.
    pub fn pool_max_idle_per_host(mut self, limit: usize) -> Self {
        self.config.pool_max_idle_per_host = Some(limit);
        self
    }

    /// How long an idle keep-alive connection is kept for reuse. Default 90 s.
    pub fn pool_idle_timeout(mut self, idle: Duration) -> Self {
        self.config.pool_idle_timeout = Some(idle);
        self
    }

    /// Whether to honour `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (an HTTP `CONNECT`
    /// tunnel, with `user:password@` credentials sent as `Proxy-Authorization`). Default true.
    pub fn use_env_proxy(mut self, on: bool) -> Self {
        self.config.use_env_proxy = on;
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`Error::Config`](claude_kit_core::Error::Config) when there is no API key, the key or token is not visible
    /// ASCII, the base URL is not an `http(s)://host[:port][/path]` URL (a query or fragment
    /// is refused: request paths are appended to it), a header is invalid, no runtime is
    /// available, or the transport cannot be built (no TLS provider).
    pub fn build(self) -> Result<Client> {
        let (engine, settings) = Engine::new(self.config)?;
        Ok(Client {
            engine: Arc::new(engine),
            settings: Arc::new(settings),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .finish()
    }
}
