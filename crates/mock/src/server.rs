//! The accept loop and the per-connection hyper service. Each request is handled in
//! `handle`, which picks the reply (`route`) and turns it into a response (`render`).
//!
//! A connection speaks HTTP/1.1 or HTTP/2: on plain TCP, HTTP/2 when it starts with the
//! HTTP/2 connection preface (prior knowledge, `preface`); on TLS, what ALPN negotiated (the
//! server offers `h2` and `http/1.1`). HTTP/2 can be turned off
//! ([`MockServerBuilder::http2`](crate::MockServerBuilder::http2)).

mod claude_code;
mod handle;
mod log;
mod preface;
mod render;
mod route;

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_executor::Executor;
use async_io::Timer;
use async_net::TcpListener;
use futures_lite::{AsyncRead, AsyncWrite, future};
use futures_rustls::TlsAcceptor;
use hyper::service::service_fn;
use smol_hyper::rt::{FuturesIo, SmolTimer};

use crate::Shared;
pub(crate) use claude_code::dialect;
pub(crate) use handle::Answer;
use handle::handle;

/// Upper bound on a TLS handshake, so stuck clients do not pin a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Accepts connections forever, spawning one task per connection on `executor`.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    executor: Arc<Executor<'static>>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                Timer::after(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Moved into the connection's task: dropped when the task ends or is dropped.
        let open = shared.connection_accepted();
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let streams = StreamExecutor(Arc::downgrade(&executor));
        match &tls {
            None => executor
                .spawn(async move {
                    let _open = open;
                    serve_plain(stream, shared, streams).await;
                })
                .detach(),
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                executor
                    .spawn(async move {
                        let _open = open;
                        let handshake =
                            future::or(async { acceptor.accept(stream).await.ok() }, async {
                                Timer::after(HANDSHAKE_TIMEOUT).await;
                                None
                            });
                        if let Some(stream) = handshake.await {
                            // Only offered when HTTP/2 is on (see `tls`).
                            let http2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                            serve(stream, shared, streams, http2).await;
                        }
                    })
                    .detach();
            }
        }
    }
}

/// Spawns hyper's HTTP/2 stream tasks on the server's executor. Weak: a connection task
/// (owned by the executor) holding the executor would keep it, and so every task, alive
/// after the server is dropped.
#[derive(Clone)]
struct StreamExecutor(Weak<Executor<'static>>);

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // Gone: the server is shutting down, and the stream goes with its connection.
        if let Some(executor) = self.0.upgrade() {
            executor.spawn(future).detach();
        }
    }
}

/// Serves a plain TCP connection: HTTP/2 when it starts with the HTTP/2 preface (and HTTP/2
/// is on), HTTP/1.1 otherwise.
async fn serve_plain(
    mut stream: async_net::TcpStream,
    shared: Arc<Shared>,
    executor: StreamExecutor,
) {
    if shared.http2_max_streams.is_none() {
        return serve(stream, shared, executor, false).await;
    }
    // No bound on this wait, as for an HTTP/1.1 request head: the task ends with the client.
    let Ok((http2, read)) = preface::sniff(&mut stream).await else {
        return;
    };
    serve(preface::Rewind::new(read, stream), shared, executor, http2).await;
}

/// Serves HTTP/1.1 (with keep-alive) or HTTP/2 (each stream a task on `executor`) on one
/// connection until the client closes it.
async fn serve<S>(io: S, shared: Arc<Shared>, executor: StreamExecutor, http2: bool)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let max_streams = shared.http2_max_streams;
    if http2 {
        shared.http2_connection();
    }
    // A service error makes hyper close the connection without answering (HTTP/1.1), or
    // reset the stream (HTTP/2).
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let open = shared.request_opened();
        async move {
            let response = handle(&shared, request).await?;
            Ok::<_, std::io::Error>(response.map(|body| crate::body::guarded(body, open)))
        }
    });
    if http2 {
        let mut builder = hyper::server::conn::http2::Builder::new(executor);
        builder
            .timer(SmolTimer::new())
            .max_concurrent_streams(max_streams)
            // Streams reset by the mock's own faults must not end the connection.
            .max_local_error_reset_streams(None);
        let _ = builder.serve_connection(FuturesIo::new(io), service).await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(FuturesIo::new(io), service)
            .await;
    }
}
