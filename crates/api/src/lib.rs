//! The Messages API backend of [claude-kit](https://docs.rs/claude-kit): a [`Client`] that
//! runs unchanged on tokio, smol, async-std or an executor of your own.
//!
//! ```
//! use claude_kit_api::Client;
//! use claude_kit_core::types::MessageRequest;
//!
//! # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
//! # claude_kit_smol::block_on(async {
//! // Client::from_env() reads ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL, ANTHROPIC_MODEL).
//! let client = Client::builder()
//!     .api_key("sk-ant-...")
//! #   .base_url(server.url())
//!     .build()?;
//! let reply = client
//!     .messages()
//!     .create(MessageRequest::new("claude-sonnet-4-5", 256).user("Hello"))
//!     .await?;
//! println!("{}", reply.text());
//! assert!(reply.text().ends_with("You said: Hello"));
//! # Ok::<_, claude_kit_core::Error>(()) })?;
//! # Ok::<_, claude_kit_core::Error>(())
//! ```
//!
//! - [`Client`] (built by a [`ClientBuilder`] from a [`Config`]): configuration, connection
//!   pool and runtime, shared by cheap clones; [`Client::with_options`] derives one with
//!   other deadlines, retries or headers.
//! - [`Client::messages`]: `create`, `stream` ([`MessageStream`], [`TextStream`]),
//!   `count_tokens`, [`batches`]; [`Client::models`]; [`pagination`] as a `Stream`.
//! - [`ToolRunner`]: the tool loop over the shared vocabulary of `claude_kit_core::agent`.
//!
//! Inside, one private engine owns everything clients share (runtime, transport, headers,
//! limits, counters); a call runs under one `CallDeadlines` of `claude_kit_core`, retried by
//! its `RetryPolicy`, and its body is read under one lazily armed timer.
//!
//! Features: `hyper` (default, the built-in transport), `rustls-ring` and `webpki-roots`
//! (its TLS), `runtime-tokio`, `runtime-smol`, `runtime-async-std` (the runtimes a client may
//! pick on its own; [`ClientBuilder::runtime`] works without any).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod agent;
mod auth;
mod client;
mod config;
mod engine;
mod meta;
mod options;
mod resources;
mod runtime;
mod stored_headers;
mod stream;
mod trace;

pub use agent::ToolRunner;
pub use auth::ApiKey;
pub use claude_kit_core::policy::deadline::Timeouts;
pub use client::{Client, ClientBuilder};
pub use config::{API_VERSION, Config, DEFAULT_BASE_URL, DEFAULT_MAX_TOKENS, DEFAULT_MODEL};
pub use engine::ClientStats;
pub use meta::{Response, ResponseMeta};
pub use options::RequestOptions;
pub use resources::messages::Messages;
pub use resources::{batches, models, pagination};
pub use stream::{MessageStream, TextStream};
