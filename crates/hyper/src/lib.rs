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
mod io;
mod pool;
mod proxy;
mod tls;

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use claude_kit_core::transport::{Body, ConnectTimeout, Transport};
use claude_kit_core::{Error, TimeoutPhase};
use claude_kit_rt::{AsyncIo, BoxFuture, Runtime, TcpConnect};
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri, Version};
use http_body::Body as _;
use http_body_util::Full;
use rustls_pki_types::{CertificateDer, ServerName};

use crate::body::ResponseBody;
use crate::io::HyperIo;
use crate::pool::{InFlight, Key, Lease, Permit, Pool};
pub use crate::proxy::{ProxyConfig, ProxyTarget};
pub use claude_kit_core::transport::PoolStats;

/// Default bound on TCP connect plus TLS handshake.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time an idle keep-alive connection stays reusable.
const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Default cap on idle connections per origin.
const DEFAULT_POOL_MAX_IDLE_PER_HOST: usize = 32;

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
        HyperTransportBuilder {
            runtime,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            pool_max_idle_per_host: DEFAULT_POOL_MAX_IDLE_PER_HOST,
            max_connections_per_host: usize::MAX,
            proxy: ProxyConfig::none(),
            extra_roots: Vec::new(),
            tls_config: None,
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

/// Configures a [`HyperTransport`]; from [`HyperTransport::builder`].
pub struct HyperTransportBuilder {
    runtime: Arc<dyn Runtime>,
    connect_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    max_connections_per_host: usize,
    proxy: ProxyConfig,
    extra_roots: Vec<CertificateDer<'static>>,
    tls_config: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for HyperTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransportBuilder")
            .field("runtime", &self.runtime.name())
            .field("connect_timeout", &self.connect_timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("max_connections_per_host", &self.max_connections_per_host)
            .field("proxy", &self.proxy)
            .field("extra_roots", &self.extra_roots.len())
            .field("tls_config", &self.tls_config.is_some())
            .finish()
    }
}

impl HyperTransportBuilder {
    /// Bounds opening a connection: TCP connect, the proxy's `CONNECT` when there is one, and
    /// the TLS handshake (default 10 s). Past it the request fails with [`Error::Timeout`] in phase [`TimeoutPhase::Connect`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an idle keep-alive connection stays reusable (default 90 s); older ones are
    /// closed instead of reused.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// The most idle connections kept per (scheme, host, port) (default 32); 0 disables reuse.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// The most connections, idle and in use together, per (scheme, host, port, proxy)
    /// (default: no limit). A request past it waits, without a deadline of its own, until a
    /// connection to the same origin is released (returned to the pool or closed); wrap the
    /// call in a timeout to bound that wait. 0 counts as 1.
    pub fn max_connections_per_host(mut self, max: usize) -> Self {
        self.max_connections_per_host = max;
        self
    }

    /// Which proxy requests go through (default [`ProxyConfig::none`]: direct connections).
    /// Pass [`ProxyConfig::from_env`] to honour `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
    /// `NO_PROXY`.
    pub fn proxy(mut self, config: ProxyConfig) -> Self {
        self.proxy = config;
        self
    }

    /// Trusts one more root certificate (DER), on top of the built-in roots. Validated by
    /// [`build`](Self::build). Ignored when [`tls_config`](Self::tls_config) is set.
    pub fn add_root_certificate_der(mut self, der: Vec<u8>) -> Self {
        self.extra_roots.push(CertificateDer::from(der));
        self
    }

    /// Trusts every certificate of a PEM document, on top of the built-in roots. Ignored when
    /// [`tls_config`](Self::tls_config) is set.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the document is not PEM or holds no certificate.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        self.extra_roots.extend(tls::parse_pem_certificates(pem)?);
        Ok(self)
    }

    /// Replaces the whole TLS configuration (roots, provider, ALPN, client certificates).
    /// Its ALPN list should offer `http/1.1` only, or nothing: this transport speaks HTTP/1.1.
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when an extra root certificate is invalid. Without a TLS crypto
    /// provider (the `rustls-ring` feature off, no process default installed, no
    /// [`tls_config`](Self::tls_config)) the transport is built and serves `http://`;
    /// [`HyperTransport::supports_https`] tells, and `https://` requests fail with
    /// [`Error::Config`] naming the feature.
    pub fn build(self) -> Result<HyperTransport, Error> {
        tcp_of(&*self.runtime)?;
        let tls = match self.tls_config {
            Some(config) => Some(config),
            None => tls::client_config(self.extra_roots)?,
        };
        let pool = Arc::new(Pool::new(
            self.runtime.clone(),
            self.pool_idle_timeout,
            self.pool_max_idle_per_host,
            self.max_connections_per_host,
        ));
        Ok(HyperTransport {
            inner: Arc::new(Inner {
                runtime: self.runtime,
                tls,
                connect_timeout: self.connect_timeout,
                proxy: self.proxy,
                pool,
            }),
        })
    }
}

/// Where a request goes, derived from its absolute URI and the proxy configuration.
struct Target {
    key: Key,
    /// The host to dial: the URI host without IPv6 brackets.
    dial_host: String,
    /// The `Host` header value: the URI authority without user info.
    host_header: HeaderValue,
}

impl Target {
    fn from_uri(uri: &Uri, proxy: &ProxyConfig) -> Result<Self, Error> {
        let https = match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTPS => true,
            Some(scheme) if *scheme == Scheme::HTTP => false,
            Some(scheme) => {
                return Err(Error::config(format!(
                    "unsupported URL scheme `{scheme}` in {uri}: use http:// or https://"
                )));
            }
            None => {
                return Err(Error::config(format!(
                    "request URI `{uri}` is not absolute: use http:// or https://"
                )));
            }
        };
        let (Some(authority), Some(host)) = (uri.authority(), uri.host()) else {
            return Err(Error::config(format!("request URI `{uri}` has no host")));
        };
        if host.is_empty() {
            return Err(Error::config(format!("request URI `{uri}` has no host")));
        }
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let dial_host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_owned();
        let host_port = authority
            .as_str()
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, host_port)| host_port);
        let host_header = HeaderValue::from_str(host_port)
            .map_err(|e| Error::config(format!("invalid host in `{uri}`: {e}")))?;
        let proxy = proxy.route(https, &dial_host, port)?.cloned();
        Ok(Self {
            key: Key {
                https,
                host: host.to_ascii_lowercase(),
                port,
                proxy,
            },
            dial_host,
            host_header,
        })
    }

    /// `host:port` of the origin, for error messages and the `CONNECT` request.
    fn display(&self) -> String {
        if self.dial_host.contains(':') {
            format!("[{}]:{}", self.dial_host, self.key.port)
        } else {
            format!("{}:{}", self.dial_host, self.key.port)
        }
    }

    /// An http request through a proxy: absolute-form, no tunnel.
    fn forward_proxy(&self) -> Option<&ProxyTarget> {
        self.key.proxy.as_ref().filter(|_| !self.key.https)
    }
}

/// Rewrites the request for the wire: origin-form URI (absolute-form, plus
/// `Proxy-Authorization`, for an http request through a proxy), `Host` header, HTTP/1.1.
fn prepare(request: Request<Bytes>, target: &Target) -> Request<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    parts.uri = match target.forward_proxy() {
        Some(proxy) => {
            if let Some(authorization) = proxy.authorization() {
                parts
                    .headers
                    .entry(http::header::PROXY_AUTHORIZATION)
                    .or_insert_with(|| authorization.clone());
            }
            // Scheme and authority were valid in the original URI; user info is dropped.
            Uri::builder()
                .scheme(Scheme::HTTP)
                .authority(target.host_header.as_bytes())
                .path_and_query(path.clone())
                .build()
                .unwrap_or_else(|_| Uri::from(path))
        }
        None => Uri::from(path),
    };
    parts.version = Version::HTTP_11;
    parts
        .headers
        .entry(http::header::HOST)
        .or_insert_with(|| target.host_header.clone());
    Request::from_parts(parts, Full::new(body))
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

/// Longest proxy answer to `CONNECT` read before giving up.
const MAX_CONNECT_RESPONSE: usize = 16 * 1024;

/// Asks the proxy for a tunnel to `target` over `stream` and reads its answer.
async fn tunnel(
    stream: &mut Box<dyn AsyncIo>,
    proxy: &ProxyTarget,
    target: &Target,
) -> claude_kit_core::Result<()> {
    let fail = |message: String| Error::Connect {
        target: proxy.display(),
        message,
        source: None,
    };
    let origin = target.display();
    let mut head = format!("CONNECT {origin} HTTP/1.1\r\nHost: {origin}\r\n");
    if let Some(authorization) = proxy.authorization() {
        head.push_str("Proxy-Authorization: ");
        // Built from a base64 token, so always visible ASCII.
        head.push_str(authorization.to_str().unwrap_or_default());
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    write_all(stream, head.as_bytes())
        .await
        .map_err(|e| Error::connect(proxy.display(), e))?;

    let mut buf = Vec::with_capacity(1024);
    let mut scratch = [0u8; 1024];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_CONNECT_RESPONSE {
            return Err(fail(format!(
                "the proxy's answer to CONNECT {origin} is over {MAX_CONNECT_RESPONSE} bytes"
            )));
        }
        let n = std::future::poll_fn(|cx| Pin::new(&mut **stream).poll_read(cx, &mut scratch))
            .await
            .map_err(|e| Error::connect(proxy.display(), e))?;
        if n == 0 {
            return Err(fail(format!(
                "the proxy closed the connection before answering CONNECT {origin}"
            )));
        }
        buf.extend_from_slice(&scratch[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let status_line = head.lines().next().unwrap_or_default();
    let mut words = status_line.splitn(3, ' ');
    let status = match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => {
            code.parse::<http::StatusCode>().ok()
        }
        _ => None,
    };
    match status {
        Some(status) if status.is_success() => {
            if end < buf.len() {
                // TLS has the client speak first: a proxy sending more is broken.
                return Err(fail(format!(
                    "the proxy sent unexpected data after accepting CONNECT {origin}"
                )));
            }
            Ok(())
        }
        Some(status) => Err(fail(format!(
            "the proxy refused CONNECT {origin}: {}",
            status_line
                .split_once(' ')
                .map_or(status.as_str(), |(_, rest)| rest.trim())
        ))),
        None => Err(fail(format!(
            "the proxy answered CONNECT {origin} with an invalid status line `{}`",
            status_line.escape_debug()
        ))),
    }
}

/// Writes all of `data` and flushes.
async fn write_all(stream: &mut Box<dyn AsyncIo>, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = std::future::poll_fn(|cx| Pin::new(&mut **stream).poll_write(cx, data)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    std::future::poll_fn(|cx| Pin::new(&mut **stream).poll_flush(cx)).await
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs only without `rustls-ring` (`.ci/run` does: `--no-default-features`).
    #[cfg(not(feature = "rustls-ring"))]
    #[test]
    fn without_a_crypto_provider_http_still_builds_and_https_names_the_feature() {
        assert!(tls::client_config(Vec::new()).unwrap().is_none());
        let error = HyperTransport::https_unavailable().to_string();
        assert!(error.contains("`rustls-ring`"), "{error}");
    }

    fn target(uri: &str) -> Target {
        Target::from_uri(&uri.parse().unwrap(), &ProxyConfig::none()).unwrap()
    }

    #[test]
    fn targets_from_uris() {
        let t = target("https://API.anthropic.com/v1/messages");
        assert_eq!(
            (t.key.https, t.key.host.as_str(), t.key.port),
            (true, "api.anthropic.com", 443)
        );
        assert_eq!(t.host_header, "API.anthropic.com");
        let t = target("http://user:pw@[::1]:8080/x");
        assert_eq!(
            (t.key.https, t.dial_host.as_str(), t.key.port),
            (false, "::1", 8080)
        );
        assert_eq!(t.host_header, "[::1]:8080");
        assert_eq!(t.display(), "[::1]:8080");
    }

    #[test]
    fn the_pool_key_includes_the_proxy() {
        let uri: Uri = "https://api.example.com/v1".parse().unwrap();
        let a = ProxyConfig::from_values(None, Some("http://a:1"), None).unwrap();
        let b = ProxyConfig::from_values(None, Some("http://u:p@a:1"), None).unwrap();
        let excluded =
            ProxyConfig::from_values(None, Some("http://a:1"), Some("example.com")).unwrap();
        let keys: Vec<Key> = [&a, &b, &excluded, &ProxyConfig::none()]
            .into_iter()
            .map(|proxy| Target::from_uri(&uri, proxy).unwrap().key)
            .collect();
        assert_eq!(keys[0].proxy.as_ref().unwrap().host(), "a");
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[3]);
        assert_eq!(keys[2], keys[3]);
    }

    #[test]
    fn http_through_a_proxy_goes_out_in_absolute_form() {
        let proxy = ProxyConfig::from_values(Some("http://u:p@proxy:3128"), None, None).unwrap();
        let uri: Uri = "http://user:pw@Example.com:8080/a?b=c".parse().unwrap();
        let t = Target::from_uri(&uri, &proxy).unwrap();
        let request = prepare(Request::get(uri).body(Bytes::new()).unwrap(), &t);
        assert_eq!(request.uri(), "http://Example.com:8080/a?b=c");
        assert_eq!(request.headers()[http::header::HOST], "Example.com:8080");
        assert_eq!(
            request.headers()[http::header::PROXY_AUTHORIZATION],
            "Basic dTpw"
        );
        // https through the same kind of proxy is tunnelled: origin-form, no credentials.
        let proxy = ProxyConfig::from_values(None, Some("http://u:p@proxy:3128"), None).unwrap();
        let uri: Uri = "https://example.com/a".parse().unwrap();
        let t = Target::from_uri(&uri, &proxy).unwrap();
        let request = prepare(Request::get(uri).body(Bytes::new()).unwrap(), &t);
        assert_eq!(request.uri(), "/a");
        assert!(
            !request
                .headers()
                .contains_key(http::header::PROXY_AUTHORIZATION)
        );
    }

    #[test]
    fn an_unusable_environment_proxy_fails_the_request() {
        let proxy = ProxyConfig::from_lookup(|name| {
            (name == "HTTPS_PROXY").then(|| "socks5://p:1080".to_owned())
        });
        let uri: Uri = "https://api.example.com/".parse().unwrap();
        let error = Target::from_uri(&uri, &proxy).err().unwrap();
        assert!(matches!(error, Error::Config { .. }), "{error:?}");
    }

    #[test]
    fn requests_go_out_in_origin_form() {
        let t = target("http://localhost:3000");
        let request = Request::get("http://localhost:3000")
            .body(Bytes::new())
            .unwrap();
        let request = prepare(request, &t);
        assert_eq!(request.uri(), "/");
        assert_eq!(request.headers()[http::header::HOST], "localhost:3000");
    }
}

/// The runtime's TCP capability, or the configuration error that names what is missing.
fn tcp_of(runtime: &dyn Runtime) -> Result<&dyn TcpConnect, Error> {
    runtime.tcp().ok_or_else(|| {
        Error::config(format!(
            "the {} runtime has no TCP capability (Runtime::tcp): the HTTP transport needs one",
            runtime.name()
        ))
    })
}
