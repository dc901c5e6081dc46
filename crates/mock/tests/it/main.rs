//! The integration tests of `claude-kit-mock`: one binary, a module per area.

mod agent_endpoints;
mod faults;
mod server;
mod streams;
