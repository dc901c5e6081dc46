//! The transport side of the engine: the built-in hyper transport as `Config` describes it,
//! and what is done to every response's headers before anyone sees them.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};

use claude_kit_core::Result;
use claude_kit_core::redact::Secrets;
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

/// What is done to a response's headers before anyone sees them:
///
/// - every value that contains the key or token is marked sensitive, so that the `Debug` of
///   the headers (in a retry event, a response, a log line) never shows it;
/// - the values are moved into one buffer of their own. hyper hands them out as slices of the
///   connection's read buffer, so headers kept for as long as a stream is open (its
///   [`ResponseMeta`](crate::ResponseMeta)) would pin that 8 KiB buffer and make the
///   connection allocate a second one for the body. One copy of a few hundred bytes instead.
pub(super) fn own_headers(headers: &mut HeaderMap, secrets: &Secrets) {
    // Room for a typical API response's headers; more grows the buffer.
    let mut buffer = Vec::with_capacity(1024);
    for value in headers.values() {
        buffer.extend_from_slice(value.as_bytes());
    }
    let buffer = bytes::Bytes::from(buffer);
    let mut start = 0;
    for value in headers.values_mut() {
        let end = start + value.len();
        // Cannot fail (the bytes were a valid value a moment ago); if it did, the value stays.
        if let Ok(mut owned) = HeaderValue::from_maybe_shared(buffer.slice(start..end)) {
            owned.set_sensitive(value.is_sensitive());
            *value = owned;
        }
        start = end;
        if secrets.appears_in(value.as_bytes()) {
            value.set_sensitive(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_copied_out_of_the_read_buffer_and_secrets_hidden() {
        let key = "sk-ant-api03-secret-key-0123456789";
        // As hyper hands them out: slices of the connection's read buffer.
        let read_buffer = bytes::Bytes::from(format!("req_123abc{key} 42"));
        let slice = |range: std::ops::Range<usize>| {
            HeaderValue::from_maybe_shared(read_buffer.slice(range)).unwrap()
        };
        let mut headers = HeaderMap::new();
        headers.insert("request-id", slice(0..10));
        headers.insert("x-echo", slice(10..10 + key.len()));
        headers.append("x-echo", slice(read_buffer.len() - 2..read_buffer.len()));
        let mut hidden = slice(0..3);
        hidden.set_sensitive(true);
        headers.insert("x-hidden", hidden);

        own_headers(&mut headers, &Secrets::new([key]));

        let buffer = read_buffer.as_ptr_range();
        for value in headers.values() {
            assert!(
                !buffer.contains(&value.as_bytes().as_ptr()),
                "a value still points into the read buffer"
            );
        }
        assert_eq!(headers["request-id"], "req_123abc");
        assert!(!headers["request-id"].is_sensitive());
        let echoes: Vec<_> = headers.get_all("x-echo").iter().collect();
        assert_eq!(echoes.len(), 2);
        assert_eq!(echoes[0].as_bytes(), key.as_bytes());
        assert!(echoes[0].is_sensitive(), "the echoed key is hidden");
        assert_eq!(echoes[1], "42");
        assert!(!echoes[1].is_sensitive());
        assert!(
            headers["x-hidden"].is_sensitive(),
            "a sensitive value stays sensitive"
        );
        assert!(!format!("{headers:?}").contains(key));
    }
}
