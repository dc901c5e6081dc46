//! A synchronous client for synchronous code: the same API as [`crate::Client`], without
//! `async` or `.await`.
//!
//! ```
//! use claude_kit::{ClientBuilder, MessageRequest, blocking};
//!
//! fn main() -> claude_kit::Result<()> {
//! #   let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
//!     // blocking::Client::from_env() reads ANTHROPIC_API_KEY, …
//!     let client = blocking::Client::new(ClientBuilder::default().api_key("sk-ant-...")
//! #       .base_url(server.url())
//!     )?;
//!     let reply = client.query("Hello")?;
//!     println!("{}", reply.text());
//!
//!     let request = MessageRequest::new("claude-sonnet-4-5", 1024).user("Tell me a story");
//!     let mut text = client.messages().stream(request)?.text();
//!     for delta in &mut text {
//!         print!("{}", delta?);
//!     }
//!     println!("\n{} output tokens", text.final_message()?.usage.output_tokens);
//!     Ok(())
//! }
//! ```
//!
//! # How it runs
//!
//! The client owns its runtime, chosen like [`rt::block_on`] chooses
//! ([`RuntimeKind::preferred`]: `CLAUDE_KIT_RUNTIME`, else tokio, smol, async-std by feature)
//! or given to [`Client::with_runtime`]: with tokio, a small multi-threaded runtime with one
//! worker that belongs to the client (shut down, without waiting, when the last clone and
//! stream are dropped); with smol or async-std, their global executors. Each call blocks the
//! calling thread on that runtime until the answer is there. Any number of threads may share
//! a client (it is `Clone + Send + Sync`).
//!
//! # Not from async code
//!
//! Blocking a thread that runs async tasks stalls its event loop, and can deadlock it when the
//! call waits for one of those tasks (Python's "event loop is already running"). So every
//! blocking call made from async code — inside a tokio runtime, an async-std task, or
//! [`rt::block_on`], [`rt::spawn`] and the adapters'
//! `block_on` — returns [`Error::AsyncContext`] at once instead: use [`crate::Client`] and `.await`
//! there (or [`Client::as_async`]). Building a blocking client in async code is fine, and so
//! is calling it from a thread of [`rt::spawn_blocking`] or from
//! a `std::thread` started there. (A bare `smol::block_on` cannot be detected: the call then
//! blocks that thread, as a nested `smol::block_on` would.)

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::StreamExt;
use http::{HeaderMap, StatusCode};

use crate::rt::{self, RuntimeKind, SharedRuntime};
use crate::{
    ClientBuilder, ClientStats, Error, Message, MessageRequest, RequestOptions, Response, Result,
    StreamEvent,
};

/// What a blocking call from async code returns, as an [`Error::AsyncContext`].
const CALLED_FROM_ASYNC: &str = "claude_kit::blocking called from async code: use \
     claude_kit::Client and .await (the event loop is already running, and blocking it would \
     stall or deadlock it)";

/// A synchronous client of the Anthropic API; see the [module docs](self).
///
/// ```
/// use claude_kit::{ClientBuilder, blocking};
///
/// let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// let client = blocking::Client::new(
///     ClientBuilder::default().api_key("sk-ant-example").base_url(server.url()),
/// )?;
/// let reply = client.query("Hello")?;
/// assert!(reply.text().ends_with("You said: Hello"));
/// client.close()?;
/// # Ok::<_, claude_kit::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    // Dropped before the executor: the client's connections belong to its runtime.
    inner: crate::Client,
    executor: Arc<Executor>,
}

impl Client {
    /// Builds the client that `builder` describes on a runtime of its own, of the kind
    /// [`RuntimeKind::preferred`] picks. A runtime set on the builder is replaced by it.
    ///
    /// # Errors
    /// [`Error::Config`] for whatever [`ClientBuilder::build`] rejects, when no runtime
    /// feature is enabled, or when the runtime cannot be started.
    pub fn new(builder: ClientBuilder) -> Result<Self> {
        Self::with_runtime(RuntimeKind::preferred()?, builder)
    }

    /// [`Client::new`] on the runtime `kind`, whatever `CLAUDE_KIT_RUNTIME` says.
    ///
    /// ```
    /// use claude_kit::{ClientBuilder, blocking, rt::RuntimeKind};
    ///
    /// let server = claude_kit_mock::MockServer::start();
    /// for kind in RuntimeKind::ALL.into_iter().filter(|kind| kind.is_enabled()) {
    ///     let builder = ClientBuilder::default().api_key("k").base_url(server.url());
    ///     let client = blocking::Client::with_runtime(kind, builder)?;
    ///     assert_eq!(client.runtime_kind(), kind);
    ///     assert!(client.query("hi")?.text().ends_with("You said: hi"));
    /// }
    /// # Ok::<_, claude_kit::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Client::new`], and when `kind`'s feature is not enabled.
    pub fn with_runtime(kind: RuntimeKind, builder: ClientBuilder) -> Result<Self> {
        let executor = Arc::new(Executor::new(kind)?);
        let inner = builder.shared_runtime(executor.runtime.clone()).build()?;
        Ok(Self { inner, executor })
    }

    /// A client configured from the environment, as [`crate::Client::from_env`]:
    /// `ANTHROPIC_API_KEY` (required), `ANTHROPIC_BASE_URL`, `ANTHROPIC_MODEL`; and
    /// `CLAUDE_KIT_RUNTIME` for its runtime.
    ///
    /// # Errors
    /// [`Error::Config`] without an API key, or as [`Client::new`].
    pub fn from_env() -> Result<Self> {
        Self::new(ClientBuilder::from_env())
    }

    /// The Messages API: `create` and `stream`.
    pub fn messages(&self) -> Messages<'_> {
        Messages { client: self }
    }

    /// Sends `prompt` as one user message to the client's model and returns the reply:
    /// [`crate::Client::query`], blocking.
    ///
    /// # Errors
    /// As [`crate::Client::query`], and [`Error::AsyncContext`] when called from async code.
    pub fn query(&self, prompt: impl Into<String>) -> Result<Response<Message>> {
        self.executor.run(self.inner.query(prompt))?
    }

    /// A client sharing this one's connections, runtime, limits and counters with some
    /// settings overridden: [`crate::Client::with_options`].
    ///
    /// ```
    /// # use claude_kit::{ClientBuilder, blocking};
    /// use std::time::Duration;
    /// use claude_kit::RequestOptions;
    ///
    /// # let server = claude_kit_mock::MockServer::start();
    /// # let client = blocking::Client::new(ClientBuilder::default().api_key("k").base_url(server.url()))?;
    /// let quick = client.with_options(RequestOptions::new().timeout(Duration::from_secs(5)))?;
    /// assert_eq!(quick.as_async().timeouts().total, Duration::from_secs(5));
    /// # Ok::<_, claude_kit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid header in `options`.
    pub fn with_options(&self, options: RequestOptions) -> Result<Client> {
        Ok(Self {
            inner: self.inner.with_options(options)?,
            executor: self.executor.clone(),
        })
    }

    /// What the client holds right now: [`crate::Client::stats`].
    pub fn stats(&self) -> ClientStats {
        self.inner.stats()
    }

    /// Shuts the client down gracefully, blocking: [`crate::Client::close`]. Dropping the
    /// client without closing it is safe too.
    ///
    /// # Errors
    /// [`Error::AsyncContext`] when called from async code (there, `client.as_async().close().await`).
    pub fn close(&self) -> Result<()> {
        self.executor.run(self.inner.close())
    }

    /// The async client inside, on this client's runtime: for async code that receives a
    /// blocking client. It works as long as this client (or a clone or stream of it) lives,
    /// since that keeps its runtime.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// The kind of runtime the client runs on.
    pub fn runtime_kind(&self) -> RuntimeKind {
        self.executor.kind
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Client")
            .field("runtime", &self.executor.kind)
            .field("client", &self.inner)
            .finish()
    }
}

/// The Messages API of a blocking [`Client`]; get one with [`Client::messages`].
#[derive(Debug, Clone, Copy)]
pub struct Messages<'a> {
    client: &'a Client,
}

impl Messages<'_> {
    /// Creates a message and returns the complete reply: [`crate::Messages::create`],
    /// blocking.
    ///
    /// ```
    /// # use claude_kit::{ClientBuilder, blocking};
    /// use claude_kit::MessageRequest;
    ///
    /// # let server = claude_kit_mock::MockServer::start();
    /// # let client = blocking::Client::new(ClientBuilder::default().api_key("k").base_url(server.url()))?;
    /// let request = MessageRequest::new("claude-sonnet-4-5", 256).user("Hello");
    /// let reply = client.messages().create(request)?;
    /// assert!(reply.text().ends_with("You said: Hello"));
    /// # Ok::<_, claude_kit::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`crate::Messages::create`], and [`Error::AsyncContext`] when called from async code.
    pub fn create(&self, request: MessageRequest) -> Result<Response<Message>> {
        let client = self.client;
        client
            .executor
            .run(client.inner.messages().create(request))?
    }

    /// Creates a message and streams the reply: [`crate::Messages::stream`], blocking until
    /// the reply's first content arrived. Iterate the returned [`MessageStream`] for the
    /// events.
    ///
    /// ```
    /// # use claude_kit::{ClientBuilder, blocking};
    /// use claude_kit::MessageRequest;
    ///
    /// # let server = claude_kit_mock::MockServer::start();
    /// # let client = blocking::Client::new(ClientBuilder::default().api_key("k").base_url(server.url()))?;
    /// let request = MessageRequest::new("claude-sonnet-4-5", 256).user("Hello");
    /// let text: String = client
    ///     .messages()
    ///     .stream(request)?
    ///     .text()
    ///     .collect::<claude_kit::Result<_>>()?;
    /// assert!(text.ends_with("You said: Hello"));
    /// # Ok::<_, claude_kit::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`crate::Messages::stream`], and [`Error::AsyncContext`] when called from async code.
    pub fn stream(&self, request: MessageRequest) -> Result<MessageStream> {
        let client = self.client;
        let inner = client
            .executor
            .run(client.inner.messages().stream(request))??;
        Ok(MessageStream {
            inner,
            executor: client.executor.clone(),
            refused: false,
        })
    }
}

/// A streaming reply, as an [`Iterator`] of [`StreamEvent`]s: the blocking face of
/// [`crate::MessageStream`].
///
/// Each `next()` blocks until the next event arrives (at most the idle timeout). The stream
/// ends after `message_stop`; an error ends it with one `Err` item. Called from async code,
/// `next()` yields one [`Error::AsyncContext`] and the stream ends. Dropping it closes its
/// connection.
///
/// ```
/// # use claude_kit::{ClientBuilder, blocking};
/// use claude_kit::{ContentDelta, MessageRequest, StreamEvent};
///
/// # let server = claude_kit_mock::MockServer::start();
/// # let client = blocking::Client::new(ClientBuilder::default().api_key("k").base_url(server.url()))?;
/// let request = MessageRequest::new("claude-sonnet-4-5", 256).user("Hello");
/// let mut stream = client.messages().stream(request)?;
/// for event in &mut stream {
///     if let StreamEvent::ContentBlockDelta { delta: ContentDelta::Text(text), .. } = event? {
///         print!("{text}");
///     }
/// }
/// let message = stream.final_message()?; // the stream is finished: no more I/O
/// assert!(message.text().ends_with("You said: Hello"));
/// # Ok::<_, claude_kit::Error>(())
/// ```
#[must_use = "a stream does nothing unless polled"]
pub struct MessageStream {
    // Dropped before the executor: the stream's connection belongs to its runtime.
    inner: crate::MessageStream,
    executor: Arc<Executor>,
    /// A call from async code was refused: the stream has ended.
    refused: bool,
}

impl MessageStream {
    /// The `request-id` header: quote it when you contact support.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id()
    }

    /// The HTTP status of the response (200).
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The response headers (rate-limit headers included).
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The message accumulated from the events yielded so far; `None` before
    /// `message_start`.
    pub fn snapshot(&mut self) -> Option<&Message> {
        self.inner.snapshot()
    }

    /// Reads the rest of the stream and returns the complete message.
    ///
    /// # Errors
    /// The stream's error, if it ended with one; [`Error::AsyncContext`] when called from async
    /// code.
    pub fn final_message(self) -> Result<Message> {
        let Self {
            inner, executor, ..
        } = self;
        executor.run(inner.final_message())?
    }

    /// Reads the rest of the stream and returns the text of the message's text blocks.
    ///
    /// # Errors
    /// As [`final_message`](Self::final_message).
    pub fn final_text(self) -> Result<String> {
        Ok(self.final_message()?.text())
    }

    /// Every text delta, as it arrives: what you print to a terminal.
    pub fn text(self) -> TextStream {
        TextStream { events: self }
    }

    /// The async stream inside, for async code; it needs the runtime of the client it came
    /// from, so keep that client alive while you use it.
    pub fn into_async(self) -> crate::MessageStream {
        self.inner
    }
}

impl Iterator for MessageStream {
    type Item = Result<StreamEvent>;

    fn next(&mut self) -> Option<Result<StreamEvent>> {
        if self.refused {
            return None;
        }
        match self.executor.run(self.inner.next()) {
            Ok(item) => item,
            Err(error) => {
                self.refused = true;
                Some(Err(error))
            }
        }
    }
}

impl fmt::Debug for MessageStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::MessageStream")
            .field("stream", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The text deltas of a blocking [`MessageStream`], as an [`Iterator`]; see
/// [`MessageStream::text`].
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct TextStream {
    events: MessageStream,
}

impl TextStream {
    /// Reads the rest of the stream and returns the complete message.
    ///
    /// # Errors
    /// As [`MessageStream::final_message`].
    pub fn final_message(self) -> Result<Message> {
        self.events.final_message()
    }

    /// The underlying event stream.
    pub fn into_inner(self) -> MessageStream {
        self.events
    }
}

impl Iterator for TextStream {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Result<String>> {
        loop {
            match self.events.next()? {
                Err(error) => return Some(Err(error)),
                Ok(StreamEvent::ContentBlockDelta {
                    delta: crate::ContentDelta::Text(text),
                    ..
                }) => return Some(Ok(text)),
                Ok(_) => {}
            }
        }
    }
}

/// The runtime a blocking client owns and blocks on.
struct Executor {
    kind: RuntimeKind,
    runtime: SharedRuntime,
    /// With tokio: the client's own runtime, shut down (in the background) on drop.
    #[cfg(feature = "runtime-tokio")]
    tokio: Option<claude_kit_tokio::OwnedRuntime>,
}

impl Executor {
    fn new(kind: RuntimeKind) -> Result<Self> {
        // Checks that `kind` is compiled in, and gives smol's / async-std's global executors.
        let runtime = match kind {
            #[cfg(feature = "runtime-tokio")]
            RuntimeKind::Tokio => {
                let owned = claude_kit_tokio::OwnedRuntime::with_worker_threads(1)
                    .map_err(|e| Error::config(format!("starting a tokio runtime: {e}")))?;
                return Ok(Self {
                    kind,
                    runtime: Arc::new(owned.runtime()),
                    tokio: Some(owned),
                });
            }
            _ => kind.runtime()?,
        };
        Ok(Self {
            kind,
            runtime,
            #[cfg(feature = "runtime-tokio")]
            tokio: None,
        })
    }

    /// Blocks on `future`, or refuses with [`Error::AsyncContext`] from async code.
    fn run<F: Future>(&self, future: F) -> Result<F::Output> {
        if rt::in_async_context() {
            return Err(Error::async_context(CALLED_FROM_ASYNC));
        }
        #[cfg(feature = "runtime-tokio")]
        if let Some(owned) = &self.tokio {
            return Ok(owned.block_on(future));
        }
        Ok(self.kind.block_on(future))
    }
}
