//! Telling HTTP/2 with prior knowledge from HTTP/1.1 on a plain TCP connection: an HTTP/2
//! client starts with the connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (RFC 9113
//! §3.4), which no HTTP/1.1 request starts with. The bytes read to decide are replayed to the
//! protocol that serves the connection ([`Rewind`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite};

/// The HTTP/2 client connection preface.
pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads from `io` until its first bytes either are the whole preface (`true`) or differ
/// from it (`false`; an HTTP/1.1 request differs by its third byte at the latest). Returns
/// the bytes read, to replay. An end of stream before the decision is `false`.
pub(super) async fn sniff<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<(bool, Vec<u8>)> {
    let mut read = Vec::with_capacity(PREFACE.len());
    let mut buf = [0u8; PREFACE.len()];
    while read.len() < PREFACE.len() {
        let want = PREFACE.len() - read.len();
        let n = io.read(&mut buf[..want]).await?;
        if n == 0 {
            return Ok((false, read));
        }
        read.extend_from_slice(&buf[..n]);
        if !PREFACE.starts_with(&read) {
            return Ok((false, read));
        }
    }
    Ok((true, read))
}

/// A stream that yields `prefix` before the rest of `inner`.
pub(super) struct Rewind<S> {
    prefix: Vec<u8>,
    offset: usize,
    inner: S,
}

impl<S> Rewind<S> {
    pub(super) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Self {
            prefix,
            offset: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let rest = &this.prefix[this.offset..];
        if !rest.is_empty() {
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            this.offset += n;
            if this.offset == this.prefix.len() {
                this.prefix = Vec::new();
                this.offset = 0;
            }
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::io::Cursor;

    fn sniffed(bytes: &[u8]) -> (bool, Vec<u8>, Vec<u8>) {
        async_io::block_on(async {
            let mut io = Cursor::new(bytes.to_vec());
            let (h2, read) = sniff(&mut io).await.unwrap();
            let mut replayed = Vec::new();
            Rewind::new(read.clone(), io)
                .read_to_end(&mut replayed)
                .await
                .unwrap();
            (h2, read, replayed)
        })
    }

    #[test]
    fn the_preface_is_http2_anything_else_http1() {
        let mut h2 = PREFACE.to_vec();
        h2.extend_from_slice(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00");
        let (is_h2, read, replayed) = sniffed(&h2);
        assert!(is_h2);
        assert_eq!(read, PREFACE);
        assert_eq!(replayed, h2, "every byte is replayed");

        let h1 = b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n\r\n";
        let (is_h2, read, replayed) = sniffed(h1);
        assert!(!is_h2);
        assert!(!read.is_empty() && h1.starts_with(&read));
        assert_eq!(replayed, h1);

        // A connection that ends inside the preface is not HTTP/2.
        let (is_h2, _, replayed) = sniffed(&PREFACE[..10]);
        assert!(!is_h2);
        assert_eq!(replayed, &PREFACE[..10]);
    }
}
