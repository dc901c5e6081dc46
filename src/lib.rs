//! An SDK for Anthropic's Messages API and the agent patterns built on it, that runs unchanged
//! on **tokio, smol or async-std** — or on an executor of your own.
//!
//! # Start here
//!
//! ```no_run
//! # async fn run() -> claude_kit::Result<()> {
//! // ANTHROPIC_API_KEY must be set (the examples run offline against a mock without it).
//! let reply = claude_kit::query("Hello").await?;
//! println!("{}", reply.text());
//!
//! // Many calls: one client, cheap clones, a shared connection pool.
//! let client = claude_kit::Client::from_env()?;
//! let request = claude_kit::MessageRequest::new(client.model(), 1024).user("Hi!");
//! let reply = client.messages().create(request).await?;
//! println!("{} ({:?})", reply.text(), reply.request_id());
//! # Ok(()) }
//! ```
//!
//! - [`Client`] and [`Client::messages`]: create, stream ([`MessageStream`], [`TextStream`]),
//!   count tokens; [`batches`], [`models`], [`pagination`]; retries ([`RetryPolicy`]),
//!   deadlines ([`Timeouts`]), limits ([`Limit`]), [`ClientStats`].
//! - [`session::Session`]: a chat that keeps its history; [`tools`]: typed async tools and the
//!   [`ToolRunner`](tools::ToolRunner) loop.
//! - [`patterns`]: the seeds' asyncio patterns — `gather`, bounded maps, deadlines over a
//!   batch, task groups, work queues, a generic [`Pool`](patterns::Pool).
//! - [`blocking`]: the same client for synchronous code.
//! - [`rt`]: runtime-agnostic `block_on`, `spawn`, `sleep`, `timeout`, `spawn_blocking`.
//! - [`manual`]: the design, chapter by chapter.
//!
//! # Features
//!
//! | feature | what you get |
//! | --- | --- |
//! | `tokio` (default) | the whole SDK on tokio: `runtime-tokio` + `backend-api` + `rustls-ring` + `webpki-roots` |
//! | `smol` | the same on smol (its global executor, or your `async_executor::Executor`) |
//! | `async-std` | the same on async-std (deprecated upstream; kept for existing code bases) |
//! | `backend-api` | the Messages API backend (`claude-kit-api`): [`Client`], [`backend::ApiBackend`], … |
//! | `runtime-tokio`, `runtime-smol`, `runtime-async-std` | one runtime adapter each; no backend, no TLS |
//! | `rustls-ring`, `webpki-roots` | TLS: rustls with the ring provider; Mozilla's roots |
//! | `tracing` (default) | spans and events for `tracing` subscribers (never the key or message contents) |
//! | `http2` | HTTP/2 in the built-in transport (ALPN on TLS, prior knowledge on request) |
//! | `schemars` | tool input schemas and structured outputs from Rust types (`#[derive(JsonSchema)]`) |
//!
//! `--no-default-features --features smol` is the whole SDK on smol. Features are additive;
//! without a TLS feature `http://` works and `https://` fails when the client is built, with an
//! error that names the feature.
//!
//! # Two backends, one vocabulary
//!
//! An agent is written against [`backend::Backend`] and [`backend::Conversation`]: a turn in,
//! a stream of [`AgentEvent`](tools::AgentEvent)s out. [`agent::Agent`] drives either backend,
//! counts turns, interrupts and saves. The Messages API backend ([`backend::ApiBackend`]) runs
//! your tools in-process; the Claude Code backend (the CLI over its stream-json protocol, with
//! your tools served to it as an in-process MCP server) plugs into the same seam.
//!
//! # Which runtime
//!
//! A client runs on the runtime handed to [`ClientBuilder::runtime`], else the one it is built
//! in (inside tokio, inside an async-std task, inside [`rt::block_on`] or [`rt::scope`]), else
//! the one `CLAUDE_KIT_RUNTIME=tokio|smol|async-std` names, else smol's or async-std's global
//! executor when compiled in. [`manual::runtimes`] has the details; any executor works by
//! implementing [`rt::Runtime`].
//!
//! # For library authors
//!
//! Do not choose a runtime or a TLS stack for your users: depend on the facade without its
//! defaults and let the application's features (which unify with yours) or a
//! [`ClientBuilder::runtime`] value decide.
//!
//! ```toml
//! [dependencies]
//! claude-kit = { version = "0.1", default-features = false, features = ["backend-api"] }
//! ```
//!
//! Lower still, `claude-kit-core` (types, [`Error`], the sans-IO decoders and policies) and
//! `claude-kit-rt` (the [`Runtime`](rt::Runtime) trait and its helpers) name no runtime at
//! all: that is where an adapter for another executor, a [`Transport`](transport::Transport)
//! (a proxy, a recorder, a test double) or a new backend is written.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(feature = "backend-api", feature = "backend-code"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "backend-api", feature = "backend-code")))
)]
pub mod agent;
#[cfg(any(feature = "backend-api", feature = "backend-code"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "backend-api", feature = "backend-code")))
)]
pub mod backend;
#[cfg(feature = "backend-api")]
#[cfg_attr(docsrs, doc(cfg(feature = "backend-api")))]
pub mod blocking;
#[cfg(feature = "backend-code")]
#[cfg_attr(docsrs, doc(cfg(feature = "backend-code")))]
pub mod code;
pub mod manual;
pub mod patterns;
pub mod rt;
#[cfg(feature = "backend-api")]
#[cfg_attr(docsrs, doc(cfg(feature = "backend-api")))]
pub mod session;
pub mod tools;

#[cfg(feature = "backend-api")]
#[cfg_attr(docsrs, doc(cfg(feature = "backend-api")))]
pub use claude_kit_api::{
    API_VERSION, ApiKey, Client, ClientBuilder, ClientStats, DEFAULT_BASE_URL, DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL, MessageStream, Messages, RequestOptions, Response, TextStream, batches, models,
    pagination,
};
pub use claude_kit_core::policy::deadline::Timeouts;
pub use claude_kit_core::policy::limit::{Limit, RateLimitInfo};
pub use claude_kit_core::policy::retry::{self, RetryPolicy};
pub use claude_kit_core::types::{
    self, ContentBlock, ContentDelta, Message, MessageRequest, Role, StopReason, StreamEvent, Usage,
};
pub use claude_kit_core::{
    ApiErrorKind, DecodeCategory, DecodeSource, Error, ErrorOrigin, Result, TimeoutPhase, transport,
};
/// The built-in HTTP transport, for what [`ClientBuilder`] does not set itself: HTTP/2 with
/// prior knowledge ([`HyperTransportBuilder::http2_prior_knowledge`]) on plain TCP, keep-alive
/// pings. With the `http2` feature the built-in transport already negotiates HTTP/2 by ALPN on
/// `https://`; hand a transport built here to [`ClientBuilder::transport`].
#[cfg(all(feature = "http2", feature = "backend-api"))]
#[cfg_attr(docsrs, doc(cfg(feature = "http2")))]
pub use claude_kit_hyper::{HyperTransport, HyperTransportBuilder};

/// The `schemars` crate, for `#[derive(JsonSchema)]` on tool inputs and structured outputs
/// (feature `schemars`; see [`types::Tool::from_schema`], [`tools::ToolFn::from_schema`],
/// [`MessageRequest::output_schema`] and [`Message::parse`]).
#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
pub use schemars;

/// The README's examples, compiled as doc tests.
#[cfg(all(doctest, feature = "backend-api"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Sends `prompt` to the default model with a client configured from the environment
/// (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_MODEL`) and returns the reply.
///
/// A one-shot convenience: it builds a client, makes one call and closes the client. Hold a
/// [`Client`] to make many calls over shared connections.
#[cfg(feature = "backend-api")]
#[cfg_attr(docsrs, doc(cfg(feature = "backend-api")))]
pub async fn query(prompt: impl Into<String>) -> Result<Response<Message>> {
    let client = Client::from_env()?;
    let reply = client.query(prompt).await;
    client.close().await;
    reply
}
