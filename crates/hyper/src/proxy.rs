//! Proxy configuration: which HTTP proxy a request goes through, from the environment
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) or from explicit values.
//!
//! https targets go through an HTTP `CONNECT` tunnel (TLS runs end to end inside it); http
//! targets are sent to the proxy in absolute form (`GET http://host/path HTTP/1.1`).

use std::fmt;
use std::net::IpAddr;

use claude_kit_core::Error;
use http::HeaderValue;

/// An HTTP proxy: where to dial, and the credentials to present (`Proxy-Authorization:
/// Basic ...`) when the proxy URL carried `user:password@`.
///
/// `Debug` never shows the credentials.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyTarget {
    host: String,
    port: u16,
    authorization: Option<HeaderValue>,
}

impl ProxyTarget {
    /// Parses a proxy URL: `http://[user[:password]@]host[:port][/]`, or the same without
    /// `http://`. The port defaults to 80; user and password may be percent-encoded.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an `https://` proxy (not supported: use `http://`), a SOCKS
    /// proxy, any other scheme, or a URL without a valid host and port. The message never
    /// repeats the credentials.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let url = url.trim();
        let invalid =
            |why: &str| Error::config(format!("invalid proxy URL `{}`: {why}", redact_url(url)));
        let rest = match url.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = scheme.to_ascii_lowercase();
                match scheme.as_str() {
                    "http" => rest,
                    "https" => {
                        return Err(Error::config(format!(
                            "HTTPS proxies are not supported; use http:// (proxy `{}`)",
                            redact_url(url)
                        )));
                    }
                    s if s.starts_with("socks") => {
                        return Err(Error::config(format!(
                            "SOCKS proxies are not supported; use an http:// proxy (proxy `{}`)",
                            redact_url(url)
                        )));
                    }
                    _ => return Err(invalid("unsupported scheme: use http://")),
                }
            }
            None => url,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port).ok_or_else(|| invalid("bad host or port"))?;
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        // Let `http` validate the host's characters.
        if host_port.parse::<http::uri::Authority>().is_err() {
            return Err(invalid("bad host"));
        }
        let authorization = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let user = percent_decode(user).ok_or_else(|| invalid("bad user name"))?;
                let password = percent_decode(password).ok_or_else(|| invalid("bad password"))?;
                let token = base64(format!("{user}:{password}").as_bytes());
                let mut value = HeaderValue::from_str(&format!("Basic {token}"))
                    .map_err(|_| invalid("bad credentials"))?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(Self {
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(80),
            authorization,
        })
    }

    /// The proxy's host name or IP address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the proxy URL carried credentials, sent as `Proxy-Authorization: Basic`.
    pub fn has_credentials(&self) -> bool {
        self.authorization.is_some()
    }

    /// The `Proxy-Authorization` header value, when there are credentials.
    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// `host:port`, IPv6 in brackets: what is dialled, for error messages.
    pub(crate) fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for ProxyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ProxyTarget");
        s.field("host", &self.host).field("port", &self.port);
        if self.authorization.is_some() {
            s.field("credentials", &"<redacted>");
        }
        s.finish()
    }
}

/// The proxy used for one scheme.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Slot {
    /// Direct connections.
    #[default]
    Direct,
    Proxy(ProxyTarget),
    /// An environment variable held an unusable URL: requests that would use it fail with
    /// this (credential-free) message rather than silently bypass the proxy.
    Invalid(String),
}

impl Slot {
    fn parse(value: Option<&str>) -> Result<Self, Error> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(Self::Direct),
            Some(url) => ProxyTarget::parse(url).map(Self::Proxy),
        }
    }

    fn from_env(found: Option<(&str, String)>) -> Self {
        match found {
            None => Self::Direct,
            Some((name, value)) => Self::parse(Some(&value)).unwrap_or_else(|error| {
                let message = match error {
                    Error::Config { message } => message,
                    other => other.to_string(),
                };
                Self::Invalid(format!("{name}: {message}"))
            }),
        }
    }
}

/// Which proxy, if any, each request goes through: one for http targets, one for https
/// targets, and `NO_PROXY` exclusions.
///
/// `Debug` never shows proxy credentials.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ProxyConfig {
    http: Slot,
    https: Slot,
    no_proxy: NoProxy,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("http", &self.http)
            .field("https", &self.https)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyConfig {
    /// No proxy: every connection is direct. The default.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads the conventional environment variables, lower case first (as curl does):
    /// `https_proxy`/`HTTPS_PROXY` for https targets, `http_proxy`/`HTTP_PROXY` for http
    /// targets, `all_proxy`/`ALL_PROXY` for either when its own is unset, and
    /// `no_proxy`/`NO_PROXY` for exclusions. Empty values count as unset.
    ///
    /// Upper-case `HTTP_PROXY` is ignored when `REQUEST_METHOD` is set: in a CGI program it
    /// may come from a request's `Proxy:` header ("httpoxy").
    ///
    /// A variable holding an unusable URL is not an error here: requests that would go
    /// through it fail with [`Error::Config`] naming the variable, instead of silently
    /// bypassing the proxy.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any variable lookup.
    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&name| {
                get(name)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| (name, value))
            })
        };
        let cgi = get("REQUEST_METHOD").is_some();
        let all = first(&["all_proxy", "ALL_PROXY"]);
        let http = if cgi {
            first(&["http_proxy"])
        } else {
            first(&["http_proxy", "HTTP_PROXY"])
        };
        let https = first(&["https_proxy", "HTTPS_PROXY"]);
        let no_proxy = first(&["no_proxy", "NO_PROXY"]);
        Self {
            http: Slot::from_env(http.or_else(|| all.clone())),
            https: Slot::from_env(https.or(all)),
            no_proxy: NoProxy::parse(no_proxy.as_ref().map_or("", |(_, v)| v.as_str())),
        }
    }

    /// A configuration from explicit values: the proxy URL for http targets, the one for
    /// https targets, and a `NO_PROXY`-style exclusion list. `None` or empty means unset.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a proxy URL is unusable (see [`ProxyTarget::parse`]).
    pub fn from_values(
        http: Option<&str>,
        https: Option<&str>,
        no_proxy: Option<&str>,
    ) -> Result<Self, Error> {
        Ok(Self {
            http: Slot::parse(http)?,
            https: Slot::parse(https)?,
            no_proxy: NoProxy::parse(no_proxy.unwrap_or("")),
        })
    }

    /// The proxy a request to `scheme://host:port` goes through, or `None` for a direct
    /// connection (no proxy for that scheme, or `host`/`port` excluded by `NO_PROXY`).
    /// `scheme` is `http` or `https`, in any case; `host` may be an IPv6 address with or
    /// without brackets.
    pub fn proxy_for(&self, scheme: &str, host: &str, port: u16) -> Option<&ProxyTarget> {
        match self.slot(scheme) {
            Slot::Proxy(proxy) if !self.no_proxy.matches(host, port) => Some(proxy),
            _ => None,
        }
    }

    /// Like [`proxy_for`](Self::proxy_for), but an unusable proxy from the environment is
    /// an error rather than a direct connection.
    pub(crate) fn route(
        &self,
        https: bool,
        host: &str,
        port: u16,
    ) -> Result<Option<&ProxyTarget>, Error> {
        let slot = if https { &self.https } else { &self.http };
        match slot {
            Slot::Direct => Ok(None),
            _ if self.no_proxy.matches(host, port) => Ok(None),
            Slot::Proxy(proxy) => Ok(Some(proxy)),
            Slot::Invalid(message) => Err(Error::config(message.clone())),
        }
    }

    fn slot(&self, scheme: &str) -> &Slot {
        if scheme.eq_ignore_ascii_case("https") {
            &self.https
        } else if scheme.eq_ignore_ascii_case("http") {
            &self.http
        } else {
            &Slot::Direct
        }
    }
}

/// A parsed `NO_PROXY` list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct NoProxy {
    rules: Vec<Rule>,
}

/// One `NO_PROXY` entry. A port, when given, must match too.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `*`: every host.
    All,
    /// `example.com` or `.example.com`: the domain and its subdomains.
    Domain { name: String, port: Option<u16> },
    /// An IP address (full prefix) or a CIDR block.
    Net {
        addr: IpAddr,
        prefix: u8,
        port: Option<u16>,
    },
}

impl NoProxy {
    /// Parses a comma-separated list; entries that make no sense are skipped, as curl does.
    fn parse(list: &str) -> Self {
        Self {
            rules: list.split(',').filter_map(Rule::parse).collect(),
        }
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let host = host.trim().to_ascii_lowercase();
        let host = strip_brackets(&host);
        let host = host.strip_suffix('.').unwrap_or(host);
        let ip = host.parse::<IpAddr>().ok();
        self.rules.iter().any(|rule| match rule {
            Rule::All => true,
            Rule::Domain { name, port: p } => {
                p.is_none_or(|p| p == port)
                    && (host == name
                        || host
                            .strip_suffix(name.as_str())
                            .is_some_and(|rest| rest.ends_with('.')))
            }
            Rule::Net {
                addr,
                prefix,
                port: p,
            } => p.is_none_or(|p| p == port) && ip.is_some_and(|ip| in_net(ip, *addr, *prefix)),
        })
    }
}

impl Rule {
    fn parse(entry: &str) -> Option<Self> {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() {
            return None;
        }
        if entry == "*" {
            return Some(Self::All);
        }
        if let Some((addr, prefix)) = entry.split_once('/') {
            let addr = strip_brackets(addr).parse::<IpAddr>().ok()?;
            let prefix = prefix.parse::<u8>().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            return (prefix <= max).then_some(Self::Net {
                addr,
                prefix,
                port: None,
            });
        }
        if let Ok(addr) = entry.parse::<IpAddr>() {
            // A bare address, IPv6 included (its colons are not a port).
            return Some(Self::ip(addr, None));
        }
        let (host, port) = split_host_port(&entry)?;
        if let Ok(addr) = host.parse::<IpAddr>() {
            return Some(Self::ip(addr, port));
        }
        let name = host.strip_prefix("*.").unwrap_or(host);
        let name = name.strip_prefix('.').unwrap_or(name);
        let name = name.strip_suffix('.').unwrap_or(name);
        (!name.is_empty()).then(|| Self::Domain {
            name: name.to_owned(),
            port,
        })
    }

    fn ip(addr: IpAddr, port: Option<u16>) -> Self {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        Self::Net { addr, prefix, port }
    }
}

/// Whether `ip` lies in `net/prefix` (same address family only).
fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn strip_brackets(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Splits `host[:port]` or `[v6][:port]`; `None` when the port is not a number.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        Some(_) => None,
        None => Some((s, None)),
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Standard base64 with padding (RFC 4648), for `Basic` credentials.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The URL with any `user:password@` replaced, for error messages.
fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_proxy(list: &str) -> ProxyConfig {
        ProxyConfig::from_values(
            Some("http://proxy.test:3128"),
            Some("http://proxy.test:3128"),
            Some(list),
        )
        .unwrap()
    }

    fn bypassed(config: &ProxyConfig, host: &str, port: u16) -> bool {
        config.proxy_for("https", host, port).is_none()
    }

    #[test]
    fn proxy_urls() {
        let p = ProxyTarget::parse("http://proxy.example.com:3128").unwrap();
        assert_eq!(
            (p.host(), p.port(), p.has_credentials()),
            ("proxy.example.com", 3128, false)
        );
        let p = ProxyTarget::parse("HTTP://Proxy.Example.com/").unwrap();
        assert_eq!((p.host(), p.port()), ("proxy.example.com", 80));
        let p = ProxyTarget::parse("10.1.2.3:8080").unwrap();
        assert_eq!((p.host(), p.port()), ("10.1.2.3", 8080));
        let p = ProxyTarget::parse("http://[::1]:3128").unwrap();
        assert_eq!(
            (p.host(), p.port(), p.display().as_str()),
            ("::1", 3128, "[::1]:3128")
        );
        let p = ProxyTarget::parse(" http://us%40er:p%3Ass@proxy:1 ").unwrap();
        assert_eq!(
            p.authorization().unwrap(),
            &format!("Basic {}", base64(b"us@er:p:ss"))
        );
        assert!(p.authorization().unwrap().is_sensitive());
        let p = ProxyTarget::parse("http://user@proxy:1").unwrap();
        assert_eq!(p.authorization().unwrap(), "Basic dXNlcjo="); // "user:"
    }

    #[test]
    fn bad_proxy_urls_are_config_errors_without_credentials() {
        for (url, expect) in [
            (
                "https://user:hunter2@proxy:443",
                "HTTPS proxies are not supported; use http://",
            ),
            ("socks5://user:hunter2@proxy:1080", "SOCKS"),
            ("socks5h://proxy:1080", "SOCKS"),
            ("ftp://proxy", "unsupported scheme"),
            ("http://user:hunter2@proxy:notaport", "bad host or port"),
            ("http://user:hunter2@:3128", "no host"),
            ("http://us er:hunter2@pro xy:3128", "bad host"),
            ("http://user:hunter2%zz@proxy:3128", "bad password"),
        ] {
            let error = ProxyConfig::from_values(None, Some(url), None).unwrap_err();
            let Error::Config { message } = &error else {
                panic!("{url}: {error:?}")
            };
            assert!(message.contains(expect), "{url}: {message}");
            assert!(!message.contains("hunter2"), "{url}: {message}");
        }
    }

    #[test]
    fn debug_redacts_credentials() {
        let config =
            ProxyConfig::from_values(Some("http://alice:hunter2@proxy:1"), None, None).unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("alice"),
            "{debug}"
        );
        assert!(!debug.contains(&base64(b"alice:hunter2")), "{debug}");
        assert!(
            debug.contains("<redacted>") && debug.contains("proxy"),
            "{debug}"
        );
        let env = ProxyConfig::from_lookup(|name| {
            (name == "HTTPS_PROXY").then(|| "https://alice:hunter2@proxy".to_owned())
        });
        assert!(!format!("{env:?}").contains("hunter2"));
    }

    #[test]
    fn schemes_pick_their_proxy() {
        let config =
            ProxyConfig::from_values(Some("http://h:1"), Some("http://s:2"), None).unwrap();
        assert_eq!(config.proxy_for("http", "x", 80).unwrap().host(), "h");
        assert_eq!(config.proxy_for("HTTPS", "x", 443).unwrap().host(), "s");
        assert!(config.proxy_for("ftp", "x", 21).is_none());
        let only_https = ProxyConfig::from_values(None, Some("http://s:2"), Some("")).unwrap();
        assert!(only_https.proxy_for("http", "x", 80).is_none());
        assert_eq!(
            ProxyConfig::from_values(Some(""), Some("  "), None).unwrap(),
            ProxyConfig::none()
        );
        assert!(ProxyConfig::none().proxy_for("https", "x", 443).is_none());
    }

    #[test]
    fn no_proxy_wildcard_and_whitespace() {
        let config = no_proxy(" * ");
        assert!(bypassed(&config, "anything.example", 443));
        assert!(bypassed(&config, "10.0.0.1", 443));
        let config = no_proxy(" , ,, ");
        assert!(!bypassed(&config, "example.com", 443));
    }

    #[test]
    fn no_proxy_domains() {
        for list in [
            "example.com",
            ".example.com",
            "*.example.com",
            "EXAMPLE.com.",
            " other.test , example.com ",
        ] {
            let config = no_proxy(list);
            assert!(bypassed(&config, "example.com", 443), "{list}");
            assert!(bypassed(&config, "API.Example.COM", 443), "{list}");
            assert!(bypassed(&config, "a.b.example.com.", 443), "{list}");
            assert!(!bypassed(&config, "notexample.com", 443), "{list}");
            assert!(!bypassed(&config, "example.com.evil", 443), "{list}");
            assert!(!bypassed(&config, "com", 443), "{list}");
        }
        let config = no_proxy("localhost");
        assert!(bypassed(&config, "localhost", 8080));
        assert!(!bypassed(&config, "127.0.0.1", 8080));
    }

    #[test]
    fn no_proxy_ports() {
        let config = no_proxy("example.com:8443,127.0.0.1:9000,[::1]:9001");
        assert!(bypassed(&config, "example.com", 8443));
        assert!(bypassed(&config, "api.example.com", 8443));
        assert!(!bypassed(&config, "example.com", 443));
        assert!(bypassed(&config, "127.0.0.1", 9000));
        assert!(!bypassed(&config, "127.0.0.1", 9001));
        assert!(bypassed(&config, "[::1]", 9001));
        assert!(!bypassed(&config, "::1", 9000));
    }

    #[test]
    fn no_proxy_addresses_and_blocks() {
        let config = no_proxy("127.0.0.1, 10.0.0.0/8, ::1, fd00::/8, 192.168.1.0/33, bad/x");
        assert!(bypassed(&config, "127.0.0.1", 443));
        assert!(!bypassed(&config, "127.0.0.2", 443));
        assert!(bypassed(&config, "10.200.3.4", 443));
        assert!(!bypassed(&config, "11.0.0.1", 443));
        assert!(bypassed(&config, "[::1]", 443));
        assert!(bypassed(&config, "::1", 443));
        assert!(bypassed(&config, "fd12:3456::1", 443));
        assert!(!bypassed(&config, "fe80::1", 443));
        // The invalid /33 and `bad/x` entries are skipped, not fatal.
        assert!(!bypassed(&config, "192.168.1.1", 443));
        // Hosts are not resolved: a name never matches an address rule.
        assert!(!bypassed(&config, "localhost", 443));
        let everything = no_proxy("0.0.0.0/0");
        assert!(bypassed(&everything, "8.8.8.8", 443));
        assert!(!bypassed(&everything, "::1", 443));
        assert!(!bypassed(&everything, "example.com", 443));
    }

    fn env(vars: &[(&str, &str)]) -> ProxyConfig {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProxyConfig::from_lookup(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn host_for(config: &ProxyConfig, scheme: &str) -> Option<String> {
        config
            .proxy_for(scheme, "api.example.com", 443)
            .map(|p| p.host().to_owned())
    }

    #[test]
    fn environment_variables() {
        assert_eq!(env(&[]), ProxyConfig::none());
        let config = env(&[("HTTPS_PROXY", "http://s:1"), ("HTTP_PROXY", "http://h:1")]);
        assert_eq!(host_for(&config, "https").as_deref(), Some("s"));
        assert_eq!(host_for(&config, "http").as_deref(), Some("h"));
        // Lower case wins; empty values are unset.
        let config = env(&[
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:1"),
            ("http_proxy", ""),
            ("HTTP_PROXY", "http://h:1"),
        ]);
        assert_eq!(host_for(&config, "https").as_deref(), Some("lower"));
        assert_eq!(host_for(&config, "http").as_deref(), Some("h"));
        // ALL_PROXY is the fallback for both.
        let config = env(&[("ALL_PROXY", "http://all:1"), ("https_proxy", "http://s:1")]);
        assert_eq!(host_for(&config, "https").as_deref(), Some("s"));
        assert_eq!(host_for(&config, "http").as_deref(), Some("all"));
        // NO_PROXY applies.
        let config = env(&[("ALL_PROXY", "http://all:1"), ("no_proxy", "example.com")]);
        assert_eq!(host_for(&config, "https"), None);
        assert_eq!(
            config.proxy_for("https", "other.test", 443).unwrap().host(),
            "all"
        );
        // Under CGI, upper-case HTTP_PROXY may come from a request header: ignored.
        let config = env(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")]);
        assert_eq!(host_for(&config, "http"), None);
    }

    #[test]
    fn unusable_environment_proxies_fail_requests_instead_of_bypassing() {
        let config = env(&[
            ("HTTPS_PROXY", "socks5://alice:hunter2@proxy:1080"),
            ("NO_PROXY", "internal.test"),
        ]);
        assert!(config.proxy_for("https", "api.example.com", 443).is_none());
        let error = config.route(true, "api.example.com", 443).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("HTTPS_PROXY") && message.contains("SOCKS"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
        assert!(config.route(true, "internal.test", 443).unwrap().is_none());
        assert!(
            config
                .route(false, "api.example.com", 80)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), output);
        }
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }
}
