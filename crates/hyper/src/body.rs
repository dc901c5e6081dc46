//! The response body stream: hyper's `Incoming` frames as `Result<Bytes>` chunks, owning the
//! connection's [`Lease`] until the body ends, and the request's in-flight count until it is
//! dropped.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use claude_kit_core::Error;
use futures_core::Stream;
use http_body::Body as _;
use hyper::body::Incoming;

use crate::pool::{InFlight, Lease};

/// Streams a response body. The lease is released as soon as the body ends: cleanly (the
/// connection returns to the pool) or with an error (it is closed). Dropping the stream
/// before the end drops the lease un-marked, which closes the connection.
pub(crate) struct ResponseBody {
    incoming: Incoming,
    lease: Option<Lease>,
    _in_flight: InFlight,
}

impl ResponseBody {
    pub(crate) fn new(incoming: Incoming, lease: Lease, in_flight: InFlight) -> Self {
        Self {
            incoming,
            lease: Some(lease),
            _in_flight: in_flight,
        }
    }

    fn finish_clean(&mut self) {
        if let Some(mut lease) = self.lease.take() {
            lease.set_reusable();
        }
    }
}

impl Stream for ResponseBody {
    type Item = claude_kit_core::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.lease.is_none() {
            // Ended (cleanly or with an error): hyper must not be polled again.
            return Poll::Ready(None);
        }
        loop {
            match ready!(Pin::new(&mut this.incoming).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        // Trailers: nothing the SDK uses.
                        continue;
                    };
                    if this.incoming.is_end_stream() {
                        // The last chunk of a Content-Length body: the connection is clean
                        // even if the caller never polls for the end.
                        this.finish_clean();
                    }
                    if data.is_empty() {
                        if this.lease.is_none() {
                            return Poll::Ready(None);
                        }
                        continue;
                    }
                    return Poll::Ready(Some(Ok(data)));
                }
                Some(Err(error)) => {
                    // Dropping the lease un-marked closes the connection.
                    this.lease = None;
                    return Poll::Ready(Some(Err(Error::transport(error))));
                }
                None => {
                    this.finish_clean();
                    return Poll::Ready(None);
                }
            }
        }
    }
}
