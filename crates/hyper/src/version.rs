//! Which HTTP version a connection speaks: what TLS offers in ALPN, and what a new connection
//! speaks given the server's answer. Pure decisions, taken once per connection.

/// The HTTP versions a transport may speak; from the builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Versions {
    /// HTTP/1.1 only: ALPN offers `http/1.1`. The default without the `http2` feature, and
    /// [`HyperTransportBuilder::http1_only`](crate::HyperTransportBuilder::http1_only).
    #[cfg_attr(not(feature = "http2"), default)]
    Http1,
    /// HTTP/2 where TLS negotiates it (ALPN `h2`, `http/1.1`), HTTP/1.1 elsewhere. The default
    /// with the `http2` feature.
    #[cfg(feature = "http2")]
    #[default]
    Negotiate,
    /// HTTP/2 on every connection (prior knowledge): plain TCP without an upgrade, ALPN `h2`
    /// only on TLS. HTTP/1.1 only where it must: through a forwarding proxy (plain `http://`
    /// through `HTTP_PROXY`), or when the server's ALPN answer says `http/1.1`.
    #[cfg(feature = "http2")]
    PriorKnowledge,
}

/// What one connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    Http1,
    #[cfg(feature = "http2")]
    Http2,
}

const H2: &[u8] = b"h2";
const HTTP_11: &[u8] = b"http/1.1";

impl Versions {
    /// The ALPN protocols the default TLS configuration offers, most preferred first.
    pub(crate) fn alpn(self) -> Vec<Vec<u8>> {
        match self {
            Versions::Http1 => vec![HTTP_11.to_vec()],
            #[cfg(feature = "http2")]
            Versions::Negotiate => vec![H2.to_vec(), HTTP_11.to_vec()],
            #[cfg(feature = "http2")]
            Versions::PriorKnowledge => vec![H2.to_vec()],
        }
    }

    /// Whether a request may end up on a shared HTTP/2 connection, so that it should look for
    /// one (or wait for one being opened) before opening its own: `https` is the scheme,
    /// `forwarded` tells that a plain request goes through a forwarding proxy.
    #[cfg(feature = "http2")]
    pub(crate) fn may_multiplex(self, https: bool, forwarded: bool) -> bool {
        match self {
            Versions::Http1 => false,
            Versions::Negotiate => https,
            Versions::PriorKnowledge => https || !forwarded,
        }
    }

    /// What a new connection speaks: `alpn` is the protocol the TLS handshake agreed on
    /// (`None` on plain TCP or when the server ignored ALPN). The error says why the
    /// connection cannot be used.
    #[cfg_attr(not(feature = "http2"), allow(unused_variables))]
    pub(crate) fn choose(
        self,
        https: bool,
        forwarded: bool,
        alpn: Option<&[u8]>,
    ) -> Result<Wire, String> {
        match alpn {
            Some(HTTP_11) => Ok(Wire::Http1),
            Some(H2) => match self {
                #[cfg(feature = "http2")]
                Versions::Negotiate | Versions::PriorKnowledge => Ok(Wire::Http2),
                _ => Err(
                    "the server chose HTTP/2 (ALPN `h2`), which this transport does not \
                          speak: enable the `http2` feature, or offer only `http/1.1` in the \
                          TLS configuration"
                        .to_owned(),
                ),
            },
            Some(other) => Err(format!(
                "the server chose the ALPN protocol `{}`, which is not HTTP",
                String::from_utf8_lossy(other).escape_debug()
            )),
            None => match self {
                #[cfg(feature = "http2")]
                Versions::PriorKnowledge if https || !forwarded => Ok(Wire::Http2),
                _ => Ok(Wire::Http1),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http1_only() {
        let v = Versions::Http1;
        assert_eq!(v.alpn(), [b"http/1.1".to_vec()]);
        #[cfg(feature = "http2")]
        assert!(!v.may_multiplex(true, false));
        assert_eq!(v.choose(true, false, Some(b"http/1.1")), Ok(Wire::Http1));
        assert_eq!(v.choose(false, false, None), Ok(Wire::Http1));
        let error = v.choose(true, false, Some(b"h2")).unwrap_err();
        assert!(error.contains("`http2` feature"), "{error}");
        assert!(v.choose(true, false, Some(b"spdy/3")).is_err());
    }

    #[cfg(not(feature = "http2"))]
    #[test]
    fn without_the_feature_the_default_is_http1() {
        assert_eq!(Versions::default(), Versions::Http1);
    }

    #[cfg(feature = "http2")]
    #[test]
    fn negotiate_is_the_default_with_the_feature() {
        let v = Versions::default();
        assert_eq!(v, Versions::Negotiate);
        assert_eq!(v.alpn(), [b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert!(v.may_multiplex(true, false) && !v.may_multiplex(false, false));
        assert_eq!(v.choose(true, false, Some(b"h2")), Ok(Wire::Http2));
        assert_eq!(v.choose(true, false, Some(b"http/1.1")), Ok(Wire::Http1));
        // A server without ALPN speaks HTTP/1.1; so does plain TCP.
        assert_eq!(v.choose(true, false, None), Ok(Wire::Http1));
        assert_eq!(v.choose(false, false, None), Ok(Wire::Http1));
    }

    #[cfg(feature = "http2")]
    #[test]
    fn prior_knowledge() {
        let v = Versions::PriorKnowledge;
        assert_eq!(v.alpn(), [b"h2".to_vec()]);
        assert!(v.may_multiplex(false, false) && v.may_multiplex(true, true));
        assert_eq!(v.choose(false, false, None), Ok(Wire::Http2));
        assert_eq!(v.choose(true, false, None), Ok(Wire::Http2));
        // A forwarding proxy speaks HTTP/1.1 (absolute-form requests); a tunnel does not
        // matter. An explicit `http/1.1` answer wins over prior knowledge.
        assert!(!v.may_multiplex(false, true));
        assert_eq!(v.choose(false, true, None), Ok(Wire::Http1));
        assert_eq!(v.choose(true, true, None), Ok(Wire::Http2));
        assert_eq!(v.choose(true, false, Some(b"http/1.1")), Ok(Wire::Http1));
    }
}
