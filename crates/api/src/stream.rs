//! Streaming replies: [`MessageStream`] and [`TextStream`].
//!
//! A stream is the response body decoded as it arrives by the core's pure
//! [`MessageStreamDecoder`] (bytes → server-sent events → [`StreamEvent`]s → the message so
//! far, and the first-content rule); this module only feeds it bytes and bounds the waits.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::StreamExt;
use http::{HeaderMap, StatusCode};

use claude_kit_core::redact::Secrets;
use claude_kit_core::stream::MessageStreamDecoder;
use claude_kit_core::types::{ContentDelta, Message, StreamEvent};
use claude_kit_core::{Error, Result};

use crate::engine::ResponseBody;
use crate::meta::ResponseMeta;

/// A streaming reply: a [`Stream`] of [`StreamEvent`]s, with the message accumulated so far.
///
/// ```
/// use futures_util::StreamExt;
/// use claude_kit_api::Client;
/// use claude_kit_core::types::{ContentDelta, MessageRequest, StreamEvent};
///
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit_smol::block_on(async {
/// # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
/// let request = MessageRequest::new("claude-sonnet-4-5", 1024).user("Tell me a story");
/// let mut stream = client.messages().stream(request).await?;
/// while let Some(event) = stream.next().await {
///     if let StreamEvent::ContentBlockDelta { delta: ContentDelta::Text(text), .. } = event? {
///         print!("{text}");
///     }
/// }
/// let message = stream.final_message().await?; // the stream is finished: no more I/O
/// println!("\n{:?}", message.usage);
/// # Ok::<_, claude_kit_core::Error>(()) }).unwrap();
/// ```
///
/// The stream ends after `message_stop` (or when the body ends). An `error` event from the
/// API, a broken connection, a malformed event or a stall longer than the idle timeout ends
/// it with one `Err` item, after every event that arrived before.
///
/// # Cancellation
/// Dropping the stream at any point closes its connection (a half-read connection is never
/// reused); nothing is left running.
#[must_use = "a stream does nothing unless polled"]
pub struct MessageStream {
    body: ResponseBody,
    /// The stream protocol: SSE, the event rules, the message so far, the first content.
    decoder: MessageStreamDecoder,
    meta: ResponseMeta,
    /// Events read ahead before the stream was handed out (see `prefetch`).
    prefetched: VecDeque<StreamEvent>,
    /// A transport error of the body, reported once the events decoded before it are out.
    pending_error: Option<Box<Error>>,
    /// The body has ended (cleanly or not); only decoded events remain.
    body_done: bool,
    /// Bytes of event data in `prefetched`.
    prefetched_bytes: usize,
    finished: bool,
    /// Redacted from every error the stream reports.
    secrets: Secrets,
    /// Counts for the `stream finished` trace event.
    stats: crate::trace::StreamStats,
}

/// The most events held back while waiting for the first content (see `prefetch`); pings are
/// not held at all. Past either bound the stream is handed out as it is: a server that sends
/// only metadata cannot make the client buffer without end, and the worst case is that a
/// failure after that point is not retried.
const MAX_PREFETCHED_EVENTS: usize = 64;
/// The most bytes of event data held back while waiting for the first content.
const MAX_PREFETCHED_BYTES: usize = 1 << 20;

impl MessageStream {
    pub(crate) fn new(
        meta: ResponseMeta,
        body: ResponseBody,
        max_event_size: usize,
        secrets: Secrets,
    ) -> Self {
        Self {
            body,
            decoder: MessageStreamDecoder::with_limits(max_event_size, secrets.clone()),
            meta,
            prefetched: VecDeque::new(),
            pending_error: None,
            body_done: false,
            prefetched_bytes: 0,
            finished: false,
            secrets,
            stats: crate::trace::StreamStats::start(),
        }
    }

    /// The `request-id` header: quote it when you contact support.
    pub fn request_id(&self) -> Option<&str> {
        self.meta.request_id()
    }

    /// The HTTP status of the response (200).
    pub fn status(&self) -> StatusCode {
        self.meta.status()
    }

    /// The response headers (rate-limit headers included).
    pub fn headers(&self) -> &HeaderMap {
        self.meta.headers()
    }

    /// The status and headers together (request id, rate limits).
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// The message accumulated from the events yielded so far, tool inputs included as far
    /// as their JSON has arrived; `None` before `message_start`.
    pub fn snapshot(&mut self) -> Option<&Message> {
        self.decoder.snapshot()
    }

    /// Reads the rest of the stream and returns the complete message.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn holds its arguments twice"
    )]
    pub fn final_message(mut self) -> impl Future<Output = Result<Message>> {
        // Not an `async fn`: that would hold the stream twice (its argument, and the local it
        // is moved into), 2.4 KiB instead of 1.2; the block uses the stream it captured.
        async move {
            while let Some(event) = self.next().await {
                event?;
            }
            std::mem::take(&mut self.decoder)
                .into_message()
                .map_err(|e| e.with_request_id(self.request_id()).redact(&self.secrets))
        }
    }

    /// Reads the rest of the stream and returns the text of the message's text blocks.
    pub fn final_text(self) -> impl Future<Output = Result<String>> {
        // Not an `async fn`: that would hold the stream twice (its argument, and inside the
        // `final_message` future it awaits).
        futures_util::FutureExt::map(self.final_message(), |message| Ok(message?.text()))
    }

    /// Every `text_delta`, as it arrives: what you print to a terminal. (Like the official
    /// SDKs, this includes text deltas aimed at a block that is not a text block.)
    #[must_use = "a stream does nothing unless polled"]
    pub fn text_stream(self) -> TextStream {
        TextStream::new(self)
    }

    /// Reads ahead up to the first event that carries content (a delta, a block with
    /// something in it, or the end of the message), so that a failure before any content can
    /// still be retried: nothing was handed out yet.
    ///
    /// Bounded: pings are not kept (they carry nothing), and once the events held back reach
    /// [`MAX_PREFETCHED_EVENTS`] or [`MAX_PREFETCHED_BYTES`] the stream is handed out as is.
    pub(crate) async fn prefetch(&mut self) -> Result<()> {
        loop {
            match std::future::poll_fn(|cx| self.poll_event(cx)).await {
                None => return Ok(()),
                Some(Err(error)) => return Err(error),
                Some(Ok(StreamEvent::Ping)) => {}
                Some(Ok(event)) => {
                    if self.prefetched.capacity() == 0 {
                        // Usually `message_start`, `content_block_start` and the first delta:
                        // room for three, not the four a first growth makes.
                        self.prefetched.reserve_exact(3);
                    }
                    self.prefetched.push_back(event);
                    self.prefetched_bytes += self.decoder.last_event_len();
                    if self.decoder.content_started()
                        || self.prefetched.len() >= MAX_PREFETCHED_EVENTS
                        || self.prefetched_bytes >= MAX_PREFETCHED_BYTES
                    {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn finish_with(&mut self, item: Result<StreamEvent>) -> Poll<Option<Result<StreamEvent>>> {
        if let Err(error) = item {
            self.finished = true;
            let error = error
                .with_request_id(self.request_id())
                .redact(&self.secrets);
            let request_id = self.meta.request_id();
            self.stats.end(None, request_id);
            return Poll::Ready(Some(Err(error)));
        }
        self.stats.event();
        Poll::Ready(Some(item))
    }
}

impl Stream for MessageStream {
    type Item = Result<StreamEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(event) = this.prefetched.pop_front() {
            if this.prefetched.is_empty() {
                // Its room (a few events) is not needed again: a stream may stay open for
                // minutes.
                this.prefetched = VecDeque::new();
            }
            return Poll::Ready(Some(Ok(event)));
        }
        this.poll_event(cx)
    }
}

impl MessageStream {
    /// The next event from the body, past the prefetched ones: the decoder decides, this
    /// only feeds it.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<StreamEvent>>> {
        loop {
            if self.finished {
                return Poll::Ready(None);
            }
            if let Some(item) = self.decoder.next_event() {
                return self.finish_with(item);
            }
            if self.decoder.is_complete() {
                return self.poll_drain(cx);
            }
            if let Some(error) = self.pending_error.take() {
                return self.finish_with(Err(*error));
            }
            if self.body_done {
                self.finished = true;
                let request_id = self.meta.request_id();
                self.stats.end(None, request_id);
                return Poll::Ready(None);
            }
            match self.body.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    self.stats.chunk(chunk.len());
                    self.decoder.push(&chunk);
                }
                Poll::Ready(Some(Err(error))) => {
                    self.body_done = true;
                    self.pending_error = Some(Box::new(error));
                }
                Poll::Ready(None) => {
                    self.body_done = true;
                    self.decoder.finish();
                }
            }
        }
    }

    /// After `message_stop` the message is final: what follows is read only so the connection
    /// can be reused, and discarded, never decoded or applied. The body's end normally follows
    /// at once; a server that keeps the body open or keeps sending is cut off by the body's
    /// drain bounds, and its connection closed.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<StreamEvent>>> {
        if !self.body_done {
            std::task::ready!(self.body.poll_drain(cx));
        }
        self.end()
    }

    /// Ends the stream and lets go of the body at once: a body read to its end has already
    /// released its connection; one cut off is closed now, not when the stream is dropped.
    fn end(&mut self) -> Poll<Option<Result<StreamEvent>>> {
        self.finished = true;
        self.body_done = true;
        self.body.close();
        #[cfg(feature = "tracing")]
        {
            let request_id = self.meta.request_id();
            self.stats.end(self.decoder.snapshot(), request_id);
        }
        Poll::Ready(None)
    }
}

impl std::fmt::Debug for MessageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStream")
            .field("status", &self.meta.status())
            .field("request_id", &self.request_id())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// The text deltas of a stream of [`StreamEvent`]s: of a [`MessageStream`] (see
/// [`MessageStream::text_stream`]) by default, or of any other such stream
/// ([`TextStream::new`]).
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct TextStream<S = MessageStream> {
    events: S,
}

impl<S> TextStream<S> {
    /// The text deltas of `events`. (Like the official SDKs, this includes text deltas aimed
    /// at a block that is not a text block.)
    pub fn new(events: S) -> Self {
        Self { events }
    }

    /// The underlying event stream.
    pub fn into_inner(self) -> S {
        self.events
    }
}

impl TextStream<MessageStream> {
    /// Reads the rest of the stream and returns the complete message.
    pub fn final_message(self) -> impl Future<Output = Result<Message>> {
        self.events.final_message()
    }
}

impl<S> Stream for TextStream<S>
where
    S: Stream<Item = Result<StreamEvent>> + Unpin,
{
    type Item = Result<String>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match std::task::ready!(self.events.poll_next_unpin(cx)) {
                None => return Poll::Ready(None),
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                Some(Ok(StreamEvent::ContentBlockDelta {
                    delta: ContentDelta::Text(text),
                    ..
                })) => {
                    return Poll::Ready(Some(Ok(text)));
                }
                Some(Ok(_)) => {}
            }
        }
    }
}
