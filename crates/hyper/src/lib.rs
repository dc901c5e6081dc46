//! HTTP transport for claude-agent (work in progress).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod io;
