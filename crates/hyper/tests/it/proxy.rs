//! HyperTransport through a loopback HTTP proxy: CONNECT tunnels for https, absolute-form
//! forwarding for http, NO_PROXY, refusals and credentials.

use std::time::Duration;

use crate::common::{ProxyMode, Reply, Seen, pki, proxy, runtime, serve, serve_tls};
use bytes::Bytes;
use claude_kit_core::transport::Transport;
use claude_kit_core::{Error, TimeoutPhase};
use claude_kit_hyper::{HyperTransport, ProxyConfig};
use futures_lite::future::block_on;

/// `Basic` + base64("user:p@ss").
const AUTH: &str = "Basic dXNlcjpwQHNz";
/// The same credentials in a proxy URL.
const USERINFO: &str = "user:p%40ss@";

fn echo(seen: &Seen) -> Reply {
    Reply::Text(format!(
        "{}{}",
        seen.head,
        String::from_utf8_lossy(&seen.body)
    ))
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

fn fetch(transport: &HyperTransport, request: http::Request<Bytes>) -> String {
    block_on(async {
        let response = transport.send(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect(1 << 20).await.unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    })
}

/// Nothing in use, opening, waiting or in flight.
fn assert_quiet(transport: &HyperTransport) {
    let s = transport.stats();
    assert_eq!(
        (s.in_use, s.connecting, s.waiting, s.in_flight),
        (0, 0, 0, 0),
        "{s:?}"
    );
}

fn heads(proxy: &crate::common::Proxy) -> Vec<String> {
    std::iter::from_fn(|| proxy.heads.try_recv().ok()).collect()
}

#[test]
fn https_goes_through_a_connect_tunnel_with_credentials() {
    let pki = pki();
    let server = serve_tls(echo, pki.server_config.clone());
    let px = proxy(ProxyMode::Forward, Some(AUTH));
    let config = ProxyConfig::from_values(None, Some(&px.url(USERINFO)), None).unwrap();
    let transport = HyperTransport::builder(runtime())
        .add_root_certificate_der(pki.ca_der.clone())
        .proxy(config)
        .build()
        .unwrap();
    for _ in 0..2 {
        let text = fetch(
            &transport,
            get(&server.url("https", "localhost", "/v1/models")),
        );
        assert!(text.starts_with("GET /v1/models HTTP/1.1\r\n"), "{text}");
        // The credentials are for the proxy only: never inside the tunnel.
        assert!(
            !text.to_ascii_lowercase().contains("proxy-authorization"),
            "{text}"
        );
    }
    // One tunnel, reused by the second request.
    assert_eq!(px.connects(), 1);
    assert_eq!(server.accepted(), 1);
    let stats = transport.stats();
    assert_eq!((stats.connections_opened, stats.idle), (1, 1));
    assert_quiet(&transport);
    let heads = heads(&px);
    assert_eq!(heads.len(), 1, "{heads:?}");
    let port = server.addr.port();
    assert!(
        heads[0].starts_with(&format!("CONNECT localhost:{port} HTTP/1.1\r\n")),
        "{}",
        heads[0]
    );
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains(&format!("host: localhost:{port}\r\n")),
        "{}",
        heads[0]
    );
    assert!(
        heads[0].contains(&format!("Proxy-Authorization: {AUTH}\r\n")),
        "{}",
        heads[0]
    );
}

#[test]
fn http_goes_to_the_proxy_in_absolute_form() {
    let server = serve(echo);
    let px = proxy(ProxyMode::Forward, Some(AUTH));
    let config = ProxyConfig::from_values(Some(&px.url(USERINFO)), None, None).unwrap();
    let transport = HyperTransport::builder(runtime())
        .proxy(config)
        .build()
        .unwrap();
    let port = server.addr.port();
    for _ in 0..2 {
        let request = http::Request::post(format!("http://127.0.0.1:{port}/v1/x?y=1"))
            .body(Bytes::from_static(b"{\"a\":1}"))
            .unwrap();
        let text = fetch(&transport, request);
        assert!(
            text.starts_with(&format!(
                "POST http://127.0.0.1:{port}/v1/x?y=1 HTTP/1.1\r\n"
            )),
            "{text}"
        );
        let lower = text.to_ascii_lowercase();
        assert!(
            lower.contains(&format!("host: 127.0.0.1:{port}\r\n")),
            "{text}"
        );
        assert!(
            lower.contains(&format!(
                "proxy-authorization: {}\r\n",
                AUTH.to_ascii_lowercase()
            )),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n{\"a\":1}"), "{text}");
    }
    // No tunnel; one pooled connection to the proxy carried both requests.
    assert_eq!((px.connects(), px.forwards()), (0, 1));
    let stats = transport.stats();
    assert_eq!((stats.connections_opened, stats.idle), (1, 1));
    assert_quiet(&transport);
}

#[test]
fn no_proxy_hosts_connect_directly() {
    let pki = pki();
    let tls_server = serve_tls(echo, pki.server_config.clone());
    let server = serve(echo);
    let px = proxy(ProxyMode::Forward, None);
    let config = ProxyConfig::from_values(
        Some(&px.url("")),
        Some(&px.url("")),
        Some(" LOCALHOST , 127.0.0.0/8 "),
    )
    .unwrap();
    let transport = HyperTransport::builder(runtime())
        .add_root_certificate_der(pki.ca_der.clone())
        .proxy(config)
        .build()
        .unwrap();
    let text = fetch(
        &transport,
        get(&tls_server.url("https", "localhost", "/tls")),
    );
    assert!(text.starts_with("GET /tls HTTP/1.1"), "{text}");
    let text = fetch(&transport, get(&server.url("http", "127.0.0.1", "/plain")));
    assert!(text.starts_with("GET /plain HTTP/1.1"), "{text}");
    assert_eq!((px.connects(), px.forwards()), (0, 0));
    assert!(heads(&px).is_empty());
    assert_eq!((tls_server.accepted(), server.accepted()), (1, 1));
}

#[test]
fn a_refused_connect_is_a_connect_error_with_the_status() {
    for code in [407, 403] {
        let px = proxy(ProxyMode::Refuse(code), None);
        let config = ProxyConfig::from_values(None, Some(&px.url("")), None).unwrap();
        let transport = HyperTransport::builder(runtime())
            .proxy(config)
            .build()
            .unwrap();
        let error = block_on(transport.send(get("https://localhost:1/v1/messages"))).unwrap_err();
        match &error {
            Error::Connect {
                target, message, ..
            } => {
                assert_eq!(target, &format!("127.0.0.1:{}", px.addr.port()));
                assert!(message.contains(&code.to_string()), "{message}");
                assert!(message.contains("localhost:1"), "{message}");
            }
            other => panic!("expected a connect error, got {other:?}"),
        }
        assert_eq!(px.connects(), 1);
        assert_eq!(transport.stats().idle, 0);
        assert_quiet(&transport);
    }
}

#[test]
fn missing_or_wrong_credentials_get_407() {
    let px = proxy(ProxyMode::Forward, Some(AUTH));
    for userinfo in ["", "user:wrong@"] {
        let config = ProxyConfig::from_values(None, Some(&px.url(userinfo)), None).unwrap();
        let transport = HyperTransport::builder(runtime())
            .proxy(config)
            .build()
            .unwrap();
        let error = block_on(transport.send(get("https://localhost:1/"))).unwrap_err();
        match &error {
            Error::Connect { message, .. } => assert!(message.contains("407"), "{message}"),
            other => panic!("expected a connect error, got {other:?}"),
        }
        assert_quiet(&transport);
    }
    assert_eq!(px.connects(), 2);
}

#[test]
fn a_stalled_connect_is_a_connect_timeout() {
    let px = proxy(ProxyMode::Stall, None);
    let config = ProxyConfig::from_values(None, Some(&px.url("")), None).unwrap();
    let transport = HyperTransport::builder(runtime())
        .connect_timeout(Duration::from_millis(200))
        .proxy(config)
        .build()
        .unwrap();
    let error = block_on(transport.send(get("https://localhost:1/"))).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Timeout {
                phase: TimeoutPhase::Connect,
                ..
            }
        ),
        "{error:?}"
    );
    // The proxy counts the CONNECT on its own thread, which a starved machine may not have run
    // before the client gave up: wait for it (the head is sent on after it is counted).
    let head = block_on(futures_lite::future::or(
        async { px.heads.recv().await.ok() },
        async {
            async_io::Timer::after(Duration::from_secs(30)).await;
            None
        },
    ))
    .expect("the proxy never saw the CONNECT");
    assert!(head.starts_with("CONNECT localhost:1 "), "{head}");
    assert_eq!(px.connects(), 1);
    assert_quiet(&transport);
}

#[test]
fn an_unreachable_proxy_is_a_connect_error_naming_it() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let proxy_url = format!("http://127.0.0.1:{port}");
    let config = ProxyConfig::from_values(Some(&proxy_url), Some(&proxy_url), None).unwrap();
    let transport = HyperTransport::builder(runtime())
        .proxy(config)
        .build()
        .unwrap();
    for url in ["https://localhost:1/", "http://localhost:1/"] {
        let error = block_on(transport.send(get(url))).unwrap_err();
        match &error {
            Error::Connect { target, .. } => assert_eq!(target, &format!("127.0.0.1:{port}")),
            other => panic!("{url}: expected a connect error, got {other:?}"),
        }
    }
    assert_eq!(transport.stats().connections_opened, 0);
    assert_quiet(&transport);
}

#[test]
fn unsupported_proxies_are_config_errors() {
    for url in [
        "https://proxy.test:443",
        "socks5://proxy.test:1080",
        "http://proxy.test:x",
    ] {
        let error = ProxyConfig::from_values(None, Some(url), None).unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{url}: {error:?}");
    }
    let error = ProxyConfig::from_values(None, Some("https://p:1"), None).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("HTTPS proxies are not supported; use http://"),
        "{error}"
    );
}

#[test]
fn debug_output_never_shows_proxy_credentials() {
    let config =
        ProxyConfig::from_values(Some("http://alice:hunter2@127.0.0.1:3128"), None, None).unwrap();
    let target = config.proxy_for("http", "example.com", 80).unwrap();
    assert!(target.has_credentials());
    assert_eq!((target.host(), target.port()), ("127.0.0.1", 3128));
    let transport = HyperTransport::builder(runtime())
        .proxy(config.clone())
        .build()
        .unwrap();
    for debug in [
        format!("{config:?}"),
        format!("{target:?}"),
        format!("{transport:?}"),
    ] {
        assert!(
            !debug.contains("hunter2") && !debug.contains("alice"),
            "{debug}"
        );
        assert!(debug.contains("127.0.0.1"), "{debug}");
    }
}
