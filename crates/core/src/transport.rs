//! The [`Transport`] trait: one HTTP exchange, with a streaming response body.
//!
//! The client builds an [`http::Request`] with a complete body (Messages API requests are JSON
//! documents), hands it to the transport, and reads the response [`Body`] chunk by chunk, so a
//! server-sent-event stream is decoded as it arrives. Retries, timeouts and decoding live in
//! the client, above this trait, so every transport gets them for free.
//!
//! ```
//! use bytes::Bytes;
//! use claude_kit_core::transport::{Body, BoxFuture, Transport};
//!
//! /// Answers every request with the same JSON document.
//! #[derive(Debug)]
//! struct Canned(&'static str);
//!
//! impl Transport for Canned {
//!     fn send(&self, _request: http::Request<Bytes>)
//!         -> BoxFuture<'static, claude_kit_core::Result<http::Response<Body>>>
//!     {
//!         let body = Body::from(Bytes::from_static(self.0.as_bytes()));
//!         Box::pin(async move { Ok(http::Response::new(body)) })
//!     }
//! }
//!
//! let response = futures::executor::block_on(
//!     Canned("{}").send(http::Request::new(Bytes::new())),
//! ).unwrap();
//! let bytes = futures::executor::block_on(response.into_body().collect(1024)).unwrap();
//! assert_eq!(&bytes[..], b"{}");
//! ```

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;

use crate::Error;

/// A boxed, `Send` future, as the dyn-compatible [`Transport`] returns it.
///
/// The futures are `'static` (they own what they need) because callers spawn and store them,
/// which a future borrowing `&self` could not be.
pub type BoxFuture<'a, T> = Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Sends one HTTP request and returns the response with a streaming body.
///
/// Implementations must be cancellation safe: dropping the returned future, or the response
/// body at any point, must release whatever the exchange held (a pooled connection is either
/// returned clean or closed, never left half-read for the next request).
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// Performs the exchange. Errors before a response arrives are [`Error::Connect`],
    /// [`Error::Timeout`] or [`Error::Transport`]; an HTTP error status is *not* an error
    /// here, the client turns it into [`Error::Api`].
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, crate::Result<http::Response<Body>>>;

    /// Closes idle connections and waits (boundedly) for in-flight ones to finish.
    /// The default does nothing.
    fn close(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }

    /// A snapshot of the connection pool, for transports that keep one. The default is
    /// `None`.
    fn pool_stats(&self) -> Option<PoolStats> {
        None
    }
}

/// A per-request connect timeout, set in the request's extensions by the client; transports
/// that open connections honour it instead of their default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectTimeout(pub std::time::Duration);

/// A snapshot of a transport's connection pool.
///
/// Transports fill it from `PoolStats::default()`; fields may be added in later versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections opened since the transport was built.
    pub connections_opened: u64,
    /// Keep-alive connections waiting in the pool for a request.
    pub idle: usize,
    /// Connections carrying a request or a response body now.
    pub in_use: usize,
    /// Connections being opened now (TCP connect, proxy `CONNECT`, TLS and HTTP handshakes).
    pub connecting: usize,
    /// Requests waiting for a connection slot (a per-host connection limit is reached).
    pub waiting: usize,
    /// Requests in progress at any stage, response bodies included until they are dropped.
    pub in_flight: usize,
}

/// A response body: a stream of byte chunks, ending early with an error if the connection
/// breaks.
pub struct Body {
    inner: BodyInner,
}

enum BodyInner {
    Empty,
    Full(Option<Bytes>),
    Stream(Pin<Box<dyn Stream<Item = crate::Result<Bytes>> + Send>>),
}

impl Body {
    /// A body with no bytes.
    pub fn empty() -> Self {
        Self {
            inner: BodyInner::Empty,
        }
    }

    /// A body read from a stream of chunks.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = crate::Result<Bytes>> + Send + 'static,
    {
        Self {
            inner: BodyInner::Stream(Box::pin(stream)),
        }
    }

    /// Reads the whole body, failing with [`Error::Decode`] once it exceeds `limit` bytes, so
    /// a hostile or broken server cannot make the client buffer without bound.
    pub async fn collect(mut self, limit: usize) -> crate::Result<Bytes> {
        if let BodyInner::Full(bytes) = &mut self.inner {
            let bytes = bytes.take().unwrap_or_default();
            return check_limit(bytes.len(), limit).map(|()| bytes);
        }
        let mut first: Option<Bytes> = None;
        let mut rest = BytesMut::new();
        while let Some(chunk) = self.next().await {
            let chunk = chunk?;
            let total = first.as_ref().map_or(0, Bytes::len) + rest.len() + chunk.len();
            check_limit(total, limit)?;
            match &first {
                None => first = Some(chunk),
                Some(_) => rest.extend_from_slice(&chunk),
            }
        }
        Ok(match first {
            None => Bytes::new(),
            Some(first) if rest.is_empty() => first,
            Some(first) => {
                let mut all = BytesMut::with_capacity(first.len() + rest.len());
                all.extend_from_slice(&first);
                all.extend_from_slice(&rest);
                all.freeze()
            }
        })
    }
}

fn check_limit(len: usize, limit: usize) -> crate::Result<()> {
    if len > limit {
        return Err(Error::decode_as(
            crate::error::DecodeCategory::TooLarge,
            format!("response body exceeds the limit of {limit} bytes"),
        ));
    }
    Ok(())
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self {
            inner: BodyInner::Full(Some(bytes)),
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Bytes::from(text).into()
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Bytes::from_static(text.as_bytes()).into()
    }
}

impl Stream for Body {
    type Item = crate::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.inner {
            BodyInner::Empty => Poll::Ready(None),
            BodyInner::Full(bytes) => Poll::Ready(bytes.take().filter(|b| !b.is_empty()).map(Ok)),
            BodyInner::Stream(stream) => stream.poll_next_unpin(cx),
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            BodyInner::Empty => "empty",
            BodyInner::Full(_) => "full",
            BodyInner::Stream(_) => "stream",
        };
        f.debug_tuple("Body").field(&kind).finish()
    }
}
