//! HTTP/1.1 transport for claude-kit: hyper 1.x's low-level client and rustls, over any
//! [`Runtime`], with a keep-alive connection pool.
//!
//! The crate is runtime-free: TCP connections, timers and the background tasks that drive
//! connections all come from the `Arc<dyn Runtime>` handed to
//! [`HyperTransport::builder`], so the same transport runs on tokio, smol, async-std or an
//! executor of your own. It pulls neither tokio's reactor nor hyper-util's legacy client.
//!
//! ```no_run
//! # fn demo(runtime: std::sync::Arc<dyn claude_kit_rt::Runtime>) -> claude_kit_core::Result<()> {
//! use std::time::Duration;
//! use claude_kit_hyper::HyperTransport;
//!
//! let transport = HyperTransport::builder(runtime)
//!     .connect_timeout(Duration::from_secs(5))
//!     .build()?;
//! # let _ = transport; Ok(()) }
//! ```
//!
//! # Connection reuse
//!
//! Connections are pooled per (scheme, host, port, proxy). A connection returns to the pool
//! only when its response body was read to the end; a body dropped early, or one that failed,
//! closes its connection, so no request ever starts on a half-read connection. Idle
//! connections older than [`HyperTransportBuilder::pool_idle_timeout`] are closed when next
//! met. [`HyperTransportBuilder::max_connections_per_host`] bounds the connections (idle and
//! in use) per origin; requests past it wait for one to be released.
//!
//! # Proxies
//!
//! [`HyperTransportBuilder::proxy`] takes a [`ProxyConfig`] (none by default;
//! [`ProxyConfig::from_env`] reads `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`).
//! https requests go through an HTTP `CONNECT` tunnel with TLS end to end inside it; http
//! requests are sent to the proxy in absolute form. Credentials in the proxy URL are sent as
//! `Proxy-Authorization: Basic`.
//!
//! # Closing
//!
//! [`Transport::close`] closes the idle connections; afterwards new requests fail with
//! [`Error::Config`], requests waiting for a connection slot fail the same way, and requests
//! already on a connection finish normally but their connections are closed, not pooled.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod builder;
mod io;
mod pool;
mod proxy;
mod target;
mod tls;
mod tunnel;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use claude_kit_core::transport::{Body, ConnectTimeout, Transport};
use claude_kit_core::{Error, TimeoutPhase};
use claude_kit_rt::{AsyncIo, BoxFuture, Runtime, TcpConnect};
use http::{Request, Response};
use http_body::Body as _;
use rustls_pki_types::ServerName;

use crate::body::ResponseBody;
pub use crate::builder::HyperTransportBuilder;
use crate::io::HyperIo;
use crate::pool::{InFlight, Lease, Permit, Pool};
pub use crate::proxy::{ProxyConfig, ProxyTarget};
use crate::target::{Target, prepare};
use crate::tunnel::tunnel;
pub use claude_kit_core::transport::PoolStats;

/// An HTTP/1.1 [`Transport`] over hyper and rustls, with a keep-alive pool.
///
/// Cheap to clone: clones share the pool and the TLS configuration.
#[derive(Clone)]
pub struct HyperTransport {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Arc<dyn Runtime>,
    /// `None` without a TLS crypto provider: `https://` then fails with [`tls::unavailable`].
    tls: Option<Arc<rustls::ClientConfig>>,
    connect_timeout: Duration,
    proxy: ProxyConfig,
    pool: Arc<Pool>,
}

impl HyperTransport {
    /// Starts configuring a transport that does its I/O, timers and background tasks on
    /// `runtime`.
    pub fn builder(runtime: Arc<dyn Runtime>) -> HyperTransportBuilder {
        HyperTransportBuilder::new(runtime)
    }

    /// A transport from its parts; see [`HyperTransportBuilder::build`].
    pub(crate) fn from_parts(
        runtime: Arc<dyn Runtime>,
        tls: Option<Arc<rustls::ClientConfig>>,
        connect_timeout: Duration,
        proxy: ProxyConfig,
        pool: Pool,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                runtime,
                tls,
                connect_timeout,
                proxy,
                pool: Arc::new(pool),
            }),
        }
    }

    /// Whether `https://` can be used: a TLS crypto provider was available at build time.
    pub fn supports_https(&self) -> bool {
        self.inner.tls.is_some()
    }

    /// The error `https://` requests fail with when [`supports_https`](Self::supports_https)
    /// is false.
    pub fn https_unavailable() -> Error {
        tls::unavailable()
    }

    /// A snapshot of the connection pool.
    pub fn stats(&self) -> PoolStats {
        self.inner.pool.stats()
    }
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport")
            .field("runtime", &self.inner.runtime.name())
            .field("connect_timeout", &self.inner.connect_timeout)
            .field("proxy", &self.inner.proxy)
            .field("pool", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Transport for HyperTransport {
    fn send(
        &self,
        request: Request<Bytes>,
    ) -> BoxFuture<'static, claude_kit_core::Result<Response<Body>>> {
        let inner = self.inner.clone();
        // Counted from now, not from the first poll: a future never polled is in flight too.
        let in_flight = inner.pool.in_flight();
        Box::pin(async move { inner.send(request, in_flight).await })
    }

    /// Closes the idle connections at once and refuses new requests (they fail with
    /// [`Error::Config`], as do requests waiting for a connection slot). Requests already on
    /// a connection finish normally; their connections are then closed instead of pooled.
    /// Applies to every clone. The returned future is already complete.
    fn close(&self) -> BoxFuture<'static, ()> {
        self.inner.pool.close();
        Box::pin(std::future::ready(()))
    }

    fn pool_stats(&self) -> Option<PoolStats> {
        Some(self.stats())
    }
}

/// Wraps hyper's response: the lease and the in-flight count move into the body stream, or
/// are released at once when there is no body.
fn into_response(
    response: Response<hyper::body::Incoming>,
    mut lease: Lease,
    in_flight: InFlight,
) -> Response<Body> {
    let (parts, incoming) = response.into_parts();
    let body = if incoming.is_end_stream() {
        lease.set_reusable();
        drop(lease);
        drop(in_flight);
        Body::empty()
    } else {
        Body::from_stream(ResponseBody::new(incoming, lease, in_flight))
    };
    Response::from_parts(parts, body)
}

impl Inner {
    async fn send(
        &self,
        request: Request<Bytes>,
        in_flight: InFlight,
    ) -> claude_kit_core::Result<Response<Body>> {
        self.pool.check_open()?;
        let target = Target::from_uri(request.uri(), &self.proxy)?;
        // A per-request connect timeout (set by the client) wins over the transport's.
        let connect_timeout = request
            .extensions()
            .get::<ConnectTimeout>()
            .map_or(self.connect_timeout, |timeout| timeout.0);
        let mut request = prepare(request, &target);
        let mut permit = self.pool.acquire(&target.key).await?;

        // Pooled connections first. One the server closed meanwhile is discarded; a request
        // that was not written to it is retried on the next one.
        loop {
            let mut lease = match self.pool.checkout(&target.key, permit) {
                Ok(lease) => lease,
                Err(unused) => {
                    permit = unused;
                    break;
                }
            };
            if lease.sender().ready().await.is_err() {
                permit = lease.into_permit();
                continue;
            }
            match lease.sender().try_send_request(request).await {
                Ok(response) => return Ok(into_response(response, lease, in_flight)),
                Err(mut error) => match error.take_message() {
                    Some(unsent) => {
                        request = unsent;
                        permit = lease.into_permit();
                    }
                    None => return Err(Error::transport(error.into_error())),
                },
            }
        }

        let mut lease = self.connect(&target, permit, connect_timeout).await?;
        lease.sender().ready().await.map_err(Error::transport)?;
        match lease.sender().try_send_request(request).await {
            Ok(response) => Ok(into_response(response, lease, in_flight)),
            Err(error) => Err(Error::transport(error.into_error())),
        }
    }

    /// Opens a connection (TCP, the proxy's `CONNECT` tunnel for https through a proxy, TLS
    /// for https, HTTP/1.1 handshake) within the connect timeout and spawns its driver on the
    /// runtime.
    async fn connect(
        &self,
        target: &Target,
        permit: Permit,
        connect_timeout: Duration,
    ) -> claude_kit_core::Result<Lease> {
        let server_name = if target.key.https {
            Some(ServerName::try_from(target.dial_host.clone()).map_err(|e| {
                Error::config(format!(
                    "invalid TLS server name `{}`: {e}",
                    target.dial_host
                ))
            })?)
        } else {
            None
        };
        let _connecting = self.pool.connecting();
        let open = async {
            let mut tcp = match &target.key.proxy {
                Some(proxy) => tcp_of(&*self.runtime)?
                    .connect_tcp(proxy.host(), proxy.port())
                    .await
                    .map_err(|e| Error::connect(proxy.display(), e))?,
                None => tcp_of(&*self.runtime)?
                    .connect_tcp(&target.dial_host, target.key.port)
                    .await
                    .map_err(|e| Error::connect(target.display(), e))?,
            };
            self.pool.note_opened();
            let stream: Box<dyn AsyncIo> = match server_name {
                Some(name) => {
                    if let Some(proxy) = &target.key.proxy {
                        tunnel(&mut tcp, proxy, target).await?;
                    }
                    let config = self.tls.clone().ok_or_else(tls::unavailable)?;
                    Box::new(
                        futures_rustls::TlsConnector::from(config)
                            .connect(name, tcp)
                            .await
                            .map_err(|e| Error::connect(target.display(), e))?,
                    )
                }
                None => tcp,
            };
            let (sender, connection) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
                .await
                .map_err(|e| Error::connect(target.display(), e))?;
            // The driver ends when the connection closes, which happens once every handle to
            // it (the pooled or leased sender) is dropped.
            self.runtime.spawn(Box::pin(async move {
                let _ = connection.await;
            }));
            Ok(sender)
        };
        let sender = claude_kit_rt::timeout(&*self.runtime, connect_timeout, open)
            .await
            .unwrap_or(Err(Error::Timeout {
                phase: TimeoutPhase::Connect,
                after: connect_timeout,
            }))?;
        Ok(self.pool.lease_new(target.key.clone(), sender, permit))
    }
}

/// The runtime's TCP capability, or the configuration error that names what is missing.
pub(crate) fn tcp_of(runtime: &dyn Runtime) -> Result<&dyn TcpConnect, Error> {
    runtime.tcp().ok_or_else(|| {
        Error::config(format!(
            "the {} runtime has no TCP capability (Runtime::tcp): the HTTP transport needs one",
            runtime.name()
        ))
    })
}

#[cfg(test)]
mod tests {
    /// Runs only without `rustls-ring` (`.ci/run` does: `--no-default-features`).
    #[cfg(not(feature = "rustls-ring"))]
    #[test]
    fn without_a_crypto_provider_http_still_builds_and_https_names_the_feature() {
        assert!(crate::tls::client_config(Vec::new()).unwrap().is_none());
        let error = crate::HyperTransport::https_unavailable().to_string();
        assert!(error.contains("`rustls-ring`"), "{error}");
    }
}
