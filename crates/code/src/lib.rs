//! The Claude Code backend of [claude-kit](https://docs.rs/claude-kit): the Claude Code CLI
//! driven as a subprocess over its stream-json protocol, on any
//! [`Runtime`](claude_kit_rt::Runtime) that can start processes (tokio, smol, async-std, or
//! your own).
//!
//! - [`query`](fn@query): one prompt (or a stream of prompts) to a fresh CLI, its [`Message`]s back.
//! - [`AgentClient`]: one CLI for many turns, with `interrupt`, `set_model`,
//!   `set_permission_mode`, and a scoped form ([`AgentClient::with`]) that always disconnects.
//! - [`CodeOptions`]: every option of the official Agent SDKs, mapped to the CLI's argv and
//!   `initialize` request as they map them; the permission callback ([`CanUseTool`]) and hooks
//!   ([`HookCallback`]); in-process MCP servers from a
//!   [`Toolbox`](claude_kit_core::agent::Toolbox), the same tools the Messages API backend runs.
//! - [`discover`]: where the CLI is looked for; [`sessions`]: past sessions in the CLI's store.
//!
//! The protocol's pure half (frames, the control channel, the MCP bridge) is in
//! [`claude_kit_core::code`]; this crate adds the process, its tasks and its end.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod callbacks;
mod client;
pub mod discover;
mod message;
mod options;
mod pool;
mod query;
mod runtime;
mod session;
pub mod sessions;
mod trace;

pub use callbacks::{
    CanUseTool, HookCallback, HookEvent, HookInput, HookMatcher, HookOutput, PermissionDecision,
    PermissionRequest,
};
pub use client::{AgentClient, ScopedFuture};
pub use message::{InterruptReceipt, Message, MessageStream, Prompt, ServerInfo, result_error};
pub use options::{
    AgentDefinition, CodeOptions, DEFAULT_CONTROL_TIMEOUT, DEFAULT_INITIALIZE_TIMEOUT,
    DEFAULT_MAX_LINE_BYTES, ENTRYPOINT, Effort, McpServer, PermissionMode, SettingSource,
    StderrCallback, SystemPrompt, Thinking, ToolSet,
};
pub use pool::{PoolStats, WarmPool};
pub use query::query;

pub use claude_kit_core::code::frames::{
    AssistantMessage, InitInfo, ResultMessage, StreamEventMessage, SystemMessage, UserMessage,
};
