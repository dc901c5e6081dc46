//! HTTP/2 (feature `http2`): hyper's h2 client over the runtime seam, and the multiplexed side
//! of the pool.
//!
//! A connection is opened like an HTTP/1.1 one (TCP, tunnel, TLS with ALPN), then
//! [`handshake`] runs hyper's HTTP/2 handshake with an executor and a timer from the
//! [`Runtime`] ([`crate::rt`]), spawns the connection's driver, and waits (within the connect
//! timeout) for the server's SETTINGS, so that the pool knows how many streams the connection
//! takes before it shares it ([`settings`]). [`Multiplexed`] then hands out streams on it.

mod pool;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use claude_kit_core::Error;
use claude_kit_rt::{AsyncIo, Runtime};
use http_body_util::Full;

use crate::io::HyperIo;
use crate::rt::{RtExecutor, RtTimer};
pub(crate) use pool::{Checkout, Multiplexed, Opener, Stream};
use settings::ServerSettings;

/// The request side of a hyper HTTP/2 connection; clones share the connection.
pub(crate) type Sender = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

/// HTTP/2 settings of the client, from the builder.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// Ping interval and the wait for its answer; `None`: no keep-alive pings.
    keep_alive: Option<(Duration, Duration)>,
}

impl Options {
    /// Pings every `interval` while the connection is open (idle or not), closing it when an
    /// answer takes longer than `timeout`.
    pub(crate) fn keep_alive(&mut self, interval: Duration, timeout: Duration) {
        self.keep_alive = Some((interval, timeout));
    }
}

/// A new HTTP/2 connection, whose server settings have arrived.
pub(crate) struct Connection {
    sender: Sender,
    settings: Arc<ServerSettings>,
}

/// Runs the HTTP/2 handshake on `io` and spawns the connection's driver; resolves once the
/// server's first SETTINGS frame arrived. `target` names the origin in errors.
pub(crate) async fn handshake(
    io: Box<dyn AsyncIo>,
    runtime: &Arc<dyn Runtime>,
    options: Options,
    target: &str,
) -> Result<Connection, Error> {
    let (io, settings, arrival) = settings::watch(io);
    let mut builder = hyper::client::conn::http2::Builder::new(RtExecutor::new(runtime.clone()));
    builder.timer(RtTimer::new(runtime.clone()));
    if let Some((interval, timeout)) = options.keep_alive {
        builder
            .keep_alive_interval(interval)
            .keep_alive_timeout(timeout)
            .keep_alive_while_idle(true);
    }
    let (sender, connection) = builder
        .handshake(HyperIo::new(io))
        .await
        .map_err(|e| Error::connect(target, e))?;
    // hyper spawned the task that reads and writes frames; this one dispatches requests to
    // it. It ends when every `Sender` is dropped (the pool's and its streams') or the
    // connection fails; the frame task then closes the connection once no stream is left.
    runtime.spawn(Box::pin(async move {
        let _ = connection.await;
    }));
    if !arrival.wait().await {
        return Err(Error::Connect {
            target: target.to_owned(),
            message: "the connection closed before the server's HTTP/2 SETTINGS arrived".to_owned(),
            source: None,
        });
    }
    Ok(Connection { sender, settings })
}
