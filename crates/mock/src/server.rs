//! The accept loop and the per-connection hyper service. Each request is handled in
//! `handle`, which picks the reply (`route`) and turns it into a response (`render`).

mod claude_code;
mod handle;
mod log;
mod render;
mod route;

use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use async_io::Timer;
use async_net::TcpListener;
use futures_lite::{AsyncRead, AsyncWrite, future};
use futures_rustls::TlsAcceptor;
use hyper::service::service_fn;
use smol_hyper::rt::FuturesIo;

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
        match &tls {
            None => executor
                .spawn(async move {
                    let _open = open;
                    serve(stream, shared).await;
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
                            serve(stream, shared).await;
                        }
                    })
                    .detach();
            }
        }
    }
}

/// Serves HTTP/1.1 (with keep-alive) on one connection until the client closes it.
async fn serve<S>(io: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // A service error makes hyper close the connection without answering.
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, request).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(FuturesIo::new(io), service)
        .await;
}
