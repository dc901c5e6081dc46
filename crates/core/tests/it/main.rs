//! The integration tests of `claude-kit-core`: one binary, a module per area.

mod fuzz_seeds;
mod limit_rate;
mod retry_policy;
mod sse_fixtures;
mod sse_props;
mod stream_parity;
