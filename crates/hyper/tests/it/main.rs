//! The integration tests of `claude-kit-hyper`: one binary, a module per area.

mod common;
#[cfg(feature = "http2")]
mod http2;
mod limits;
mod proxy;
mod tls;
mod transport;
