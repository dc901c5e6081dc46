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
//! default TLS (or, finer grained, `runtime-tokio`, `runtime-smol`, `runtime-async-std` plus
//! `rustls-ring` and `webpki-roots`). The same code compiles and behaves the same on each.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
pub mod batches;
pub mod blocking;
mod client;
mod idle;
mod messages;
pub mod models;
mod options;
pub mod pagination;
pub mod patterns;
mod response;
pub mod rt;
mod send;
pub mod session;
mod stats;
mod streaming;
mod throttle;
pub mod tools;

pub use auth::ApiKey;
pub use claude_kit_core::policy::limit::{Limit, RateLimitInfo};
pub use claude_kit_core::policy::retry::{self, RetryPolicy};
pub use claude_kit_core::types::{
    self, ContentBlock, ContentDelta, Message, MessageRequest, Role, StopReason, StreamEvent, Usage,
};
pub use claude_kit_core::{ApiErrorKind, Error, ErrorOrigin, Result, TimeoutPhase, transport};
pub use client::{
    API_VERSION, Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_MAX_TOKENS, DEFAULT_MODEL,
    Timeouts,
};
pub use messages::Messages;
pub use options::RequestOptions;
pub use response::Response;
pub use stats::ClientStats;
pub use streaming::{MessageStream, TextStream};

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Sends `prompt` to the default model with a client configured from the environment
/// (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_MODEL`) and returns the reply.
///
/// A one-shot convenience: it builds a client, makes one call and closes the client. Hold a
/// [`Client`] to make many calls over shared connections.
pub async fn query(prompt: impl Into<String>) -> Result<Response<Message>> {
    let client = Client::from_env()?;
    let reply = client.query(prompt).await;
    client.close().await;
    reply
}
