//! The pure half of Claude Code's stream-json protocol (the CLI driven as a subprocess): what
//! the Claude Code backend and its fuzzers share, without I/O.
//!
//! - [`frames`]: the frames on the CLI's stdout, typed (`system` with `init`, `assistant`,
//!   `user`, `stream_event`, `result`, …; unknown types kept raw, never an error).
//! - [`control`]: the control protocol — request ids, pending requests, the CLI's requests
//!   and their cancellation, every pending request failed at once at EOF.
//! - [`mcp`]: in-process MCP servers — a `Toolbox` answering the CLI's `mcp_message` JSON-RPC.

pub mod control;
pub mod frames;
pub mod mcp;
