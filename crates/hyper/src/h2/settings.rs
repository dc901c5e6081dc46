//! What the server allows on an HTTP/2 connection: its `SETTINGS_MAX_CONCURRENT_STREAMS`, read
//! from the bytes it sends.
//!
//! hyper does not tell when the server's SETTINGS arrived, nor their values once its
//! connection task owns the connection. The pool needs both: a new connection is handed to
//! waiting requests only once the server said how many streams it takes (RFC 9113 §3.4: its
//! first frame is SETTINGS), so that a burst of requests opens as many connections as the
//! server's limit asks for, not one per request nor one for all. [`Watched`] wraps the byte
//! stream under hyper and runs a [`FrameScanner`] over what is read: it follows the frame
//! boundaries (9-byte headers; payloads are skipped by counting, never copied) and decodes
//! only SETTINGS payloads, so it costs a few comparisons per read.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};

/// HTTP/2 frame header length.
const HEADER_LEN: usize = 9;
/// Frame type SETTINGS.
const SETTINGS: u8 = 0x4;
/// The ACK flag of a SETTINGS frame.
const ACK: u8 = 0x1;
/// One setting: a 16-bit identifier, a 32-bit value.
const ENTRY_LEN: usize = 6;
/// `SETTINGS_MAX_CONCURRENT_STREAMS`.
const MAX_CONCURRENT_STREAMS: u16 = 0x3;

/// What a chunk of server bytes held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    /// A SETTINGS frame (not an acknowledgement) ended in this chunk.
    pub(crate) settings: bool,
    /// The last `SETTINGS_MAX_CONCURRENT_STREAMS` value in it.
    pub(crate) max_concurrent_streams: Option<u32>,
}

/// Follows HTTP/2 frames in the bytes a server sends (after the client preface: the server
/// sends no preface string), decoding SETTINGS. Sans-IO: fed the bytes as they are read.
#[derive(Debug, Default)]
pub(crate) struct FrameScanner {
    header: [u8; HEADER_LEN],
    /// Bytes of `header` filled; only meaningful outside a payload.
    header_len: usize,
    /// Inside a payload: the bytes of it still to come.
    payload_left: Option<usize>,
    /// The current frame is a SETTINGS frame to decode.
    in_settings: bool,
    entry: [u8; ENTRY_LEN],
    entry_len: usize,
}

impl FrameScanner {
    /// Scans the next bytes of the connection.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Seen {
        let mut seen = Seen::default();
        while !bytes.is_empty() {
            match self.payload_left {
                None => {
                    let take = (HEADER_LEN - self.header_len).min(bytes.len());
                    self.header[self.header_len..self.header_len + take]
                        .copy_from_slice(&bytes[..take]);
                    self.header_len += take;
                    bytes = &bytes[take..];
                    if self.header_len == HEADER_LEN {
                        self.header_len = 0;
                        let h = self.header;
                        let length =
                            usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
                        self.in_settings = h[3] == SETTINGS && h[4] & ACK == 0;
                        self.entry_len = 0;
                        self.payload_left = Some(length);
                        if length == 0 {
                            self.end_frame(&mut seen);
                        }
                    }
                }
                Some(left) => {
                    let take = left.min(bytes.len());
                    if self.in_settings {
                        for &byte in &bytes[..take] {
                            self.entry[self.entry_len] = byte;
                            self.entry_len += 1;
                            if self.entry_len == ENTRY_LEN {
                                self.entry_len = 0;
                                let e = self.entry;
                                let id = u16::from_be_bytes([e[0], e[1]]);
                                if id == MAX_CONCURRENT_STREAMS {
                                    seen.max_concurrent_streams =
                                        Some(u32::from_be_bytes([e[2], e[3], e[4], e[5]]));
                                }
                            }
                        }
                    }
                    bytes = &bytes[take..];
                    self.payload_left = Some(left - take);
                    if left == take {
                        self.end_frame(&mut seen);
                    }
                }
            }
        }
        seen
    }

    fn end_frame(&mut self, seen: &mut Seen) {
        if self.in_settings {
            seen.settings = true;
        }
        self.in_settings = false;
        self.payload_left = None;
    }
}

/// The server's settings as the pool reads them, shared with the connection's [`Watched`]
/// stream.
#[derive(Debug)]
pub(crate) struct ServerSettings {
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`; `usize::MAX` while the server set no limit (the
    /// protocol's initial value is "unlimited").
    max_streams: AtomicUsize,
    /// The server's first SETTINGS frame has arrived.
    received: AtomicBool,
}

impl ServerSettings {
    /// The most streams the server takes at once on the connection.
    pub(crate) fn max_streams(&self) -> usize {
        self.max_streams.load(Ordering::Acquire)
    }

    /// Whether the server's first SETTINGS frame arrived.
    pub(crate) fn received(&self) -> bool {
        self.received.load(Ordering::Acquire)
    }
}

/// A byte stream whose incoming bytes update a [`ServerSettings`].
pub(crate) struct Watched<T> {
    inner: T,
    scanner: FrameScanner,
    settings: Arc<ServerSettings>,
    /// Dropped (closing the channel, which wakes [`SettingsArrival::wait`]) at the first
    /// SETTINGS frame, or with the stream.
    first: Option<async_channel::Sender<()>>,
}

/// Waits for the server's first SETTINGS frame.
pub(crate) struct SettingsArrival {
    settings: Arc<ServerSettings>,
    first: async_channel::Receiver<()>,
}

impl SettingsArrival {
    /// Resolves once the first SETTINGS frame arrived (`true`) or the connection ended before
    /// it (`false`).
    pub(crate) async fn wait(self) -> bool {
        // Nothing is ever sent: `recv` returns when the sender is dropped.
        let _ = self.first.recv().await;
        self.settings.received()
    }
}

/// Wraps `inner`, returning the stream, the settings it keeps current and the wait for the
/// first of them.
pub(crate) fn watch<T>(inner: T) -> (Watched<T>, Arc<ServerSettings>, SettingsArrival) {
    let settings = Arc::new(ServerSettings {
        max_streams: AtomicUsize::new(usize::MAX),
        received: AtomicBool::new(false),
    });
    let (tx, rx) = async_channel::bounded(1);
    let watched = Watched {
        inner,
        scanner: FrameScanner::default(),
        settings: settings.clone(),
        first: Some(tx),
    };
    let arrival = SettingsArrival {
        settings: settings.clone(),
        first: rx,
    };
    (watched, settings, arrival)
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let seen = this.scanner.feed(&buf[..n]);
        if let Some(max) = seen.max_concurrent_streams {
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            this.settings.max_streams.store(max, Ordering::Release);
        }
        if seen.settings && this.first.is_some() {
            this.settings.received.store(true, Ordering::Release);
            this.first = None;
        }
        Poll::Ready(Ok(n))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
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

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn settings(entries: &[(u16, u32)]) -> Vec<u8> {
        let payload: Vec<u8> = entries
            .iter()
            .flat_map(|(id, value)| id.to_be_bytes().into_iter().chain(value.to_be_bytes()))
            .collect();
        frame(SETTINGS, 0, 0, &payload)
    }

    /// A server's bytes: SETTINGS (window size, then max streams 250), a WINDOW_UPDATE, its
    /// ACK of ours, HEADERS and DATA with bytes that look like frames, another SETTINGS (max
    /// streams 7) and an empty SETTINGS.
    fn transcript() -> Vec<u8> {
        let mut bytes = settings(&[(0x4, 1 << 20), (MAX_CONCURRENT_STREAMS, 250)]);
        bytes.extend(frame(0x8, 0, 0, &[0, 0, 0x10, 0]));
        bytes.extend(frame(SETTINGS, ACK, 0, &[]));
        bytes.extend(frame(0x1, 0x4, 1, &[0x88]));
        // A DATA payload that holds a fake SETTINGS frame: skipped, not decoded.
        bytes.extend(frame(0x0, 0, 1, &settings(&[(MAX_CONCURRENT_STREAMS, 1)])));
        bytes.extend(settings(&[(MAX_CONCURRENT_STREAMS, 7)]));
        bytes.extend(settings(&[]));
        bytes
    }

    #[test]
    fn reads_max_concurrent_streams_under_any_chunking() {
        let bytes = transcript();
        let whole = FrameScanner::default().feed(&bytes);
        assert_eq!(
            whole,
            Seen {
                settings: true,
                max_concurrent_streams: Some(7),
            }
        );
        // Every split point, and byte by byte: the same values in the same order.
        for split in 0..=bytes.len() {
            let mut scanner = FrameScanner::default();
            let first = scanner.feed(&bytes[..split]);
            let second = scanner.feed(&bytes[split..]);
            let last = second
                .max_concurrent_streams
                .or(first.max_concurrent_streams);
            assert_eq!(last, Some(7), "split at {split}");
            assert!(first.settings || second.settings);
        }
        let mut scanner = FrameScanner::default();
        let values: Vec<u32> = bytes
            .iter()
            .filter_map(|b| scanner.feed(std::slice::from_ref(b)).max_concurrent_streams)
            .collect();
        assert_eq!(values, [250, 7]);
    }

    #[test]
    fn the_first_settings_frame_is_reported_when_it_ends() {
        let bytes = settings(&[(MAX_CONCURRENT_STREAMS, 100)]);
        let mut scanner = FrameScanner::default();
        let start = scanner.feed(&bytes[..bytes.len() - 1]);
        assert_eq!(start, Seen::default());
        let end = scanner.feed(&bytes[bytes.len() - 1..]);
        assert!(end.settings);
        assert_eq!(end.max_concurrent_streams, Some(100));
        // An acknowledgement is not the server's settings.
        assert!(
            !FrameScanner::default()
                .feed(&frame(SETTINGS, ACK, 0, &[]))
                .settings
        );
    }

    /// A reader of fixed bytes.
    struct Reader(Vec<u8>);

    impl AsyncRead for Reader {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            let n = buf.len().min(this.0.len());
            buf[..n].copy_from_slice(&this.0[..n]);
            this.0.drain(..n);
            Poll::Ready(Ok(n))
        }
    }

    #[test]
    fn the_stream_records_settings_and_wakes_the_wait() {
        let bytes = settings(&[(MAX_CONCURRENT_STREAMS, 3)]);
        let (mut watched, settings, arrival) = watch(Reader(bytes));
        assert_eq!(settings.max_streams(), usize::MAX);
        let mut buf = [0u8; 64];
        let n = futures_util::future::poll_fn(|cx| Pin::new(&mut watched).poll_read(cx, &mut buf));
        let n = ready_now(n).unwrap();
        assert_eq!(n, HEADER_LEN + ENTRY_LEN);
        assert_eq!(settings.max_streams(), 3);
        assert!(ready_now(arrival.wait()));

        // A connection that ends before any SETTINGS: the wait says so.
        let (watched, settings, arrival) = watch(Reader(Vec::new()));
        drop(watched);
        assert!(!ready_now(arrival.wait()));
        assert!(!settings.received());
    }

    /// Polls a future that is ready without waiting (a cursor read, a closed channel).
    fn ready_now<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("the future was expected to be ready"),
        }
    }
}
