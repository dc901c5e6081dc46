//! The per-origin connection limit, and the pool's counters after requests are dropped at
//! every stage.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::common::{ProxyMode, Reply, Seen, pki, proxy, runtime, serve, serve_tls};
use bytes::Bytes;
use claude_kit_core::Error;
use claude_kit_core::transport::{Body, Transport};
use claude_kit_hyper::{HyperTransport, PoolStats, ProxyConfig};
use futures_lite::future::{block_on, or, poll_once, yield_now, zip};
use futures_lite::{AsyncReadExt, StreamExt};

fn handler(seen: &Seen) -> Reply {
    // Through a proxy, http requests arrive in absolute form.
    let path = seen.path();
    let path = path
        .strip_prefix("http://")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(path);
    match path {
        "/big" => Reply::Big(1 << 20),
        "/hang" => Reply::Hang,
        _ => Reply::Text(seen.head.clone()),
    }
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

fn limited(max: usize) -> HyperTransport {
    HyperTransport::builder(runtime())
        .max_connections_per_host(max)
        .build()
        .unwrap()
}

async fn fetch(transport: &HyperTransport, url: &str) -> Bytes {
    let response = transport.send(get(url)).await.unwrap();
    response.into_body().collect(2 << 20).await.unwrap()
}

/// Nothing in use, opening, waiting or in flight.
#[track_caller]
fn assert_quiet(transport: &HyperTransport) {
    let s = transport.stats();
    assert_eq!(
        (s.in_use, s.connecting, s.waiting, s.in_flight),
        (0, 0, 0, 0),
        "{s:?}"
    );
}

fn counts(s: PoolStats) -> (u64, usize, usize, usize) {
    (s.connections_opened, s.idle, s.in_use, s.waiting)
}

#[test]
fn concurrent_requests_share_one_connection_under_a_limit_of_one() {
    let server = serve(handler);
    let transport = limited(1);
    let url = server.url("http", "127.0.0.1", "/big");
    let (a, (b, (c, d))) = block_on(zip(
        fetch(&transport, &url),
        zip(
            fetch(&transport, &url),
            zip(fetch(&transport, &url), fetch(&transport, &url)),
        ),
    ));
    for body in [a, b, c, d] {
        assert_eq!(body.len(), 1 << 20);
    }
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
    assert_eq!(server.accepted(), 1);
    assert_quiet(&transport);
}

#[test]
fn a_limit_of_two_opens_at_most_two() {
    let server = serve(handler);
    let transport = limited(2);
    let url = server.url("http", "127.0.0.1", "/big");
    let bodies = block_on(async {
        let ((a, b), (c, d)) = zip(
            zip(fetch(&transport, &url), fetch(&transport, &url)),
            zip(fetch(&transport, &url), fetch(&transport, &url)),
        )
        .await;
        [a, b, c, d]
    });
    assert!(bodies.iter().all(|b| b.len() == 1 << 20));
    let stats = transport.stats();
    assert!(stats.connections_opened <= 2, "{stats:?}");
    assert_eq!(stats.idle as u64, stats.connections_opened);
    assert_quiet(&transport);
}

#[test]
fn a_dropped_waiter_holds_nothing() {
    let server = serve(handler);
    let transport = limited(1);
    block_on(async {
        // A holds the only slot through its unread body.
        let a = transport
            .send(get(&server.url("http", "127.0.0.1", "/big")))
            .await
            .unwrap();
        assert_eq!(counts(transport.stats()), (1, 0, 1, 0));

        // B gets as far as the wait in one poll (no I/O before it), then is dropped.
        let mut b = transport.send(get(&server.url("http", "127.0.0.1", "/")));
        assert!(poll_once(&mut b).await.is_none());
        assert_eq!(counts(transport.stats()), (1, 0, 1, 1));
        drop(b);
        assert_eq!(counts(transport.stats()), (1, 0, 1, 0));

        // A finishes; C reuses A's connection: B took nothing with it.
        let body = a.into_body().collect(2 << 20).await.unwrap();
        assert_eq!(body.len(), 1 << 20);
        assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
        let body = fetch(&transport, &server.url("http", "127.0.0.1", "/")).await;
        assert!(body.starts_with(b"GET / HTTP/1.1"));
    });
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
    assert_eq!(server.accepted(), 1);
    assert_quiet(&transport);
}

#[test]
fn a_waiter_gets_the_slot_of_a_closed_connection() {
    let server = serve(handler);
    let transport = limited(1);
    block_on(async {
        let a = transport
            .send(get(&server.url("http", "127.0.0.1", "/big")))
            .await
            .unwrap();
        let url = server.url("http", "127.0.0.1", "/");
        let mut b = Box::pin(fetch(&transport, &url));
        assert!(poll_once(&mut b).await.is_none());
        assert_eq!(transport.stats().waiting, 1);
        // Dropping A's body half-read closes its connection and frees the slot.
        let mut body: Body = a.into_body();
        body.next().await.unwrap().unwrap();
        drop(body);
        let text = b.await;
        assert!(text.starts_with(b"GET / HTTP/1.1"));
    });
    assert_eq!(counts(transport.stats()), (2, 1, 0, 0));
    assert_quiet(&transport);
}

#[test]
fn the_limit_is_per_origin() {
    let server = serve(handler);
    let transport = limited(1);
    block_on(async {
        let held = transport
            .send(get(&server.url("http", "127.0.0.1", "/big")))
            .await
            .unwrap();
        // Another origin (same server, other host name) is not blocked.
        let body = fetch(&transport, &server.url("http", "localhost", "/")).await;
        assert!(body.starts_with(b"GET / HTTP/1.1"));
        assert_eq!(counts(transport.stats()), (2, 1, 1, 0));
        drop(held);
    });
    assert_quiet(&transport);
}

#[test]
fn close_fails_waiting_requests() {
    let server = serve(handler);
    let transport = limited(1);
    block_on(async {
        let a = transport
            .send(get(&server.url("http", "127.0.0.1", "/big")))
            .await
            .unwrap();
        let mut b = transport.send(get(&server.url("http", "127.0.0.1", "/")));
        assert!(poll_once(&mut b).await.is_none());
        assert_eq!(transport.stats().waiting, 1);
        transport.close().await;
        let error = b.await.unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{error:?}");
        assert_eq!(transport.stats().waiting, 0);
        // A still finishes; its connection is not kept.
        let body = a.into_body().collect(2 << 20).await.unwrap();
        assert_eq!(body.len(), 1 << 20);
    });
    assert_eq!(counts(transport.stats()), (1, 0, 0, 0));
    assert_quiet(&transport);
}

/// A TCP listener that accepts, reads the first bytes (a TLS ClientHello), reports it on
/// the channel, and then never answers.
fn silent_tls_server() -> (u16, async_channel::Receiver<()>) {
    let listener = async_io::block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = async_channel::unbounded();
    std::thread::spawn(move || {
        async_io::block_on(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    async_io::block_on(async move {
                        let mut buf = [0u8; 1024];
                        if stream.read(&mut buf).await.is_ok_and(|n| n > 0) {
                            let _ = tx.send(()).await;
                        }
                        while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {}
                    })
                });
            }
        });
    });
    (port, rx)
}

/// Drives `send` until `stage` completes, checks the send is still pending, drops it.
async fn drop_at<F, S>(mut send: F, stage: S)
where
    F: std::future::Future + Unpin,
    F::Output: std::fmt::Debug,
    S: std::future::Future,
{
    or(
        async {
            let output = (&mut send).await;
            panic!("the request should still be pending: {output:?}")
        },
        stage,
    )
    .await;
    drop(send);
}

#[test]
fn dropping_a_request_at_every_stage_leaves_nothing_behind() {
    let server = serve(handler);
    let transport = limited(1);
    let hang = server.url("http", "127.0.0.1", "/hang");

    // Never polled: counted in flight from creation, until dropped.
    let send = transport.send(get(&hang));
    assert_eq!(transport.stats().in_flight, 1);
    drop(send);
    assert_quiet(&transport);

    block_on(async {
        // Waiting for the response head.
        drop_at(transport.send(get(&hang)), async {
            server.requests.recv().await.unwrap();
            assert_eq!(transport.stats().in_use, 1);
        })
        .await;
        assert_quiet(&transport);

        // Waiting for a slot, behind a request waiting for its head.
        let mut first = transport.send(get(&hang));
        or(
            async {
                let output = (&mut first).await;
                panic!("{output:?}")
            },
            async {
                server.requests.recv().await.unwrap();
            },
        )
        .await;
        drop_at(transport.send(get(&hang)), async {
            yield_now().await;
            assert_eq!(transport.stats().waiting, 1);
        })
        .await;
        let s = transport.stats();
        assert_eq!((s.in_use, s.waiting, s.in_flight), (1, 0, 1), "{s:?}");
        drop(first);
        assert_quiet(&transport);

        // Midway through a body, and with the body never polled.
        let response = transport
            .send(get(&server.url("http", "127.0.0.1", "/big")))
            .await
            .unwrap();
        let mut body = response.into_body();
        assert!(!body.next().await.unwrap().unwrap().is_empty());
        assert_eq!(transport.stats().in_flight, 1);
        drop(body);
        assert_quiet(&transport);
        let response = transport
            .send(get(&server.url("http", "127.0.0.1", "/big")))
            .await
            .unwrap();
        drop(response);
        assert_quiet(&transport);
    });

    // During the TLS handshake.
    let (port, hello) = silent_tls_server();
    block_on(drop_at(
        transport.send(get(&format!("https://127.0.0.1:{port}/"))),
        async {
            hello.recv().await.unwrap();
            let s = transport.stats();
            assert_eq!((s.connecting, s.in_flight), (1, 1), "{s:?}");
        },
    ));
    assert_quiet(&transport);

    // During the proxy's CONNECT.
    let px = proxy(ProxyMode::Stall, None);
    let through_proxy = HyperTransport::builder(runtime())
        .proxy(ProxyConfig::from_values(None, Some(&px.url("")), None).unwrap())
        .build()
        .unwrap();
    block_on(drop_at(
        through_proxy.send(get("https://localhost:1/")),
        async {
            let head = px.heads.recv().await.unwrap();
            assert!(head.starts_with("CONNECT localhost:1 "), "{head}");
            assert_eq!(through_proxy.stats().connecting, 1);
        },
    ));
    assert_quiet(&through_proxy);
}

/// Polls `future` at most `n` times and gives up (`None`) if it is still pending then.
/// Every poll but the first follows a wake-up, so the future advances by I/O events.
struct Polls<'a, F> {
    future: &'a mut F,
    left: usize,
}

impl<F: Future + Unpin> Future for Polls<'_, F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        match Pin::new(&mut *self.future).poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending if self.left == 0 => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Starts a request (and the reading of its body), polls it `n` times, then drops it at
/// whatever stage it reached. A request to `/hang` is also dropped once `seen` reports it
/// (nothing would wake it after that).
fn poll_then_drop(
    transport: &HyperTransport,
    url: &str,
    n: usize,
    seen: &async_channel::Receiver<Seen>,
) -> PoolStats {
    while seen.try_recv().is_ok() {}
    let send = transport.send(get(url));
    let mut exchange = Box::pin(async move {
        let mut body = send.await?.into_body();
        while let Some(chunk) = body.next().await {
            chunk?;
        }
        Ok::<(), Error>(())
    });
    let hang = url.ends_with("/hang");
    block_on(or(
        async {
            let outcome = Polls {
                future: &mut exchange,
                left: n,
            }
            .await;
            assert!(!matches!(outcome, Some(Err(_))), "{url}: {outcome:?}");
        },
        async {
            if hang {
                let _ = seen.recv().await;
            } else {
                futures_lite::future::pending::<()>().await;
            }
        },
    ));
    let reached = transport.stats();
    drop(exchange);
    assert_quiet(transport);
    reached
}

#[test]
fn polling_a_request_n_times_then_dropping_leaves_nothing_behind() {
    let pki = pki();
    let tls_server = serve_tls(handler, pki.server_config.clone());
    let server = serve(handler);
    let px = proxy(ProxyMode::Forward, None);
    let direct = HyperTransport::builder(runtime())
        .add_root_certificate_der(pki.ca_der.clone())
        .max_connections_per_host(2)
        .build()
        .unwrap();
    let proxied = HyperTransport::builder(runtime())
        .add_root_certificate_der(pki.ca_der.clone())
        .proxy(ProxyConfig::from_values(Some(&px.url("")), Some(&px.url("")), None).unwrap())
        .max_connections_per_host(1)
        .build()
        .unwrap();
    let urls = [
        server.url("http", "127.0.0.1", "/big"),
        server.url("http", "127.0.0.1", "/hang"),
        tls_server.url("https", "localhost", "/big"),
        tls_server.url("https", "localhost", "/hang"),
    ];
    let mut reached = Vec::new();
    for n in 0..48 {
        for (i, url) in urls.iter().enumerate() {
            let seen = if i < 2 {
                &server.requests
            } else {
                &tls_server.requests
            };
            for transport in [&direct, &proxied] {
                let s = poll_then_drop(transport, url, n, seen);
                reached.push((s.connecting, s.in_use, s.in_flight));
            }
        }
    }
    // The sweep met requests before their first poll, while connecting, and on a connection.
    assert!(reached.contains(&(0, 0, 1)), "{reached:?}");
    assert!(reached.iter().any(|r| r.0 == 1), "{reached:?}");
    assert!(reached.iter().any(|r| r.1 == 1), "{reached:?}");
    // The pools still work, and never exceeded their limits.
    for (transport, max) in [(&direct, 2), (&proxied, 1)] {
        for url in [&urls[0], &urls[2]] {
            let body = block_on(fetch(transport, url));
            assert_eq!(body.len(), 1 << 20);
        }
        let s = transport.stats();
        assert!(s.idle <= 2 * max, "{s:?}");
        assert_quiet(transport);
    }
}
