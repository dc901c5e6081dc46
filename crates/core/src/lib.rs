//! Runtime-free core of [claude-kit](https://docs.rs/claude-kit).
//!
//! This crate holds everything that does not need an executor, a socket or a clock:
//!
//! - [`types`]: serde models of the Anthropic Messages API. Unknown content blocks and unknown
//!   fields are kept as raw JSON, never dropped and never an error.
//! - [`Error`]: the one error type users match on.
//! - [`policy`]: retry, rate-limit and deadline decisions, as pure functions of `now`.
//! - [`sse`], [`stream`], [`jsonl`], [`accumulate`]: sans-IO decoders of the wire formats.
//! - [`transport`]: the [`Transport`](transport::Transport) trait: an HTTP request in, a
//!   streaming HTTP response out. The hyper transport implements it; so can a proxy, a recorder
//!   or a test double.
//!
//! Library authors depend on this crate and never choose a runtime for their users.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accumulate;
pub mod agent;
pub mod code;
pub mod error;
pub mod jsonl;
pub mod partial_json;
pub mod policy;
pub mod redact;
#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
pub mod schema;
pub mod sse;
pub mod stream;
pub mod transport;
pub mod types;

pub use error::{
    AgentResultError, ApiErrorKind, DecodeCategory, DecodeSource, Error, ErrorOrigin, Result,
    TimeoutPhase,
};
