//! The integration tests of `claude-kit`: one binary, a module per area. Async cases run on
//! every runtime through `on_all_runtimes!`, against the embedded mock server or the scripted
//! hostile one (`common/hostile.rs`), on 127.0.0.1 only.
//!
//! Tests that need the whole process (a counting global allocator, environment variables,
//! runtime detection) live in the other binary, `tests/process`.

#[path = "../common/mod.rs"]
mod common;

mod agent_api;
mod backend;
#[cfg(feature = "backend-code")]
mod backend_code;
mod blocking;
mod client;
#[cfg(feature = "backend-code")]
mod code;
mod examples;
mod faults;
mod hostile;
#[cfg(all(feature = "http2", feature = "backend-api"))]
mod http2;
mod lifecycle;
mod patterns;
mod rt;
mod session;
mod soak;
mod streaming;
mod tools;
mod typed;
