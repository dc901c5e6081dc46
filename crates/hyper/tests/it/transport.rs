//! HyperTransport against a hand-written server on 127.0.0.1.

use std::time::Duration;

use crate::common::{Reply, Seen, runtime, serve};
use bytes::Bytes;
use claude_kit_core::transport::{Body, Transport};
use claude_kit_core::{Error, TimeoutPhase};
use claude_kit_hyper::{HyperTransport, PoolStats};
use futures_lite::StreamExt;
use futures_lite::future::block_on;

fn transport() -> HyperTransport {
    HyperTransport::builder(runtime()).build().unwrap()
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

fn echo(seen: &Seen) -> Reply {
    match seen.path() {
        "/big" => Reply::Big(1 << 20),
        "/truncated" => Reply::Truncated {
            declared: 100,
            sent: "only ten b",
        },
        "/chunked-truncated" => Reply::ChunkedTruncated,
        "/close" => Reply::TextThenClose("bye"),
        "/empty" => Reply::NoContent,
        "/hang" => Reply::Hang,
        _ => Reply::Text(format!(
            "{}{}",
            seen.head,
            String::from_utf8_lossy(&seen.body)
        )),
    }
}

/// Reads a body to its end, keeping every item.
async fn drain(mut body: Body) -> Vec<Result<Bytes, Error>> {
    let mut items = Vec::new();
    while let Some(item) = body.next().await {
        items.push(item);
    }
    items
}

fn stats(opened: u64, idle: usize, in_use: usize) -> (u64, usize, usize) {
    (opened, idle, in_use)
}

fn tuple(s: PoolStats) -> (u64, usize, usize) {
    (s.connections_opened, s.idle, s.in_use)
}

#[test]
fn plain_request_and_response() {
    let server = serve(echo);
    let transport = transport();
    block_on(async {
        let url = server.url("http", "127.0.0.1", "/v1/messages?beta=true");
        let request = http::Request::post(&url)
            .header("x-api-key", "secret")
            .body(Bytes::from_static(b"{\"hello\":1}"))
            .unwrap();
        let response = transport.send(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/plain");
        let body = response.into_body().collect(1 << 20).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.starts_with("POST /v1/messages?beta=true HTTP/1.1\r\n"),
            "origin-form request line: {text}"
        );
        let host = format!("host: 127.0.0.1:{}\r\n", server.addr.port());
        assert!(text.to_ascii_lowercase().contains(&host), "{text}");
        assert!(text.ends_with("\r\n\r\n{\"hello\":1}"), "{text}");
    });
    assert_eq!(tuple(transport.stats()), stats(1, 1, 0));
    // The Debug output shows the pool, never headers.
    let debug = format!("{transport:?}");
    assert!(debug.contains("HyperTransport") && !debug.contains("secret"));
}

#[test]
fn explicit_host_header_is_kept() {
    let server = serve(echo);
    let transport = transport();
    let body = block_on(async {
        let request = http::Request::get(server.url("http", "127.0.0.1", "/"))
            .header("host", "example.test")
            .body(Bytes::new())
            .unwrap();
        let response = transport.send(request).await.unwrap();
        response.into_body().collect(1 << 20).await.unwrap()
    });
    let text = String::from_utf8(body.to_vec())
        .unwrap()
        .to_ascii_lowercase();
    assert_eq!(text.matches("host:").count(), 1, "{text}");
    assert!(text.contains("host: example.test\r\n"), "{text}");
}

#[test]
fn keep_alive_reuses_the_connection() {
    let server = serve(echo);
    let transport = transport();
    block_on(async {
        for _ in 0..3 {
            let response = transport
                .send(get(&server.url("http", "127.0.0.1", "/")))
                .await
                .unwrap();
            response.into_body().collect(1 << 20).await.unwrap();
            assert_eq!(transport.stats().in_use, 0);
        }
        // A body-less response releases the connection at once.
        let response = transport
            .send(get(&server.url("http", "127.0.0.1", "/empty")))
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
        assert_eq!(transport.stats().in_use, 0);
        drop(response);
        let response = transport
            .send(get(&server.url("http", "127.0.0.1", "/")))
            .await
            .unwrap();
        response.into_body().collect(1 << 20).await.unwrap();
    });
    assert_eq!(tuple(transport.stats()), stats(1, 1, 0));
    assert_eq!(server.accepted(), 1);
}

#[test]
fn clones_share_the_pool() {
    let server = serve(echo);
    let transport = transport();
    let clone = transport.clone();
    block_on(async {
        for t in [&transport, &clone] {
            let response = t
                .send(get(&server.url("http", "127.0.0.1", "/")))
                .await
                .unwrap();
            response.into_body().collect(1 << 20).await.unwrap();
        }
    });
    assert_eq!(tuple(clone.stats()), stats(1, 1, 0));
}

#[test]
fn dropping_a_body_early_closes_the_connection() {
    let server = serve(echo);
    let transport = transport();
    block_on(async {
        let response = transport
            .send(get(&server.url("http", "127.0.0.1", "/big")))
            .await
            .unwrap();
        assert_eq!(transport.stats().in_use, 1);
        let mut body = response.into_body();
        let first = body.next().await.unwrap().unwrap();
        assert!(!first.is_empty() && first.len() < 1 << 20);
        drop(body);
        assert_eq!(tuple(transport.stats()), stats(1, 0, 0));

        // The next request gets a new connection, and a clean answer.
        let response = transport
            .send(get(&server.url("http", "127.0.0.1", "/")))
            .await
            .unwrap();
        let body = response.into_body().collect(1 << 20).await.unwrap();
        assert!(body.starts_with(b"GET / HTTP/1.1"));
    });
    assert_eq!(tuple(transport.stats()), stats(2, 1, 0));
    assert_eq!(server.accepted(), 2);
}

#[test]
fn a_big_body_read_to_the_end_is_reused() {
    let server = serve(echo);
    let transport = transport();
    block_on(async {
        for _ in 0..2 {
            let response = transport
                .send(get(&server.url("http", "127.0.0.1", "/big")))
                .await
                .unwrap();
            let body = response.into_body().collect(2 << 20).await.unwrap();
            assert_eq!(body.len(), 1 << 20);
        }
    });
    assert_eq!(tuple(transport.stats()), stats(1, 1, 0));
}

#[test]
fn server_closing_mid_body_is_a_transport_error() {
    let server = serve(echo);
    let transport = transport();
    for path in ["/truncated", "/chunked-truncated"] {
        block_on(async {
            let response = transport
                .send(get(&server.url("http", "127.0.0.1", path)))
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let items = drain(response.into_body()).await;
            let (last, data) = items.split_last().expect("at least the error");
            assert!(
                matches!(last, Err(Error::Transport { .. })),
                "{path}: ends with {last:?}"
            );
            assert!(data.iter().all(Result::is_ok), "{path}: {items:?}");
            assert_eq!(transport.stats().in_use, 0);
            assert_eq!(transport.stats().idle, 0);
        });
    }
    // collect() reports the same error.
    block_on(async {
        let response = transport
            .send(get(&server.url("http", "127.0.0.1", "/truncated")))
            .await
            .unwrap();
        let error = response.into_body().collect(1 << 20).await.unwrap_err();
        assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    });
    assert_eq!(transport.stats().in_use, 0);
}

#[test]
fn connection_close_responses_are_not_reused() {
    let server = serve(echo);
    let transport = transport();
    block_on(async {
        for _ in 0..2 {
            let response = transport
                .send(get(&server.url("http", "127.0.0.1", "/close")))
                .await
                .unwrap();
            let body = response.into_body().collect(1 << 20).await.unwrap();
            assert_eq!(&body[..], b"bye");
        }
    });
    let stats = transport.stats();
    assert_eq!((stats.connections_opened, stats.in_use), (2, 0));
    assert_eq!(server.accepted(), 2);
}

#[test]
fn idle_timeout_and_cap_and_close() {
    let server = serve(echo);
    let url = server.url("http", "127.0.0.1", "/");
    let fetch = |t: &HyperTransport| {
        block_on(async {
            let response = t.send(get(&url)).await.unwrap();
            response.into_body().collect(1 << 20).await.unwrap();
        })
    };

    // Zero idle timeout: every idle connection has expired by the next checkout.
    let expiring = HyperTransport::builder(runtime())
        .pool_idle_timeout(Duration::ZERO)
        .build()
        .unwrap();
    fetch(&expiring);
    fetch(&expiring);
    assert_eq!(tuple(expiring.stats()), stats(2, 0, 0));

    // No idle connections allowed: none kept.
    let uncached = HyperTransport::builder(runtime())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    fetch(&uncached);
    fetch(&uncached);
    assert_eq!(tuple(uncached.stats()), stats(2, 0, 0));

    // close() drops the idle ones; a request already under way finishes, but its
    // connection is closed rather than pooled; new requests, on any clone, are refused.
    let transport = transport();
    fetch(&transport);
    fetch(&transport);
    assert_eq!(tuple(transport.stats()), stats(1, 1, 0));
    let response = block_on(transport.send(get(&url))).unwrap();
    assert_eq!(tuple(transport.stats()), stats(1, 0, 1));
    let clone = transport.clone();
    block_on(clone.close());
    let body = block_on(response.into_body().collect(1 << 20)).unwrap();
    assert!(body.starts_with(b"GET / HTTP/1.1"));
    assert_eq!(tuple(transport.stats()), stats(1, 0, 0));
    for t in [&transport, &clone] {
        let error = block_on(t.send(get(&url))).unwrap_err();
        match &error {
            Error::Config { message } => assert_eq!(message, "the transport is closed"),
            other => panic!("expected a config error, got {other:?}"),
        }
    }
    let s = transport.stats();
    assert_eq!(
        (s.connections_opened, s.idle, s.in_use, s.in_flight),
        (1, 0, 0, 0)
    );
}

#[test]
fn dropping_the_send_future_releases_the_connection() {
    let server = serve(echo);
    let transport = transport();
    block_on(async {
        let mut send = transport.send(get(&server.url("http", "127.0.0.1", "/hang")));
        // Drive the request until the server has read it, then cancel it.
        let seen = futures_lite::future::or(
            async {
                let result = (&mut send).await;
                panic!("the server never answers: {result:?}")
            },
            async { server.requests.recv().await.unwrap() },
        )
        .await;
        assert_eq!(seen.path(), "/hang");
        assert_eq!(transport.stats().in_use, 1);
        drop(send);
        assert_eq!(tuple(transport.stats()), stats(1, 0, 0));
    });
}

#[test]
fn connection_refused_is_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let transport = transport();
    let error = block_on(transport.send(get(&format!("http://127.0.0.1:{port}/")))).unwrap_err();
    match &error {
        Error::Connect { target, .. } => assert_eq!(target, &format!("127.0.0.1:{port}")),
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert_eq!(tuple(transport.stats()), stats(0, 0, 0));
}

#[test]
fn a_stalled_tls_handshake_is_a_connect_timeout() {
    // The kernel completes the TCP handshake into the backlog; nobody ever answers TLS.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let transport = HyperTransport::builder(runtime())
        .connect_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = block_on(transport.send(get(&format!("https://127.0.0.1:{port}/")))).unwrap_err();
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
    assert_eq!(tuple(transport.stats()), stats(1, 0, 0));
    drop(listener);
}

#[test]
fn invalid_uris_are_config_errors() {
    let transport = transport();
    for uri in ["ftp://127.0.0.1/", "/relative", "ws://localhost/chat"] {
        let request = http::Request::get(uri).body(Bytes::new()).unwrap();
        let error = block_on(transport.send(request)).unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{uri}: {error:?}");
    }
    assert_eq!(tuple(transport.stats()), stats(0, 0, 0));
}

#[test]
fn invalid_root_certificates_are_config_errors() {
    let error = HyperTransport::builder(runtime())
        .add_root_certificates_pem(b"not a pem")
        .unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    let error = HyperTransport::builder(runtime())
        .add_root_certificate_der(vec![1, 2, 3])
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
}
