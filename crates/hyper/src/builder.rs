//! [`HyperTransportBuilder`]: the transport's configuration and how it is built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use claude_kit_core::Error;
use claude_kit_rt::Runtime;
use rustls_pki_types::CertificateDer;

use crate::pool::Pool;
use crate::version::Versions;
use crate::{HyperTransport, ProxyConfig, tcp_of, tls};

/// Default bound on TCP connect plus TLS handshake.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time an idle keep-alive connection stays reusable.
const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Default cap on idle connections per origin.
const DEFAULT_POOL_MAX_IDLE_PER_HOST: usize = 32;

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
    versions: Versions,
    #[cfg(feature = "http2")]
    http2: crate::h2::Options,
}

impl HyperTransportBuilder {
    /// The defaults: see each setter.
    pub(crate) fn new(runtime: Arc<dyn Runtime>) -> Self {
        Self {
            runtime,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            pool_max_idle_per_host: DEFAULT_POOL_MAX_IDLE_PER_HOST,
            max_connections_per_host: usize::MAX,
            proxy: ProxyConfig::none(),
            extra_roots: Vec::new(),
            tls_config: None,
            versions: Versions::default(),
            #[cfg(feature = "http2")]
            http2: crate::h2::Options::default(),
        }
    }
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
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

impl HyperTransportBuilder {
    /// Bounds opening a connection: TCP connect, the proxy's `CONNECT` when there is one, and
    /// the TLS handshake (default 10 s). Past it the request fails with [`Error::Timeout`] in phase [`TimeoutPhase::Connect`](claude_kit_core::TimeoutPhase::Connect).
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
    ///
    /// Its ALPN list is used as it is, and the server's choice decides the protocol: `h2` is
    /// HTTP/2 (which needs the `http2` feature and no [`http1_only`](Self::http1_only)),
    /// `http/1.1` or no ALPN is HTTP/1.1 (HTTP/2 with
    /// [`http2_prior_knowledge`](Self::http2_prior_knowledge)). Without the `http2` feature,
    /// offer `http/1.1` only, or nothing.
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Speaks HTTP/1.1 only, also with the `http2` feature: TLS offers ALPN `http/1.1`
    /// only. This is the default without the feature; with it, the default negotiates HTTP/2
    /// on TLS (see [`http2_prior_knowledge`](Self::http2_prior_knowledge)).
    pub fn http1_only(mut self) -> Self {
        self.versions = Versions::Http1;
        self
    }

    /// Speaks HTTP/2 on every connection, without negotiating it: on plain TCP (`http://`)
    /// the HTTP/2 connection preface is sent at once (no `Upgrade`), and TLS offers ALPN `h2`
    /// only. For servers known to speak HTTP/2, such as a local HTTP/2 server or the
    /// `claude-kit-mock` server. Requests through a forwarding proxy (`http://` through
    /// `HTTP_PROXY`) still use HTTP/1.1; a TLS server that answers ALPN with `http/1.1` gets
    /// HTTP/1.1.
    ///
    /// Without it, with the `http2` feature, `https://` connections offer ALPN `h2` and
    /// `http/1.1` and speak what the server chose; `http://` ones speak HTTP/1.1.
    ///
    /// An HTTP/2 connection is shared by the requests to its origin, up to the number of
    /// concurrent streams the server allows (its `SETTINGS_MAX_CONCURRENT_STREAMS`, read
    /// before the connection is first used); past it, another connection is opened.
    #[cfg(feature = "http2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http2")))]
    pub fn http2_prior_knowledge(mut self) -> Self {
        self.versions = Versions::PriorKnowledge;
        self
    }

    /// Sends HTTP/2 pings on every HTTP/2 connection every `interval`, idle or not, and
    /// closes a connection whose server does not answer one within `timeout` (its streams
    /// then fail with [`Error::Transport`]). Off by default: then a dead connection is
    /// noticed by the calls' own timeouts (the client's idle timeout). The timers are the
    /// runtime's.
    #[cfg(feature = "http2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http2")))]
    pub fn http2_keep_alive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.http2.keep_alive(interval, timeout);
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
            None => tls::client_config(self.extra_roots, self.versions.alpn())?,
        };
        let pool = Pool::new(
            self.runtime.clone(),
            self.pool_idle_timeout,
            self.pool_max_idle_per_host,
            self.max_connections_per_host,
        );
        Ok(HyperTransport::from_parts(
            self.runtime,
            tls,
            self.connect_timeout,
            self.proxy,
            pool,
            self.versions,
            #[cfg(feature = "http2")]
            self.http2,
        ))
    }
}
