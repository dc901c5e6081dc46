//! The integration tests of `claude-kit-hyper`: one binary, a module per area.

mod common;
mod limits;
mod proxy;
mod tls;
mod transport;
