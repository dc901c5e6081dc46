//! The transport side of the engine: the built-in hyper transport as `Config` describes it.

use std::sync::Arc;

use claude_kit_core::Result;
use claude_kit_core::transport::Transport;
use claude_kit_rt::SharedRuntime;

use crate::config::Config;

/// The hyper transport, configured from `config`.
#[cfg(feature = "hyper")]
pub(super) fn built_in_transport(
    config: &Config,
    runtime: SharedRuntime,
) -> Result<Arc<dyn Transport>> {
    use claude_kit_hyper::{HyperTransport, ProxyConfig};
    let mut builder = HyperTransport::builder(runtime).connect_timeout(config.timeouts.connect);
    if config.use_env_proxy {
        builder = builder.proxy(ProxyConfig::from_env());
    }
    if let Some(limit) = config.max_connections_per_host {
        builder = builder.max_connections_per_host(limit);
    }
    if let Some(limit) = config.pool_max_idle_per_host {
        builder = builder.pool_max_idle_per_host(limit);
    }
    if let Some(idle) = config.pool_idle_timeout {
        builder = builder.pool_idle_timeout(idle);
    }
    for der in &config.root_certificates_der {
        builder = builder.add_root_certificate_der(der.clone());
    }
    let transport = builder.build()?;
    // `https://` without TLS is a configuration error now, not at the first request.
    if !transport.supports_https() && config.base_url.trim_start().starts_with("https://") {
        return Err(HyperTransport::https_unavailable());
    }
    Ok(Arc::new(transport))
}

/// Without the `hyper` feature there is no built-in transport.
#[cfg(not(feature = "hyper"))]
pub(super) fn built_in_transport(_: &Config, _: SharedRuntime) -> Result<Arc<dyn Transport>> {
    Err(claude_kit_core::Error::config(
        "no transport: enable the `hyper` feature of claude-kit-api, or pass one with \
         ClientBuilder::transport",
    ))
}
