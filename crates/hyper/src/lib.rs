//! HTTP transport for claude-kit: hyper 1.x's low-level client and rustls, over any
//! [`Runtime`], with a keep-alive connection pool; HTTP/1.1, and HTTP/2 with the `http2`
//! feature.
//!
//! The crate is runtime-free: TCP connections, timers and the background tasks that drive
//! connections all come from the `Arc<dyn Runtime>` handed to
//! [`HyperTransport::builder`], so the same transport runs on tokio, smol, async-std or an
//! executor of your own. It pulls neither tokio's reactor nor hyper-util's legacy client.
//!
//! ```
//! use std::time::Duration;
//! use claude_kit_hyper::HyperTransport;
//!
//! let runtime = std::sync::Arc::new(claude_kit_smol::SmolRuntime::new()); // any `claude_kit_rt::Runtime`
//! let transport = HyperTransport::builder(runtime)
//!     .connect_timeout(Duration::from_secs(5))
//!     .build()?;
//! assert_eq!(transport.supports_https(), cfg!(feature = "rustls-ring"));
//! # Ok::<_, claude_kit_core::Error>(())
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
//! # HTTP/2
//!
//! With the `http2` feature (off by default), TLS connections offer ALPN `h2` and `http/1.1`
//! and speak what the server picked; [`HyperTransportBuilder::http2_prior_knowledge`] speaks
//! HTTP/2 on plain TCP too (and offers only `h2` on TLS), [`HyperTransportBuilder::http1_only`]
//! turns HTTP/2 off again. hyper's HTTP/2 client runs over the same [`Runtime`]: its
//! background tasks are [`Runtime::spawn`]ed, its timers (keep-alive pings,
//! [`HyperTransportBuilder::http2_keep_alive`]) are the runtime's.
//!
//! One HTTP/2 connection per origin carries many requests at once, one stream each, up to the
//! number the server allows (its `SETTINGS_MAX_CONCURRENT_STREAMS`, read before the connection
//! is shared); past it, or once the server closed it, another connection is opened. Requests
//! that arrive while a connection to their origin is being opened wait for it instead of
//! opening their own (they count as [`PoolStats::waiting`]), and get its error if it fails.
//! Dropping a response body before its end resets its stream (`RST_STREAM`), not the
//! connection, which goes on serving the other streams and later requests. In
//! [`PoolStats`], an HTTP/2 connection is in use while it carries a stream and idle
//! otherwise; [`HyperTransportBuilder::pool_idle_timeout`] closes idle ones,
//! [`HyperTransportBuilder::max_connections_per_host`] counts connections (requests beyond
//! every allowed connection's streams queue on the least busy one).
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
//! already on a connection finish normally but their connections are closed, not pooled
//! (an HTTP/2 connection once its last stream ended).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod builder;
#[cfg(feature = "http2")]
mod h2;
mod io;
mod pool;
mod proxy;
#[cfg(feature = "http2")]
mod rt;
mod target;
mod tls;
mod tunnel;
mod version;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use claude_kit_core::transport::{Body, ConnectTimeout, Transport};
use claude_kit_core::{Error, TimeoutPhase};
use claude_kit_rt::{AsyncIo, BoxFuture, Runtime, TcpConnect};
use http::{Request, Response};
use http_body::Body as _;
use http_body_util::Full;
use rustls_pki_types::ServerName;

use crate::body::ResponseBody;
pub use crate::builder::HyperTransportBuilder;
use crate::io::HyperIo;
use crate::pool::{ConnLease, InFlight, Lease, Permit, Pool, Sender};
pub use crate::proxy::{ProxyConfig, ProxyTarget};
use crate::target::{Target, prepare};
use crate::tunnel::tunnel;
use crate::version::{Versions, Wire};
pub use claude_kit_core::transport::PoolStats;

/// An HTTP [`Transport`] over hyper and rustls, with a keep-alive pool: HTTP/1.1, and HTTP/2
/// with the `http2` feature (see the [crate docs](crate#http2)).
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
    versions: Versions,
    #[cfg(feature = "http2")]
    http2: h2::Options,
    /// The target of the last request: a client sends nearly every request to one origin, so
    /// parsing it, the proxy rules and the pool key's allocations run once, not per request.
    last_target: Mutex<Option<Arc<Target>>>,
}

/// A connection just opened and handshaken.
enum Opened {
    Http1(Sender),
    #[cfg(feature = "http2")]
    Http2(h2::Connection),
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
        versions: Versions,
        #[cfg(feature = "http2")] http2: h2::Options,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                runtime,
                tls,
                connect_timeout,
                proxy,
                pool: Arc::new(pool),
                versions,
                #[cfg(feature = "http2")]
                http2,
                last_target: Mutex::new(None),
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
            .field("versions", &self.inner.versions)
            .field("pool", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Transport for HyperTransport {
    fn send(
        &self,
        request: Request<Bytes>,
    ) -> BoxFuture<'static, claude_kit_core::Result<Response<Body>>> {
        // Counted from now, not from the first poll: a future never polled is in flight too.
        let in_flight = self.inner.pool.in_flight();
        // Routed now and boxed as one future, the request stored once: a wrapping `async`
        // layer per step held a copy of the request (256 bytes) each.
        match self.inner.route(request) {
            Ok(Route::Http1(request, target, connect_timeout)) => Box::pin(
                self.inner
                    .clone()
                    .send_http1(request, target, connect_timeout, in_flight),
            ),
            #[cfg(feature = "http2")]
            Ok(Route::Multiplexed(request, target, connect_timeout)) => Box::pin(
                self.inner
                    .clone()
                    .send_multiplexed(request, target, connect_timeout, in_flight),
            ),
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }

    /// Closes the idle connections at once and refuses new requests (they fail with
    /// [`Error::Config`], as do requests waiting for a connection slot). Requests already on
    /// a connection finish normally; their connections are then closed instead of pooled (an
    /// HTTP/2 connection after its last stream). Applies to every clone. The returned future
    /// is already complete.
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

/// Where a request goes, ready to be sent: the request as the wire wants it, its target and
/// its connect timeout.
enum Route {
    Http1(Request<Full<Bytes>>, Arc<Target>, Duration),
    #[cfg(feature = "http2")]
    Multiplexed(Request<Full<Bytes>>, Arc<Target>, Duration),
}

impl Inner {
    /// Checks that the transport is open and routes `request`: HTTP/1.1 or a shared HTTP/2
    /// connection, with the request prepared for it.
    fn route(&self, request: Request<Bytes>) -> claude_kit_core::Result<Route> {
        self.pool.check_open()?;
        let target = self.target(request.uri())?;
        // A per-request connect timeout (set by the client) wins over the transport's.
        let connect_timeout = request
            .extensions()
            .get::<ConnectTimeout>()
            .map_or(self.connect_timeout, |timeout| timeout.0);
        #[cfg(feature = "http2")]
        if self
            .versions
            .may_multiplex(target.key.https, target.forwarded())
        {
            let request = target::prepare_http2(request, &target).map(Full::new);
            return Ok(Route::Multiplexed(request, target, connect_timeout));
        }
        let request = prepare(request, &target).map(Full::new);
        Ok(Route::Http1(request, target, connect_timeout))
    }

    /// Where a request to `uri` goes: the last request's target when `uri` has its scheme and
    /// authority, a new one otherwise (which becomes the last).
    fn target(&self, uri: &http::Uri) -> claude_kit_core::Result<Arc<Target>> {
        let mut last = self
            .last_target
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(target) = last.as_ref().filter(|target| target.is_for(uri)) {
            return Ok(target.clone());
        }
        let target = Arc::new(Target::from_uri(uri, &self.proxy)?);
        *last = Some(target.clone());
        Ok(target)
    }

    /// Sends on a pooled HTTP/1.1 connection, else on a new connection. (Not an `async fn`:
    /// that would hold the request twice, its argument and the local it is moved into.)
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn holds its arguments twice"
    )]
    fn send_http1(
        self: Arc<Self>,
        mut request: Request<Full<Bytes>>,
        target: Arc<Target>,
        connect_timeout: Duration,
        in_flight: InFlight,
    ) -> impl Future<Output = claude_kit_core::Result<Response<Body>>> + Send + 'static {
        async move {
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
                    Ok(response) => return Ok(into_response(response, lease.into(), in_flight)),
                    Err(mut error) => match error.take_message() {
                        Some(unsent) => {
                            request = unsent;
                            permit = lease.into_permit();
                        }
                        None => return Err(Error::transport(error.into_error())),
                    },
                }
            }

            // A new connection is the rare path: boxed, so that its state (connecting, the TLS
            // and HTTP handshakes) is not part of every request's future (it was 4 KiB of the
            // 4.3 KiB each request allocated here, past the allocator's small-block cache).
            Box::pin(self.send_on_new_connection(
                request,
                &target,
                connect_timeout,
                permit,
                in_flight,
            ))
            .await
        }
    }

    /// Opens a connection to `target` under `permit` and sends `request` on it. (Not an
    /// `async fn`, which would hold the request twice: as its argument and as its local.)
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn holds its arguments twice"
    )]
    fn send_on_new_connection<'a>(
        &'a self,
        request: Request<Full<Bytes>>,
        target: &'a Target,
        connect_timeout: Duration,
        permit: Permit,
        in_flight: InFlight,
    ) -> impl Future<Output = claude_kit_core::Result<Response<Body>>> + Send + 'a {
        async move {
            match self.open(target, connect_timeout).await? {
                Opened::Http1(sender) => {
                    let lease = self.pool.lease_new(target.key.clone(), sender, permit);
                    send_on_new(lease, request, in_flight).await
                }
                // ALPN chose HTTP/2 for an origin last seen speaking HTTP/1.1: the connection
                // joins the shared ones (boxed: the HTTP/1.1 connections opened here do not
                // carry an HTTP/2 stream's state).
                #[cfg(feature = "http2")]
                Opened::Http2(connection) => {
                    let stream = self
                        .pool
                        .multiplexed()
                        .register(&target.key, connection, permit);
                    let request = target::prepare_http2(request, target);
                    Box::pin(send_on_new_stream(stream, request, in_flight)).await
                }
            }
        }
    }

    /// Sends on a stream of a shared HTTP/2 connection: one with room, else the one being
    /// opened (waiting for it), else a new one; or on HTTP/1.1 when the origin chose it.
    #[cfg(feature = "http2")]
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn holds its arguments twice"
    )]
    fn send_multiplexed(
        self: Arc<Self>,
        mut request: Request<Full<Bytes>>,
        target: Arc<Target>,
        connect_timeout: Duration,
        in_flight: InFlight,
    ) -> impl Future<Output = claude_kit_core::Result<Response<Body>>> + Send + 'static {
        async move {
            use crate::h2::Checkout;
            let mux = self.pool.multiplexed();
            loop {
                match mux.checkout(&target.key, target.key.https)? {
                    Checkout::Stream(mut stream) => match stream.send(request).await {
                        Ok(response) => {
                            return Ok(into_response(response, stream.into(), in_flight));
                        }
                        Err(mut error) => match error.take_message() {
                            // The connection closed before the request went out (it is dropped
                            // from the pool): try the next one.
                            Some(unsent) => request = unsent,
                            None => return Err(Error::transport(error.into_error())),
                        },
                    },
                    Checkout::Wait(wait) => wait.wait().await?,
                    Checkout::Http1 => {
                        let request = target::http1_from_http2(request, &target);
                        return self
                            .send_http1(request, target, connect_timeout, in_flight)
                            .await;
                    }
                    // Boxed, as `send_on_new_connection` is: opening is the rare path.
                    Checkout::Open(opener) => {
                        return Box::pin(self.open_multiplexed(
                            opener,
                            request,
                            &target,
                            connect_timeout,
                            in_flight,
                        ))
                        .await;
                    }
                }
            }
        }
    }

    /// Opens the connection that other requests to the origin wait for, and sends on it.
    #[cfg(feature = "http2")]
    async fn open_multiplexed(
        &self,
        opener: h2::Opener,
        request: Request<Full<Bytes>>,
        target: &Target,
        connect_timeout: Duration,
        in_flight: InFlight,
    ) -> claude_kit_core::Result<Response<Body>> {
        let opened = match self.pool.acquire(&target.key).await {
            Ok(permit) => match self.open(target, connect_timeout).await {
                Ok(opened) => Ok((opened, permit)),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        match opened {
            Ok((Opened::Http2(connection), permit)) => {
                let stream = opener.connected(connection, permit);
                send_on_new_stream(stream, request, in_flight).await
            }
            Ok((Opened::Http1(sender), permit)) => {
                opener.http1();
                let lease = self.pool.lease_new(target.key.clone(), sender, permit);
                let request = target::http1_from_http2(request, target);
                send_on_new(lease, request, in_flight).await
            }
            Err(error) => {
                opener.failed(&error);
                Err(error)
            }
        }
    }

    /// Opens a connection (TCP, the proxy's `CONNECT` tunnel for https through a proxy, TLS
    /// for https, the HTTP/1.1 or HTTP/2 handshake as [`Versions::choose`] says) within the
    /// connect timeout, and spawns its driver on the runtime.
    async fn open(
        &self,
        target: &Target,
        connect_timeout: Duration,
    ) -> claude_kit_core::Result<Opened> {
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
            let choose = |alpn: Option<&[u8]>| {
                self.versions
                    .choose(target.key.https, target.forwarded(), alpn)
                    .map_err(|message| Error::Connect {
                        target: target.display(),
                        message,
                        source: None,
                    })
            };
            let (stream, wire): (Box<dyn AsyncIo>, Wire) = match server_name {
                // The proxy tunnel, the TLS handshake and the HTTP/2 one are boxed: each
                // is ~1.1-1.6 KiB of state, which inline would be part of every connection
                // being opened, plain HTTP/1.1 ones included (their own state is ~300 bytes).
                Some(name) => {
                    if let Some(proxy) = &target.key.proxy {
                        Box::pin(tunnel(&mut tcp, proxy, target)).await?;
                    }
                    let config = self.tls.clone().ok_or_else(tls::unavailable)?;
                    let tls =
                        Box::pin(futures_rustls::TlsConnector::from(config).connect(name, tcp))
                            .await
                            .map_err(|e| Error::connect(target.display(), e))?;
                    let wire = choose(tls.get_ref().1.alpn_protocol())?;
                    (Box::new(tls), wire)
                }
                None => (tcp, choose(None)?),
            };
            match wire {
                Wire::Http1 => {
                    let (sender, connection) =
                        hyper::client::conn::http1::handshake(HyperIo::new(stream))
                            .await
                            .map_err(|e| Error::connect(target.display(), e))?;
                    // The driver ends when the connection closes, which happens once every
                    // handle to it (the pooled or leased sender) is dropped.
                    self.runtime.spawn(Box::pin(async move {
                        let _ = connection.await;
                    }));
                    Ok(Opened::Http1(sender))
                }
                #[cfg(feature = "http2")]
                Wire::Http2 => Box::pin(h2::handshake(
                    stream,
                    &self.runtime,
                    self.http2,
                    &target.display(),
                ))
                .await
                .map(Opened::Http2),
            }
        };
        claude_kit_rt::timeout(&*self.runtime, connect_timeout, open)
            .await
            .unwrap_or(Err(Error::Timeout {
                phase: TimeoutPhase::Connect,
                after: connect_timeout,
            }))
    }
}

/// Sends the request on a new HTTP/1.1 connection.
async fn send_on_new(
    mut lease: ConnLease,
    request: Request<Full<Bytes>>,
    in_flight: InFlight,
) -> claude_kit_core::Result<Response<Body>> {
    lease.sender().ready().await.map_err(Error::transport)?;
    match lease.sender().try_send_request(request).await {
        Ok(response) => Ok(into_response(response, lease.into(), in_flight)),
        Err(error) => Err(Error::transport(error.into_error())),
    }
}

/// Sends the request on the first stream of a new HTTP/2 connection.
#[cfg(feature = "http2")]
async fn send_on_new_stream(
    mut stream: h2::Stream,
    request: Request<Full<Bytes>>,
    in_flight: InFlight,
) -> claude_kit_core::Result<Response<Body>> {
    match stream.send(request).await {
        Ok(response) => Ok(into_response(response, stream.into(), in_flight)),
        Err(error) => Err(Error::transport(error.into_error())),
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
        assert!(
            crate::tls::client_config(Vec::new(), Vec::new())
                .unwrap()
                .is_none()
        );
        let error = crate::HyperTransport::https_unavailable().to_string();
        assert!(error.contains("`rustls-ring`"), "{error}");
    }
}
