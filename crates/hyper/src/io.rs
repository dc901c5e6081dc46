//! Glue between `futures-io` streams (what every [`Runtime`](claude_kit_rt::Runtime)
//! hands out) and hyper's own I/O traits.
//!
//! hyper 1.x reads into possibly uninitialised memory through [`hyper::rt::ReadBufCursor`],
//! while `futures-io` readers need initialised memory; bridging them directly needs `unsafe`,
//! which this crate forbids. Reads therefore go through an initialised scratch buffer and are
//! copied once into hyper's buffer. The scratch buffer is one per thread, not one per
//! connection: a read borrows it only for the duration of one `poll_read`, so ten thousand
//! idle streams cost no scratch memory at all.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};

/// Size of the per-thread read scratch buffer.
const SCRATCH_LEN: usize = 16 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_LEN].into_boxed_slice());
}

/// Wraps a `futures-io` stream so hyper can use it (client or server side).
#[derive(Debug)]
pub(crate) struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: T) -> Self {
        Self { inner }
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let inner = &mut self.get_mut().inner;
        let want = buf.remaining().min(SCRATCH_LEN);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        let mut read = |scratch: &mut [u8]| -> Poll<io::Result<()>> {
            let n = ready!(Pin::new(&mut *inner).poll_read(cx, &mut scratch[..want]))?;
            buf.put_slice(&scratch[..n]);
            Poll::Ready(Ok(()))
        };
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => read(&mut scratch),
            // Only if a read re-entered another read on this thread: not a case worth a
            // shared buffer, so use a temporary one.
            Err(_) => read(&mut vec![0; want]),
        })
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
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

    fn is_write_vectored(&self) -> bool {
        // futures-io has no way to ask; the default `poll_write_vectored` writes the first
        // non-empty slice, which hyper handles, so claiming support is always correct and lets
        // vectored-capable streams (TCP) avoid hyper's flattening copy.
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
