//! [`Target`]: where a request goes (what to dial, which pool key, which `Host`), from its
//! URI and the proxy configuration, and the request rewritten for the wire accordingly.

use claude_kit_core::Error;
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderValue, Request, Uri, Version};

use http::uri::Authority;

use crate::pool::{Endpoint, Key};
use crate::proxy::{ProxyConfig, ProxyTarget};

/// Where a request goes, derived from its absolute URI and the proxy configuration.
pub(crate) struct Target {
    /// The scheme and authority of the URI this target was made from (see [`Target::is_for`]).
    scheme: Scheme,
    authority: Authority,
    pub(crate) key: Key,
    /// The host to dial: the URI host without IPv6 brackets.
    pub(crate) dial_host: String,
    /// The `Host` header value: the URI authority without user info.
    pub(crate) host_header: HeaderValue,
}

impl Target {
    pub(crate) fn from_uri(uri: &Uri, proxy: &ProxyConfig) -> Result<Self, Error> {
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
            scheme: if https { Scheme::HTTPS } else { Scheme::HTTP },
            authority: authority.clone(),
            key: Key::new(Endpoint {
                https,
                host: host.to_ascii_lowercase(),
                port,
                proxy,
            }),
            dial_host,
            host_header,
        })
    }

    /// Whether [`Target::from_uri`] would make this same target from `uri` (with the same proxy
    /// configuration): same scheme, same authority, byte for byte.
    pub(crate) fn is_for(&self, uri: &Uri) -> bool {
        uri.scheme() == Some(&self.scheme)
            && uri.authority().map(Authority::as_str) == Some(self.authority.as_str())
    }

    /// `host:port` of the origin, for error messages and the `CONNECT` request.
    pub(crate) fn display(&self) -> String {
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

    /// Whether requests go through a forwarding proxy (plain http through a proxy).
    pub(crate) fn forwarded(&self) -> bool {
        self.forward_proxy().is_some()
    }
}

/// Rewrites the request for the wire: origin-form URI (absolute-form, plus
/// `Proxy-Authorization`, for an http request through a proxy), `Host` header, HTTP/1.1.
pub(crate) fn prepare<B>(request: Request<B>, target: &Target) -> Request<B> {
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
    Request::from_parts(parts, body)
}

/// Rewrites the request for an HTTP/2 stream: absolute URI (scheme, the `Host` header's value
/// or the origin's as authority: the `:authority` pseudo-header), no `Host` header, HTTP/2.
/// Takes a request as the caller made it or as [`prepare`] rewrote it.
#[cfg(feature = "http2")]
pub(crate) fn prepare_http2<B>(request: Request<B>, target: &Target) -> Request<B> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let authority = parts
        .headers
        .remove(http::header::HOST)
        .and_then(|host| http::uri::Authority::try_from(host.as_bytes()).ok())
        .or_else(|| http::uri::Authority::try_from(target.host_header.as_bytes()).ok());
    let scheme = if target.key.https {
        Scheme::HTTPS
    } else {
        Scheme::HTTP
    };
    if let Some(authority) = authority
        && let Ok(uri) = Uri::builder()
            .scheme(scheme)
            .authority(authority)
            .path_and_query(path)
            .build()
    {
        parts.uri = uri;
    }
    parts.version = Version::HTTP_2;
    Request::from_parts(parts, body)
}

/// Undoes [`prepare_http2`] for a request that ends up on an HTTP/1.1 connection after all
/// (the server chose it): the authority goes back to the `Host` header.
#[cfg(feature = "http2")]
pub(crate) fn http1_from_http2<B>(mut request: Request<B>, target: &Target) -> Request<B> {
    if let Some(authority) = request.uri().authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(http::header::HOST, host);
    }
    prepare(request, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn target(uri: &str) -> Target {
        Target::from_uri(&uri.parse().unwrap(), &ProxyConfig::none()).unwrap()
    }

    #[test]
    fn a_target_is_for_uris_of_its_scheme_and_authority_only() {
        let made = target("http://api.example.com:8080/v1/messages");
        let is_for = |uri: &str| made.is_for(&uri.parse().unwrap());
        assert!(is_for("http://api.example.com:8080/v1/messages"));
        assert!(is_for("http://api.example.com:8080/v1/models?limit=1"));
        assert!(!is_for("https://api.example.com:8080/v1/messages"));
        assert!(!is_for("http://api.example.com/v1/messages"));
        assert!(!is_for("http://api.example.com:8081/v1/messages"));
        assert!(!is_for("http://other.example.com:8080/v1/messages"));
        // Byte for byte: the `Host` header keeps the URI's spelling.
        assert!(!is_for("http://API.example.com:8080/v1/messages"));
        assert!(!is_for("http://user@api.example.com:8080/v1/messages"));
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

    #[cfg(feature = "http2")]
    #[test]
    fn http2_requests_carry_the_authority_in_the_uri() {
        let t = target("https://user:pw@API.example.com:8443/v1/messages?beta=true");
        let request = Request::post("https://user:pw@API.example.com:8443/v1/messages?beta=true")
            .body(Bytes::new())
            .unwrap();
        let request = prepare_http2(request, &t);
        assert_eq!(
            request.uri(),
            "https://API.example.com:8443/v1/messages?beta=true"
        );
        assert_eq!(request.version(), Version::HTTP_2);
        assert!(!request.headers().contains_key(http::header::HOST));

        // An explicit Host becomes the authority, and goes back to the header for HTTP/1.1.
        let t = target("http://127.0.0.1:3000/");
        let request = Request::get("http://127.0.0.1:3000/x")
            .header("host", "example.test")
            .body(Bytes::new())
            .unwrap();
        let request = prepare_http2(request, &t);
        assert_eq!(request.uri(), "http://example.test/x");
        let request = http1_from_http2(request, &t);
        assert_eq!(request.uri(), "/x");
        assert_eq!(request.version(), Version::HTTP_11);
        assert_eq!(request.headers()[http::header::HOST], "example.test");
        // From the HTTP/1.1 form (ALPN chose HTTP/2 for a request prepared for HTTP/1.1).
        let h1 = prepare(
            Request::get("http://127.0.0.1:3000/y").body(()).unwrap(),
            &t,
        );
        assert_eq!(prepare_http2(h1, &t).uri(), "http://127.0.0.1:3000/y");
    }
}
