//! The TCP capability: [`TcpConnect`] and the byte streams it opens, [`AsyncIo`].

use std::io;

use futures_io::{AsyncRead, AsyncWrite};

use crate::BoxFuture;

/// A byte stream to a peer: what [`TcpConnect::connect_tcp`] returns.
///
/// Any `futures-io` reader and writer that is `Send + Unpin + 'static` is one; adapters for
/// runtimes with their own I/O traits (tokio) wrap their streams in a compatibility layer.
pub trait AsyncIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> AsyncIo for T {}

/// The TCP capability of a [`Runtime`](crate::Runtime): name resolution and connect.
///
/// A runtime offers it through [`Runtime::tcp`](crate::Runtime::tcp); the HTTP transport is its
/// only user. You implement it to reach the API through something other than the executor's
/// sockets (an in-memory pipe in tests, a tunnel).
///
/// Its future is a hand-written `'static` [`BoxFuture`], not an `async fn`: the transport
/// stores and spawns it (a connect races a timeout and may finish in a pooled background
/// task), so it cannot borrow `&self`.
///
/// ```
/// use std::io::{self, ErrorKind};
/// use claude_kit_rt::{AsyncIo, BoxFuture, TcpConnect};
///
/// type Connect = BoxFuture<'static, io::Result<Box<dyn AsyncIo>>>;
///
/// /// Refuses every connection: a test double for "the network is down".
/// struct Offline;
///
/// impl TcpConnect for Offline {
///     fn connect_tcp(&self, host: &str, port: u16) -> Connect {
///         let error = format!("offline: {host}:{port}");
///         Box::pin(async move { Err(io::Error::new(ErrorKind::ConnectionRefused, error)) })
///     }
/// }
///
/// let error = futures::executor::block_on(Offline.connect_tcp("localhost", 80)).err().unwrap();
/// assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
/// ```
pub trait TcpConnect: Send + Sync {
    /// Resolves `host` and opens a TCP connection to `host:port`.
    ///
    /// Name resolution belongs here because it is blocking on most platforms and each runtime
    /// has its own way to keep it off the reactor. Dropping the future abandons the attempt.
    fn connect_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, io::Result<Box<dyn AsyncIo>>>;
}
