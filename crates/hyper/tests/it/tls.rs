//! HyperTransport over TLS, against a hand-written server with a generated CA.

use std::sync::Arc;

use crate::common::{Reply, Seen, pki, runtime, serve_tls};
use bytes::Bytes;
use claude_kit_core::Error;
use claude_kit_core::transport::Transport;
use claude_kit_hyper::HyperTransport;
use futures_lite::future::block_on;

fn echo(seen: &Seen) -> Reply {
    Reply::Text(seen.head.clone())
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

#[test]
fn tls_with_an_extra_der_root_and_reuse() {
    let pki = pki();
    let server = serve_tls(echo, pki.server_config.clone());
    let transport = HyperTransport::builder(runtime())
        .add_root_certificate_der(pki.ca_der.clone())
        .build()
        .unwrap();
    block_on(async {
        for host in ["localhost", "localhost", "127.0.0.1"] {
            let response = transport
                .send(get(&server.url("https", host, "/v1/models")))
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect(1 << 20).await.unwrap();
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(text.starts_with("GET /v1/models HTTP/1.1\r\n"), "{text}");
        }
    });
    // "localhost" twice on one connection; 127.0.0.1 is another origin.
    let stats = transport.stats();
    assert_eq!(
        (stats.connections_opened, stats.idle, stats.in_use),
        (2, 2, 0)
    );
    assert_eq!(server.accepted(), 2);
}

#[test]
fn tls_with_an_extra_pem_root() {
    let pki = pki();
    let server = serve_tls(echo, pki.server_config.clone());
    let transport = HyperTransport::builder(runtime())
        .add_root_certificates_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let response = block_on(transport.send(get(&server.url("https", "localhost", "/")))).unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn tls_with_a_full_config_override() {
    let pki = pki();
    let server = serve_tls(echo, pki.server_config.clone());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone().into()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let transport = HyperTransport::builder(runtime())
        .tls_config(Arc::new(config))
        .build()
        .unwrap();
    let response = block_on(transport.send(get(&server.url("https", "localhost", "/")))).unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn an_untrusted_certificate_is_a_connect_error() {
    let pki = pki();
    let server = serve_tls(echo, pki.server_config.clone());
    let transport = HyperTransport::builder(runtime()).build().unwrap();
    let error = block_on(transport.send(get(&server.url("https", "localhost", "/")))).unwrap_err();
    match &error {
        Error::Connect { message, .. } => {
            assert!(message.contains("certificate"), "{message}")
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    let stats = transport.stats();
    assert_eq!(
        (stats.connections_opened, stats.idle, stats.in_use),
        (1, 0, 0)
    );
}

#[test]
fn a_certificate_for_another_name_is_a_connect_error() {
    let pki = pki();
    let server = serve_tls(echo, pki.server_config.clone());
    let transport = HyperTransport::builder(runtime())
        .add_root_certificate_der(pki.ca_der.clone())
        .build()
        .unwrap();
    // 127.0.0.2 is loopback too, but not in the certificate.
    let url = format!("https://127.0.0.2:{}/", server.addr.port());
    let error = block_on(transport.send(get(&url))).unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
}
