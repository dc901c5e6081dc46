//! An SDK for Anthropic's Messages API and the agent patterns built on it, that runs unchanged
//! on **tokio, smol or async-std**.
//!
//! ```no_run
//! # async fn run() -> claude_kit::Result<()> {
//! // ANTHROPIC_API_KEY must be set.
//! let reply = claude_kit::query("Hello").await?;
//! println!("{}", reply.text());
//! # Ok(()) }
//! ```
//!
//! - [`Client`]: configuration, connection pool and runtime, shared by cheap clones.
//! - [`Client::messages`]: the Messages API.
//! - [`rt`]: which async runtime the client runs on, and runtime-agnostic helpers.
//!
//! The runtime is a cargo feature: `tokio` (default), `smol` or `async-std`, each with the
//! Messages API backend and the default TLS (or, finer grained, `backend-api` plus
//! `runtime-tokio`, `runtime-smol`, `runtime-async-std`, `rustls-ring` and `webpki-roots`).
//! The same code compiles and behaves the same on each. The Messages API backend is the
//! `claude-kit-api` crate, re-exported here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "backend-api")]
pub mod agent;
#[cfg(feature = "backend-api")]
pub mod backend;
#[cfg(feature = "backend-api")]
pub mod blocking;
pub mod manual;
pub mod patterns;
pub mod rt;
#[cfg(feature = "backend-api")]
pub mod session;
pub mod tools;

#[cfg(feature = "backend-api")]
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
pub async fn query(prompt: impl Into<String>) -> Result<Response<Message>> {
    let client = Client::from_env()?;
    let reply = client.query(prompt).await;
    client.close().await;
    reply
}
