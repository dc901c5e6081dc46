//! The mock over HTTP/2: prior knowledge on plain TCP, ALPN over TLS, many streams on one
//! connection, reset streams, the announced stream limit, HTTP/2 turned off. The client is
//! hyper's own HTTP/2 client (a dev-dependency), or raw frames where the bytes matter.

use std::io::{Read, Write};
use std::net::TcpStream as StdTcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_executor::Executor;
use bytes::Bytes;
use claude_kit_mock::{MockServer, Reply};
use futures_lite::future;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use smol_hyper::rt::{FuturesIo, SmolExecutor};

const GREETING: &str = "Hello! I am the claude-kit mock server. You said: ";
const PATIENCE: Duration = Duration::from_secs(20);
const PREFIX: &str = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";

/// Runs `test` on an executor with two threads (hyper's connection and stream tasks run on
/// it too).
fn run<F: Future<Output = ()> + Send + 'static>(test: impl FnOnce(Arc<Executor<'static>>) -> F) {
    let executor = Arc::new(Executor::new());
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let helper = {
        let executor = executor.clone();
        let stopped = stopped.clone();
        std::thread::spawn(move || async_io::block_on(executor.run(stopped.recv())))
    };
    let task = executor.spawn(test(executor.clone()));
    async_io::block_on(executor.run(task));
    drop(stop);
    let _ = helper.join();
}

/// Polls `condition` until it holds, on async-io's timer.
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        async_io::Timer::after(Duration::from_millis(1)).await;
    }
}

type Sender = SendRequest<Full<Bytes>>;

/// An HTTP/2 connection (prior knowledge) over `io`; its driver runs on `executor`.
async fn handshake<T>(executor: &Arc<Executor<'static>>, io: T) -> Sender
where
    T: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http2::handshake(
        SmolExecutor::new(executor.clone()),
        FuturesIo::new(io),
    )
    .await
    .expect("HTTP/2 handshake");
    executor
        .spawn(async move {
            let _ = connection.await;
        })
        .detach();
    sender
}

async fn plain(executor: &Arc<Executor<'static>>, server: &MockServer) -> Sender {
    let tcp = async_net::TcpStream::connect(server.addr()).await.unwrap();
    handshake(executor, tcp).await
}

fn messages(authority: &str, stream: bool, text: &str) -> http::Request<Full<Bytes>> {
    let body = serde_json::json!({
        "model": "claude-test",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    });
    http::Request::post(format!("http://{authority}/v1/messages"))
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn body_text(response: http::Response<hyper::body::Incoming>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn prior_knowledge_on_plain_tcp() {
    let server = Arc::new(MockServer::start());
    run(move |executor| async move {
        let mut sender = plain(&executor, &server).await;
        let authority = server.addr().to_string();
        let response = sender
            .send_request(messages(&authority, false, "Hi there"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert!(
            response.headers()["request-id"]
                .to_str()
                .unwrap()
                .starts_with("req_mock_")
        );
        let json: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
        assert_eq!(json["content"][0]["text"], format!("{GREETING}Hi there"));

        let response = sender
            .send_request(messages(&authority, true, "streamed"))
            .await
            .unwrap();
        let sse = body_text(response).await;
        assert!(sse.starts_with("event: message_start\n"), "{sse}");
        assert!(
            sse.trim_end().ends_with(r#"data: {"type":"message_stop"}"#),
            "{sse}"
        );

        // Errors and other endpoints work the same.
        let mut bad = messages(&authority, false, "x");
        bad.headers_mut().remove("anthropic-version");
        let response = sender.send_request(bad).await.unwrap();
        assert_eq!(response.status(), 400);
        let models = http::Request::get(format!("http://{authority}/v1/models"))
            .header("anthropic-version", "2023-06-01")
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(sender.send_request(models).await.unwrap().status(), 200);

        assert_eq!(
            (server.connection_count(), server.http2_connection_count()),
            (1, 1)
        );
        let seen = server.requests();
        assert_eq!(seen.len(), 4);
        assert_eq!(
            (seen[0].method.as_str(), seen[0].path.as_str()),
            ("POST", "/v1/messages")
        );
        assert_eq!(seen[3].path, "/v1/models");
        until("every response to finish", || server.open_requests() == 0).await;
    });
}

/// A TLS client offering `alpn`; returns the protocol the server chose and the stream.
async fn tls(
    server: &MockServer,
    alpn: &[&[u8]],
) -> (
    Option<Vec<u8>>,
    futures_rustls::client::TlsStream<async_net::TcpStream>,
) {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(server.ca_certificate_der().unwrap().into())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = async_net::TcpStream::connect(server.addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = futures_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let chosen = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    (chosen, stream)
}

#[test]
fn alpn_over_tls() {
    let server = Arc::new(MockServer::builder().tls(true).start().unwrap());
    let without = Arc::new(
        MockServer::builder()
            .tls(true)
            .http2(false)
            .start()
            .unwrap(),
    );
    run(move |executor| async move {
        let (chosen, stream) = tls(&server, &[b"h2", b"http/1.1"]).await;
        assert_eq!(chosen.as_deref(), Some(&b"h2"[..]));
        let mut sender = handshake(&executor, stream).await;
        let authority = format!("localhost:{}", server.addr().port());
        let response = sender
            .send_request(messages(&authority, false, "over h2"))
            .await
            .unwrap();
        assert!(body_text(response).await.contains("over h2"));
        assert_eq!(server.http2_connection_count(), 1);

        // A client without h2 gets HTTP/1.1, as does everyone when HTTP/2 is off.
        let (chosen, _) = tls(&server, &[b"http/1.1"]).await;
        assert_eq!(chosen.as_deref(), Some(&b"http/1.1"[..]));
        let (chosen, _) = tls(&without, &[b"h2", b"http/1.1"]).await;
        assert_eq!(chosen.as_deref(), Some(&b"http/1.1"[..]));
        until("the HTTP/1.1 connections to be served", || {
            server.connection_count() == 2 && without.connection_count() == 1
        })
        .await;
        assert_eq!(
            (
                server.http2_connection_count(),
                without.http2_connection_count()
            ),
            (1, 0)
        );
    });
}

#[test]
fn many_streams_on_one_connection() {
    const STREAMS: usize = 1_000;
    let server = Arc::new(MockServer::start());
    run(move |executor| async move {
        let sender = plain(&executor, &server).await;
        let authority = server.addr().to_string();
        let calls = (0..STREAMS).map(|i| {
            let mut sender = sender.clone();
            let request = messages(&authority, true, &format!("stream{i}"));
            async move {
                let response = sender.send_request(request).await.unwrap();
                assert_eq!(response.status(), 200);
                body_text(response).await
            }
        });
        let bodies = futures_util::future::join_all(calls).await;
        for (i, body) in bodies.iter().enumerate() {
            assert!(body.contains(&format!("stream{i}")), "{body}");
        }
        assert_eq!(server.connection_count(), 1);
        assert_eq!(server.requests().len(), STREAMS);
    });
}

#[test]
fn a_reset_stream_is_dropped_and_the_connection_goes_on() {
    let server = Arc::new(MockServer::start());
    run(move |executor| async move {
        let mut sender = plain(&executor, &server).await;
        let authority = server.addr().to_string();
        server.enqueue(Reply::sse_then_stall(PREFIX));
        let response = sender
            .send_request(messages(&authority, true, "stall"))
            .await
            .unwrap();
        let mut body = response.into_body();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, PREFIX.as_bytes());
        assert_eq!(server.open_requests(), 1);
        // Dropping the body resets the stream (RST_STREAM CANCEL): the server drops it.
        drop(body);
        until("the reset stream to be dropped", || {
            server.open_requests() == 0
        })
        .await;
        assert_eq!(server.open_connections(), 1);
        // A request never answered, reset before its response head: dropped as well.
        server.enqueue(Reply::stall_before_headers());
        let pending = sender.send_request(messages(&authority, true, "never"));
        let mut pending = Box::pin(pending);
        let seen = until("the request", || server.requests().len() == 2);
        let answered = async {
            let answer = pending.as_mut().await;
            panic!("answered: {:?}", answer.map(|r| r.status()));
        };
        future::or(answered, seen).await;
        assert_eq!(server.open_requests(), 1);
        drop(pending);
        until("the unanswered stream to be dropped", || {
            server.open_requests() == 0
        })
        .await;
        // The connection serves on.
        let response = sender
            .send_request(messages(&authority, false, "again"))
            .await
            .unwrap();
        assert!(body_text(response).await.contains("again"));
        assert_eq!(server.connection_count(), 1);
    });
}

#[test]
fn faults_reset_the_stream_not_the_connection() {
    let server = Arc::new(MockServer::start());
    run(move |executor| async move {
        let mut sender = plain(&executor, &server).await;
        let authority = server.addr().to_string();
        // Before the head: the stream is reset, no response.
        server.enqueue(Reply::reset_before_headers());
        assert!(
            sender
                .send_request(messages(&authority, true, "a"))
                .await
                .is_err()
        );
        // Midway: the head and a part of the body, then a reset. The three frames leave the
        // server back to back; whether the client hands out the head before it processes the
        // reset is its own business (h2 may drop the buffered head once the stream is reset),
        // so either the request or its body fails — with a reset, not a closed connection.
        server.enqueue(Reply::sse_then_reset(PREFIX));
        match sender.send_request(messages(&authority, true, "b")).await {
            Ok(response) => assert!(response.into_body().collect().await.is_err()),
            Err(error) => assert!(format!("{error:?}").contains("Reset"), "{error:?}"),
        }
        let response = sender
            .send_request(messages(&authority, false, "c"))
            .await
            .unwrap();
        assert!(body_text(response).await.contains("c"));
        assert_eq!(server.connection_count(), 1);
    });
}

/// The server's first frame after the client preface, raw.
fn first_server_frame(addr: std::net::SocketAddr) -> (u8, Vec<u8>) {
    let mut tcp = StdTcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    // An empty SETTINGS frame.
    tcp.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap();
    let mut header = [0u8; 9];
    tcp.read_exact(&mut header).unwrap();
    let len = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).unwrap();
    (header[3], payload)
}

/// `SETTINGS_MAX_CONCURRENT_STREAMS` in a SETTINGS payload.
fn max_concurrent_streams(payload: &[u8]) -> Option<u32> {
    payload
        .chunks_exact(6)
        .find(|entry| entry[..2] == [0, 3])
        .map(|entry| u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]))
}

#[test]
fn the_stream_limit_is_announced() {
    let server = MockServer::start();
    let (kind, payload) = first_server_frame(server.addr());
    assert_eq!(kind, 4, "the server's preface is a SETTINGS frame");
    assert_eq!(
        max_concurrent_streams(&payload),
        Some(claude_kit_mock::DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS)
    );
    let server = MockServer::builder()
        .http2_max_concurrent_streams(7)
        .start()
        .unwrap();
    assert_eq!(
        max_concurrent_streams(&first_server_frame(server.addr()).1),
        Some(7)
    );
    // The binary's flag says the same.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_claude-kit-mock"))
        .args(["--threads", "1", "--http2-max-streams", "9"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("http://")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(max_concurrent_streams(&first_server_frame(addr).1), Some(9));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn http2_off_serves_http1_only() {
    let server = MockServer::builder().http2(false).start().unwrap();
    let mut tcp = StdTcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    // Whatever hyper's HTTP/1.1 server says to that request line, it is not HTTP/2.
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(server.http2_connection_count(), 0);
}
