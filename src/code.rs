//! The Claude Code backend: the Claude Code CLI driven as a subprocess over its stream-json
//! protocol (feature `backend-code`), on whichever runtime the rest of the SDK uses.
//!
//! The CLI runs the agent — its tools (Read, Edit, Bash, …), permissions, hooks, MCP servers,
//! sessions, cost accounting — and this module drives it: [`query`] for one prompt,
//! [`AgentClient`] for many turns on one process, [`WarmPool`] for processes started ahead
//! of demand, [`CodeOptions`] for everything the official Agent SDKs let you set.
//! A [`Toolbox`](crate::tools::Toolbox) of Rust tools is served to the CLI as an in-process
//! MCP server ([`CodeOptions::sdk_mcp_server`]); the same one the Messages API backend's tool
//! runner runs.
//!
//! It needs the `claude` CLI: see [`discover`] for where it is looked for
//! (`CLAUDE_CODE_PATH` first) and `scripts/install-claude-code.sh` for the pinned install.
//!
//! ```no_run
//! # async fn example() -> claude_kit::Result<()> {
//! use claude_kit::code::{CodeOptions, Message, query};
//! use futures_util::StreamExt;
//!
//! let mut messages = query("List the files here", CodeOptions::new().allowed_tools(["Bash(ls *)"]));
//! while let Some(message) = messages.next().await {
//!     match message? {
//!         Message::Assistant(reply) => print!("{}", reply.message.text()),
//!         Message::Result(result) => println!("\ncost: ${:.4}", result.total_cost_usd.unwrap_or(0.0)),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

pub use claude_kit_code::*;
