//! TCP on the `async-io` reactor, shared by every executor built on it.

use std::io;

use claude_kit_rt::{AsyncIo, BoxFuture};

/// Resolves `host` and connects to `host:port` with [`async_net::TcpStream`], with
/// `TCP_NODELAY` set: the body of [`Runtime::connect_tcp`] for async-io executors.
///
/// Name resolution runs on the `blocking` thread pool; each resolved address is tried in turn
/// and the last error is returned if none accepts.
///
/// ```no_run
/// use smol::io::AsyncWriteExt;
///
/// smol::block_on(async {
///     let mut stream = claude_kit_smol::net::connect_tcp("localhost", 8080).await?;
///     stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<_, std::io::Error>(())
/// ```
///
/// [`Runtime::connect_tcp`]: claude_kit_rt::TcpConnect::connect_tcp
pub fn connect_tcp(host: &str, port: u16) -> BoxFuture<'static, io::Result<Box<dyn AsyncIo>>> {
    let host = host.to_owned();
    Box::pin(async move {
        let stream = async_net::TcpStream::connect((host.as_str(), port)).await?;
        stream.set_nodelay(true)?;
        Ok(Box::new(stream) as Box<dyn AsyncIo>)
    })
}
