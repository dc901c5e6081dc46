//! HTTP/2 (feature `http2`) against the mock server, which speaks HTTP/2 with prior knowledge
//! on plain TCP and through ALPN on TLS. Every test runs on three runtimes: a thread per task
//! (`common::TestRuntime`), smol and async-std (this crate cannot use the workspace's
//! `on_all_runtimes!`, whose tokio runner would put tokio's runtime in its dependency graph;
//! the facade's `tests/it/http2.rs` runs the client over HTTP/2 on all four).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use claude_kit_core::transport::{Body, Transport};
use claude_kit_core::{Error, TimeoutPhase};
use claude_kit_hyper::{HyperTransport, PoolStats, ProxyConfig};
use claude_kit_mock::{MockServer, Reply};
use claude_kit_rt::Runtime;
use futures_lite::StreamExt;

use crate::common::{ProxyMode, Reply as RawReply, proxy, serve};

type Rt = Arc<dyn Runtime>;

/// One `#[test]` per runtime for each `async fn(Rt)`.
macro_rules! on_runtimes {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[test]
            fn thread_per_task() {
                futures_lite::future::block_on(super::$test(crate::common::runtime()));
            }
            #[test]
            fn smol() {
                let rt: super::Rt = std::sync::Arc::new(claude_kit_smol::SmolRuntime::new());
                claude_kit_smol::block_on(super::$test(rt));
            }
            #[test]
            #[allow(deprecated)]
            fn async_std() {
                let rt: super::Rt =
                    std::sync::Arc::new(claude_kit_async_std::AsyncStdRuntime::new());
                claude_kit_async_std::block_on(super::$test(rt));
            }
        }
    )*};
}

on_runtimes!(
    prior_knowledge_over_plain_tcp,
    alpn_picks_http2_on_tls,
    prior_knowledge_on_tls,
    http1_when_the_server_does_not_offer_http2,
    many_concurrent_streams_share_one_connection,
    the_servers_stream_limit_opens_more_connections,
    a_thousand_streams_per_connection_at_most,
    a_body_dropped_midway_resets_only_its_stream,
    a_request_dropped_before_its_answer_leaks_nothing,
    close_refuses_new_streams_and_lets_open_ones_finish,
    requests_waiting_for_a_connection_share_its_failure,
    waiting_requests_fail_when_the_transport_closes,
    an_expired_idle_connection_is_replaced,
    keep_alive_pings_run_on_the_runtimes_timers,
    a_forwarding_proxy_gets_http1,
);

/// Upper bound for conditions awaited by polling a counter; reaching it is a failure.
const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `condition` (every millisecond, on the runtime's timer) until it holds.
async fn until(rt: &Rt, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        claude_kit_rt::sleep(&**rt, Duration::from_millis(1)).await;
    }
}

/// The beginning of a stream, then (as the mock is scripted) nothing until it is dropped.
const PREFIX: &str = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";

fn messages(base: &str, stream: bool) -> http::Request<Bytes> {
    let body = serde_json_body(stream);
    http::Request::post(format!("{base}/v1/messages"))
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(Bytes::from(body))
        .unwrap()
}

fn serde_json_body(stream: bool) -> String {
    format!(
        r#"{{"model":"claude-test","max_tokens":32,"stream":{stream},"messages":[{{"role":"user","content":"one two three"}}]}}"#
    )
}

fn prior_knowledge(rt: &Rt) -> HyperTransport {
    HyperTransport::builder(rt.clone())
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

async fn text(body: Body) -> String {
    String::from_utf8(body.collect(1 << 20).await.unwrap().to_vec()).unwrap()
}

/// (opened, idle, in use, in flight)
fn counts(s: PoolStats) -> (u64, usize, usize, usize) {
    (s.connections_opened, s.idle, s.in_use, s.in_flight)
}

fn assert_quiet(transport: &HyperTransport) {
    let s = transport.stats();
    assert_eq!(
        (s.in_use, s.in_flight, s.waiting, s.connecting),
        (0, 0, 0, 0),
        "{s:?}"
    );
}

async fn prior_knowledge_over_plain_tcp(rt: Rt) {
    let server = MockServer::start();
    let transport = prior_knowledge(&rt);
    let response = transport
        .send(messages(&server.url(), false))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("request-id"));
    assert!(text(response.into_body()).await.contains("one two three"));
    let response = transport.send(messages(&server.url(), true)).await.unwrap();
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let sse = text(response.into_body()).await;
    assert!(sse.contains("event: message_stop"), "{sse}");
    // Both on one HTTP/2 connection, idle again.
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
    assert_eq!(
        (server.connection_count(), server.http2_connection_count()),
        (1, 1)
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/v1/messages");
    assert_eq!(seen[0].header("anthropic-version"), Some("2023-06-01"));
}

fn tls_transport(rt: &Rt, server: &MockServer) -> claude_kit_hyper::HyperTransportBuilder {
    HyperTransport::builder(rt.clone())
        .add_root_certificate_der(server.ca_certificate_der().unwrap())
}

async fn alpn_picks_http2_on_tls(rt: Rt) {
    let server = MockServer::builder().tls(true).start().unwrap();
    // The default with the feature: ALPN offers h2 and http/1.1.
    let transport = tls_transport(&rt, &server).build().unwrap();
    for _ in 0..3 {
        let response = transport.send(messages(&server.url(), true)).await.unwrap();
        assert_eq!(response.status(), 200);
        text(response.into_body()).await;
    }
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
    assert_eq!(server.http2_connection_count(), 1);
    // Plain http:// negotiates nothing: HTTP/1.1 without prior knowledge.
    let plain = MockServer::start();
    let response = transport.send(messages(&plain.url(), false)).await.unwrap();
    text(response.into_body()).await;
    assert_eq!(
        (plain.connection_count(), plain.http2_connection_count()),
        (1, 0)
    );
}

async fn prior_knowledge_on_tls(rt: Rt) {
    let server = MockServer::builder().tls(true).start().unwrap();
    let transport = tls_transport(&rt, &server)
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = transport
        .send(messages(&server.url(), false))
        .await
        .unwrap();
    text(response.into_body()).await;
    assert_eq!(server.http2_connection_count(), 1);
    // A server without HTTP/2 refuses an offer of `h2` alone: a connect error, typed.
    let http1 = MockServer::builder()
        .tls(true)
        .http2(false)
        .start()
        .unwrap();
    let transport = tls_transport(&rt, &http1)
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let error = transport
        .send(messages(&http1.url(), false))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert_quiet(&transport);
}

async fn http1_when_the_server_does_not_offer_http2(rt: Rt) {
    let server = MockServer::builder()
        .tls(true)
        .http2(false)
        .start()
        .unwrap();
    let transport = tls_transport(&rt, &server).build().unwrap();
    // Concurrent requests: HTTP/1.1 gives each its own connection; the first one learns the
    // protocol, and those that waited for it then go their own way.
    let responses = futures_util::future::join_all(
        (0..4).map(|_| transport.send(messages(&server.url(), true))),
    )
    .await;
    for response in responses {
        let body = text(response.unwrap().into_body()).await;
        assert!(body.contains("message_stop"));
    }
    assert_eq!(server.http2_connection_count(), 0);
    let opened = transport.stats().connections_opened;
    assert!(
        opened >= 2,
        "HTTP/1.1 carries one request at a time: {opened}"
    );
    // Then requests reuse the idle HTTP/1.1 connections.
    let response = transport
        .send(messages(&server.url(), false))
        .await
        .unwrap();
    text(response.into_body()).await;
    assert_eq!(transport.stats().connections_opened, opened);
    assert_quiet(&transport);
    // Plain http:// to a server without HTTP/2, with prior knowledge: the connection fails
    // (the server answers the preface as a malformed HTTP/1.1 request), typed.
    let plain = MockServer::builder().http2(false).start().unwrap();
    let error = prior_knowledge(&rt)
        .send(messages(&plain.url(), false))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Connect { .. } | Error::Transport { .. }),
        "{error:?}"
    );
}

/// Sends `n` requests that each get `PREFIX` and then stall, and returns their bodies once
/// every response head arrived.
async fn open_stalled_streams(
    transport: &HyperTransport,
    server: &MockServer,
    n: usize,
) -> Vec<Body> {
    for _ in 0..n {
        server.enqueue(Reply::sse_then_stall(PREFIX));
    }
    let responses = futures_util::future::join_all(
        (0..n).map(|_| transport.send(messages(&server.url(), true))),
    )
    .await;
    responses
        .into_iter()
        .map(|response| {
            let response = response.unwrap();
            assert_eq!(response.status(), 200);
            response.into_body()
        })
        .collect()
}

async fn many_concurrent_streams_share_one_connection(rt: Rt) {
    const STREAMS: usize = 100;
    let server = MockServer::start();
    let transport = prior_knowledge(&rt);
    let mut bodies = open_stalled_streams(&transport, &server, STREAMS).await;
    for body in &mut bodies {
        let first = body.next().await.unwrap().unwrap();
        assert_eq!(first, PREFIX.as_bytes());
    }
    // One connection carries every stream.
    assert_eq!(counts(transport.stats()), (1, 0, 1, STREAMS));
    assert_eq!(server.connection_count(), 1);
    assert_eq!(server.open_requests(), STREAMS);
    // Dropping them resets the streams: the server lets them go, the connection stays.
    drop(bodies);
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
    until(&rt, "the server to drop the reset streams", || {
        server.open_requests() == 0
    })
    .await;
    assert_eq!(server.open_connections(), 1);
    let response = transport.send(messages(&server.url(), true)).await.unwrap();
    assert!(text(response.into_body()).await.contains("message_stop"));
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
    assert_eq!(server.connection_count(), 1);
}

/// Past 1,000 streams on one connection the client opens another, even when the server would
/// take more (the mock allows 20,000): h2's budget for unread DATA frames is per connection.
async fn a_thousand_streams_per_connection_at_most(rt: Rt) {
    const STREAMS: usize = 1001;
    let server = MockServer::start();
    let transport = prior_knowledge(&rt);
    let bodies = open_stalled_streams(&transport, &server, STREAMS).await;
    assert_eq!(transport.stats().connections_opened, 2);
    assert_eq!(server.open_requests(), STREAMS);
    drop(bodies);
    until(&rt, "the server to drop the reset streams", || {
        server.open_requests() == 0
    })
    .await;
    assert_quiet(&transport);
}

async fn the_servers_stream_limit_opens_more_connections(rt: Rt) {
    let server = MockServer::builder()
        .http2_max_concurrent_streams(4)
        .start()
        .unwrap();
    let transport = prior_knowledge(&rt);
    // Ten at once: the first opens a connection, the others wait for it, four take its
    // streams, the fifth opens the next one, and so on: ⌈10 / 4⌉ connections.
    let bodies = open_stalled_streams(&transport, &server, 10).await;
    let stats = transport.stats();
    assert_eq!(counts(stats), (3, 0, 3, 10), "{stats:?}");
    assert_eq!(
        (server.connection_count(), server.http2_connection_count()),
        (3, 3)
    );
    drop(bodies);
    assert_eq!(counts(transport.stats()), (3, 3, 0, 0));
    // With room again, requests go to the connections there are.
    let bodies = open_stalled_streams(&transport, &server, 12).await;
    assert_eq!(counts(transport.stats()), (3, 0, 3, 12));
    drop(bodies);
    assert_quiet(&transport);
}

async fn a_body_dropped_midway_resets_only_its_stream(rt: Rt) {
    let server = MockServer::start();
    let transport = prior_knowledge(&rt);
    // An endless event: the server produces as long as the stream is open.
    server.enqueue(Reply::oversized_event(u64::MAX));
    let response = transport.send(messages(&server.url(), true)).await.unwrap();
    let mut body = response.into_body();
    assert!(!body.next().await.unwrap().unwrap().is_empty());
    assert_eq!(transport.stats().in_flight, 1);
    drop(body);
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
    until(&rt, "the server to see the reset", || {
        server.open_requests() == 0
    })
    .await;
    // The server stopped producing, and the connection serves the next request.
    let produced = server.bytes_streamed();
    let response = transport
        .send(messages(&server.url(), false))
        .await
        .unwrap();
    assert!(text(response.into_body()).await.contains("one two three"));
    assert_eq!(server.bytes_streamed(), produced);
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
    assert_eq!(
        (server.connection_count(), server.open_connections()),
        (1, 1)
    );
}

async fn a_request_dropped_before_its_answer_leaks_nothing(rt: Rt) {
    let server = MockServer::start();
    let transport = prior_knowledge(&rt);
    server.enqueue(Reply::stall_before_headers());
    // Boxed, so that dropping it drops the request.
    let mut send = Box::pin(transport.send(messages(&server.url(), true)));
    // Drive it until the server has the request, then give up on it.
    let served = std::pin::pin!(until(&rt, "the request", || server.requests().len() == 1));
    match futures_util::future::select(send.as_mut(), served).await {
        futures_util::future::Either::Left((result, _)) => {
            panic!(
                "the stalled request was answered: {:?}",
                result.map(|r| r.status())
            )
        }
        futures_util::future::Either::Right(((), _)) => {}
    }
    assert_eq!(transport.stats().in_flight, 1);
    drop(send);
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
    until(&rt, "the server to see the reset", || {
        server.open_requests() == 0
    })
    .await;
    let response = transport
        .send(messages(&server.url(), false))
        .await
        .unwrap();
    text(response.into_body()).await;
    assert_eq!(server.connection_count(), 1);
}

async fn close_refuses_new_streams_and_lets_open_ones_finish(rt: Rt) {
    let server = MockServer::builder()
        .token_delay(Duration::from_millis(2))
        .start()
        .unwrap();
    let transport = prior_knowledge(&rt);
    let other = MockServer::start();
    // An idle connection to `other`, a busy one to `server`.
    let response = transport.send(messages(&other.url(), false)).await.unwrap();
    text(response.into_body()).await;
    let busy = transport.send(messages(&server.url(), true)).await.unwrap();
    assert_eq!(counts(transport.stats()), (2, 1, 1, 1));
    transport.close().await;
    // The idle connection is closed at once; the open stream goes on.
    assert_eq!(counts(transport.stats()), (2, 0, 1, 1));
    until(&rt, "the idle connection to close", || {
        other.open_connections() == 0
    })
    .await;
    let error = transport
        .send(messages(&server.url(), false))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    assert!(text(busy.into_body()).await.contains("message_stop"));
    // Its connection is closed after its last stream, not pooled.
    assert_eq!(counts(transport.stats()), (2, 0, 0, 0));
    until(&rt, "the busy connection to close", || {
        server.open_connections() == 0
    })
    .await;
}

async fn requests_waiting_for_a_connection_share_its_failure(rt: Rt) {
    // A TCP server that never speaks HTTP/2: the handshake waits for SETTINGS that never
    // come, until the connect timeout.
    let silent = serve(|_| RawReply::Hang);
    let transport = HyperTransport::builder(rt.clone())
        .http2_prior_knowledge()
        .connect_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let url = silent.url("http", "127.0.0.1", "");
    let (first, second) = futures_lite::future::zip(
        transport.send(messages(&url, false)),
        transport.send(messages(&url, false)),
    )
    .await;
    for error in [first.unwrap_err(), second.unwrap_err()] {
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
    }
    // One attempt for both.
    assert_eq!(transport.stats().connections_opened, 1);
    assert_eq!(silent.accepted(), 1);
    assert_quiet(&transport);
}

async fn waiting_requests_fail_when_the_transport_closes(rt: Rt) {
    let silent = serve(|_| RawReply::Hang);
    let transport = HyperTransport::builder(rt.clone())
        .http2_prior_knowledge()
        .connect_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let url = silent.url("http", "127.0.0.1", "");
    // Boxed, so that dropping the opener drops its request.
    let mut opener = Box::pin(transport.send(messages(&url, false)));
    let mut waiter = Box::pin(transport.send(messages(&url, false)));
    let stats = std::pin::pin!(until(&rt, "one opening, one waiting", || {
        let s = transport.stats();
        (s.connecting, s.waiting) == (1, 1)
    }));
    let both = futures_lite::future::zip(opener.as_mut(), waiter.as_mut());
    if let futures_util::future::Either::Left(_) = futures_util::future::select(both, stats).await {
        panic!("the requests ended before the close");
    }
    transport.close().await;
    let error = waiter.await.unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    assert_eq!(transport.stats().waiting, 0);
    drop(opener);
    assert_quiet(&transport);
}

async fn an_expired_idle_connection_is_replaced(rt: Rt) {
    let server = MockServer::start();
    let transport = HyperTransport::builder(rt.clone())
        .http2_prior_knowledge()
        .pool_idle_timeout(Duration::ZERO)
        .build()
        .unwrap();
    for _ in 0..2 {
        let response = transport
            .send(messages(&server.url(), false))
            .await
            .unwrap();
        text(response.into_body()).await;
    }
    // Idle for "too long" at once: each request got a new connection, and none is kept.
    assert_eq!(counts(transport.stats()), (2, 0, 0, 0));
    assert_eq!(server.connection_count(), 2);
    until(&rt, "the expired connections to close", || {
        server.open_connections() == 0
    })
    .await;
}

async fn keep_alive_pings_run_on_the_runtimes_timers(rt: Rt) {
    let server = MockServer::builder()
        .token_delay(Duration::from_millis(5))
        .start()
        .unwrap();
    let transport = HyperTransport::builder(rt.clone())
        .http2_prior_knowledge()
        .http2_keep_alive(Duration::from_millis(1), Duration::from_secs(20))
        .build()
        .unwrap();
    for _ in 0..2 {
        let response = transport.send(messages(&server.url(), true)).await.unwrap();
        assert!(text(response.into_body()).await.contains("message_stop"));
    }
    assert_eq!(counts(transport.stats()), (1, 1, 0, 0));
}

async fn a_forwarding_proxy_gets_http1(rt: Rt) {
    let server = MockServer::start();
    let forward = proxy(ProxyMode::Forward, None);
    let transport = HyperTransport::builder(rt.clone())
        .http2_prior_knowledge()
        .proxy(ProxyConfig::from_values(Some(&forward.url("")), None, None).unwrap())
        .build()
        .unwrap();
    let response = transport
        .send(messages(&server.url(), false))
        .await
        .unwrap();
    assert!(text(response.into_body()).await.contains("one two three"));
    assert_eq!(forward.forwards(), 1);
    let head = forward.heads.try_recv().unwrap();
    assert!(head.starts_with("POST http://127.0.0.1:"), "{head}");
    assert!(head.contains(" HTTP/1.1\r\n"), "{head}");
    assert_eq!(server.http2_connection_count(), 0);
}
