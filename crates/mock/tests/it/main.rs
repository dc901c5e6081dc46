//! The integration tests of `claude-kit-mock`: one binary, a module per area.

mod agent_endpoints;
mod claude_code;
mod faults;
mod http2;
mod server;
mod streams;
