//! HTTP/1.1 transport for claude-agent: hyper 1.x's low-level client and rustls, over any
//! [`Runtime`], with a keep-alive connection pool.
//!
//! The crate is runtime-free: TCP connections, timers and the background tasks that drive
//! connections all come from the `Arc<dyn Runtime>` handed to
//! [`HyperTransport::builder`], so the same transport runs on tokio, smol, async-std or an
//! executor of your own. It pulls neither tokio's reactor nor hyper-util's legacy client.
//!
//! ```no_run
//! # fn demo(runtime: std::sync::Arc<dyn claude_agent_core::rt::Runtime>) -> claude_agent_core::Result<()> {
//! use std::time::Duration;
//! use claude_agent_hyper::HyperTransport;
//!
//! let transport = HyperTransport::builder(runtime)
//!     .connect_timeout(Duration::from_secs(5))
//!     .build()?;
//! # let _ = transport; Ok(()) }
//! ```
//!
//! # Connection reuse
//!
//! Connections are pooled per (scheme, host, port). A connection returns to the pool only
//! when its response body was read to the end; a body dropped early, or one that failed,
//! closes its connection, so no request ever starts on a half-read connection. Idle
//! connections older than [`HyperTransportBuilder::pool_idle_timeout`] are closed when next
//! met, and [`Transport::close`] closes all of them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
pub mod io;
mod pool;
mod tls;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use claude_agent_core::rt::{AsyncIo, BoxFuture, Runtime};
use claude_agent_core::transport::{Body, Transport};
use claude_agent_core::{Error, TimeoutPhase};
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri, Version};
use http_body::Body as _;
use http_body_util::Full;
use rustls_pki_types::{CertificateDer, ServerName};

use crate::body::ResponseBody;
use crate::io::HyperIo;
pub use crate::pool::PoolStats;
use crate::pool::{Key, Lease, Pool};

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
    tls: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
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
            extra_roots: Vec::new(),
            tls_config: None,
        }
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
            .field("pool", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Transport for HyperTransport {
    fn send(
        &self,
        request: Request<Bytes>,
    ) -> BoxFuture<'static, claude_agent_core::Result<Response<Body>>> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.send(request).await })
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let pool = self.inner.pool.clone();
        Box::pin(async move { pool.close_idle() })
    }
}

/// Configures a [`HyperTransport`]; from [`HyperTransport::builder`].
pub struct HyperTransportBuilder {
    runtime: Arc<dyn Runtime>,
    connect_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
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
            .field("extra_roots", &self.extra_roots.len())
            .field("tls_config", &self.tls_config.is_some())
            .finish()
    }
}

impl HyperTransportBuilder {
    /// Bounds opening a connection: TCP connect plus TLS handshake (default 10 s). Past it the
    /// request fails with [`Error::Timeout`] in phase [`TimeoutPhase::Connect`].
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
    /// [`Error::Config`] when no TLS crypto provider is available (the `rustls-ring` feature
    /// is off, no process default is installed and no [`tls_config`](Self::tls_config) was
    /// given) or an extra root certificate is invalid.
    pub fn build(self) -> Result<HyperTransport, Error> {
        let tls = match self.tls_config {
            Some(config) => config,
            None => tls::client_config(self.extra_roots)?,
        };
        let pool = Arc::new(Pool::new(
            self.runtime.clone(),
            self.pool_idle_timeout,
            self.pool_max_idle_per_host,
        ));
        Ok(HyperTransport {
            inner: Arc::new(Inner {
                runtime: self.runtime,
                tls,
                connect_timeout: self.connect_timeout,
                pool,
            }),
        })
    }
}

/// Where a request goes, derived from its absolute URI.
struct Target {
    key: Key,
    /// The host to dial: the URI host without IPv6 brackets.
    dial_host: String,
    /// The `Host` header value: the URI authority without user info.
    host_header: HeaderValue,
}

impl Target {
    fn from_uri(uri: &Uri) -> Result<Self, Error> {
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
        Ok(Self {
            key: Key {
                https,
                host: host.to_ascii_lowercase(),
                port,
            },
            dial_host,
            host_header,
        })
    }

    /// `host:port` as dialled, for error messages.
    fn display(&self) -> String {
        if self.dial_host.contains(':') {
            format!("[{}]:{}", self.dial_host, self.key.port)
        } else {
            format!("{}:{}", self.dial_host, self.key.port)
        }
    }
}

/// Rewrites the request for the wire: origin-form URI, `Host` header, HTTP/1.1.
fn prepare(request: Request<Bytes>, target: &Target) -> Request<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    parts.uri = Uri::from(path);
    parts.version = Version::HTTP_11;
    parts
        .headers
        .entry(http::header::HOST)
        .or_insert_with(|| target.host_header.clone());
    Request::from_parts(parts, Full::new(body))
}

/// Wraps hyper's response: the lease moves into the body stream, or is released at once
/// when there is no body.
fn into_response(response: Response<hyper::body::Incoming>, mut lease: Lease) -> Response<Body> {
    let (parts, incoming) = response.into_parts();
    let body = if incoming.is_end_stream() {
        lease.set_reusable();
        drop(lease);
        Body::empty()
    } else {
        Body::from_stream(ResponseBody::new(incoming, lease))
    };
    Response::from_parts(parts, body)
}

impl Inner {
    async fn send(&self, request: Request<Bytes>) -> claude_agent_core::Result<Response<Body>> {
        let target = Target::from_uri(request.uri())?;
        let mut request = prepare(request, &target);

        // Pooled connections first. One the server closed meanwhile is discarded; a request
        // that was not written to it is retried on the next one.
        while let Some(mut lease) = self.pool.checkout(&target.key) {
            if lease.sender().ready().await.is_err() {
                continue;
            }
            match lease.sender().try_send_request(request).await {
                Ok(response) => return Ok(into_response(response, lease)),
                Err(mut error) => match error.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(Error::transport(error.into_error())),
                },
            }
        }

        let mut lease = self.connect(&target).await?;
        lease.sender().ready().await.map_err(Error::transport)?;
        match lease.sender().try_send_request(request).await {
            Ok(response) => Ok(into_response(response, lease)),
            Err(error) => Err(Error::transport(error.into_error())),
        }
    }

    /// Opens a connection (TCP, TLS for https, HTTP/1.1 handshake) within the connect timeout
    /// and spawns its driver on the runtime.
    async fn connect(&self, target: &Target) -> claude_agent_core::Result<Lease> {
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
        let open = async {
            let tcp = self
                .runtime
                .connect_tcp(&target.dial_host, target.key.port)
                .await
                .map_err(|e| Error::connect(target.display(), e))?;
            self.pool.note_opened();
            let stream: Box<dyn AsyncIo> = match server_name {
                Some(name) => Box::new(
                    futures_rustls::TlsConnector::from(self.tls.clone())
                        .connect(name, tcp)
                        .await
                        .map_err(|e| Error::connect(target.display(), e))?,
                ),
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
            Ok(self.pool.lease_new(target.key.clone(), sender))
        };
        claude_agent_core::rt::timeout(&*self.runtime, self.connect_timeout, open)
            .await
            .unwrap_or(Err(Error::Timeout {
                phase: TimeoutPhase::Connect,
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(uri: &str) -> Target {
        Target::from_uri(&uri.parse().unwrap()).unwrap()
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
