//! The whole stream protocol of a streaming Messages API reply, as one pure machine: bytes in,
//! events, the message so far and the final message out.
//!
//! [`MessageStreamDecoder`] chains the [`SseDecoder`], the event rules of the official SDKs and
//! the [`MessageAccumulator`], and knows when the reply's first content arrived (the point up
//! to which a failed stream can be retried without repeating text). The async driver of the
//! client only feeds it body chunks; the fuzz targets and the parity tests drive exactly this
//! type, so what they check is what ships.
//!
//! # Rules
//! - An SSE event without an `event:` name is skipped; so is one with empty data.
//! - An `error` event ends the stream with [`Error::Api`] (whatever its data: JSON with an
//!   `error.type` gives the kind, anything else is kept as the message).
//! - Otherwise the data is one JSON [`StreamEvent`] (unknown types are
//!   [`StreamEvent::Unknown`]), applied to the message; invalid JSON, events out of order, a
//!   block index that is neither the next block nor one already started are [`Error::Decode`].
//! - After `message_stop` the message is final: whatever follows is discarded, never decoded.
//! - A malformed event stream (an event over the size limit) is [`Error::Decode`], after every
//!   event decoded before it.
//! - The first error ends the stream: afterwards [`next_event`](MessageStreamDecoder::next_event)
//!   returns `None`.
//!
//! ```
//! use claude_kit_core::stream::MessageStreamDecoder;
//! use claude_kit_core::types::StreamEvent;
//!
//! let body = concat!(
//!     "event: message_start\n",
//!     r#"data: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#,
//!     "\n\nevent: content_block_start\n",
//!     r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
//!     "\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\nevent: content_block_delta\n",
//!     r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
//!     "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
//! );
//! let mut decoder = MessageStreamDecoder::new();
//! let mut events = Vec::new();
//! for chunk in body.as_bytes().chunks(7) {
//!     decoder.push(chunk);
//!     while let Some(event) = decoder.next_event() {
//!         events.push(event?);
//!         if events.len() == 2 {
//!             assert!(!decoder.content_started(), "an empty block is not content yet");
//!         }
//!     }
//! }
//! decoder.finish();
//! assert!(decoder.next_event().is_none());
//! assert!(decoder.content_started() && decoder.is_complete());
//! assert!(matches!(events[2], StreamEvent::Ping));
//! assert_eq!(decoder.into_message()?.text(), "Hi");
//! # Ok::<(), claude_kit_core::Error>(())
//! ```

use crate::Error;
use crate::accumulate::MessageAccumulator;
use crate::error::DecodeCategory;
use crate::redact::Secrets;
use crate::sse::{SseDecoder, SseError, SseEvent};
use crate::types::{ContentBlock, Message, StreamEvent};

/// Decodes a streaming reply; see the [module docs](self).
#[derive(Debug)]
pub struct MessageStreamDecoder {
    sse: SseDecoder,
    accumulator: MessageAccumulator,
    /// Redacted from the errors built from the server's text.
    secrets: Secrets,
    /// An error of the event stream itself, reported after the events decoded before it.
    pending_error: Option<SseError>,
    /// An event with content was returned.
    content_started: bool,
    /// `message_stop` was returned: the rest is discarded.
    stopped: bool,
    /// An error was returned: nothing more comes out.
    failed: bool,
    /// The data size of the last event returned.
    last_event_len: usize,
}

impl Default for MessageStreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageStreamDecoder {
    /// A decoder with the [default event size limit](SseDecoder::DEFAULT_MAX_EVENT_SIZE).
    pub fn new() -> Self {
        Self::with_limits(SseDecoder::DEFAULT_MAX_EVENT_SIZE, Secrets::none())
    }

    /// A decoder whose events may be at most `max_event_size` bytes, and whose errors never
    /// show `secrets` (a server may echo the request's key into an `error` event).
    pub fn with_limits(max_event_size: usize, secrets: Secrets) -> Self {
        Self {
            sse: SseDecoder::with_max_event_size(max_event_size),
            accumulator: MessageAccumulator::new(),
            secrets,
            pending_error: None,
            content_started: false,
            stopped: false,
            failed: false,
            last_event_len: 0,
        }
    }

    /// Feeds the next chunk of the body. Nothing is decoded after `message_stop` or an error;
    /// an event over the size limit is reported by [`next_event`](Self::next_event) once the
    /// events before it are out.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.stopped || self.failed || self.pending_error.is_some() {
            return;
        }
        if let Err(error) = self.sse.push(chunk) {
            self.pending_error = Some(error);
        }
    }

    /// The body ended: a last event without its blank line is dispatched.
    pub fn finish(&mut self) {
        if self.stopped || self.failed || self.pending_error.is_some() {
            return;
        }
        if let Err(error) = self.sse.finish() {
            self.pending_error = Some(error);
        }
    }

    /// The next event, or `None` until more bytes arrive. After `message_stop` or an error,
    /// always `None`.
    pub fn next_event(&mut self) -> Option<Result<StreamEvent, Error>> {
        if self.stopped || self.failed {
            return None;
        }
        while let Some(sse) = self.sse.next_event() {
            if let Some(item) = self.decode(sse) {
                return Some(self.returned(item));
            }
        }
        let error = self.pending_error.take()?;
        Some(self.returned(Err(malformed(error))))
    }

    /// Whether an event that shows part of the reply (a delta, a block with text in it, the
    /// end of the message) has been returned: until then, nothing of the reply was seen and a
    /// failed request can be retried as if it never happened.
    pub fn content_started(&self) -> bool {
        self.content_started
    }

    /// Whether `message_stop` was returned.
    pub fn is_complete(&self) -> bool {
        self.stopped
    }

    /// Whether the stream ended with an error.
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    /// The size in bytes of the data of the last event returned.
    pub fn last_event_len(&self) -> usize {
        self.last_event_len
    }

    /// The message from the events returned so far, tool inputs parsed as far as their JSON
    /// has arrived; `None` before `message_start`.
    pub fn snapshot(&mut self) -> Option<&Message> {
        self.accumulator.snapshot()
    }

    /// The message from the events returned so far (see [`MessageAccumulator::into_message`]).
    pub fn into_message(self) -> Result<Message, Error> {
        self.accumulator.into_message()
    }

    fn returned(&mut self, item: Result<StreamEvent, Error>) -> Result<StreamEvent, Error> {
        match &item {
            Ok(event) => {
                self.content_started |= carries_content(event);
                self.stopped = matches!(event, StreamEvent::MessageStop);
            }
            Err(_) => self.failed = true,
        }
        item.map_err(|error| error.redact(&self.secrets))
    }

    /// One server-sent event as the official SDKs take it (see the module's rules); `None`
    /// for an event that is skipped.
    fn decode(&mut self, sse: SseEvent) -> Option<Result<StreamEvent, Error>> {
        let name = sse.event.as_deref()?;
        if name == "error" {
            return Some(Err(Error::stream_event(sse.data.as_bytes(), &self.secrets)));
        }
        if sse.data.is_empty() {
            return None;
        }
        self.last_event_len = sse.data.len();
        let event = match StreamEvent::from_json(&sse.data) {
            Ok(event) => event,
            Err(e) => {
                return Some(Err(Error::decode_json(
                    format_args!("invalid {name} event"),
                    &e,
                )));
            }
        };
        if let Err(error) = self.accumulator.apply(&event) {
            return Some(Err(error));
        }
        Some(Ok(event))
    }
}

/// Whether handing `event` to the caller shows them part of the reply.
fn carries_content(event: &StreamEvent) -> bool {
    match event {
        StreamEvent::MessageStart { .. } | StreamEvent::Ping | StreamEvent::Unknown(_) => false,
        StreamEvent::ContentBlockStart { content_block, .. } => match &**content_block {
            ContentBlock::Text(block) => !block.text.is_empty(),
            ContentBlock::Thinking(block) => !block.thinking.is_empty(),
            _ => true,
        },
        _ => true,
    }
}

fn malformed(error: SseError) -> Error {
    let category = match error {
        SseError::EventTooLarge { .. } => DecodeCategory::TooLarge,
    };
    Error::decode_as(category, format!("malformed event stream: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#;

    fn sse(name: &str, data: &str) -> String {
        format!("event: {name}\ndata: {data}\n\n")
    }

    fn drain(decoder: &mut MessageStreamDecoder) -> Vec<Result<StreamEvent, Error>> {
        std::iter::from_fn(|| decoder.next_event()).collect()
    }

    #[test]
    fn nameless_and_empty_events_are_skipped_and_an_error_event_ends_the_stream() {
        let body = format!(
            "data: {START}\n\n{}event: ping\ndata:\n\n{}{}",
            sse("message_start", START),
            sse(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#
            ),
            sse("message_stop", r#"{"type":"message_stop"}"#),
        );
        let mut decoder = MessageStreamDecoder::new();
        decoder.push(body.as_bytes());
        let items = drain(&mut decoder);
        assert!(matches!(items[0], Ok(StreamEvent::MessageStart { .. })));
        assert!(
            matches!(&items[1], Err(Error::Api { kind, message, .. }) if kind.as_str() == "overloaded_error" && message == "busy"),
            "{items:?}"
        );
        assert_eq!(items.len(), 2, "nothing after the error");
        assert!(decoder.has_failed() && !decoder.content_started());
    }

    #[test]
    fn what_follows_message_stop_is_never_decoded() {
        let body = format!(
            "{}{}{}",
            sse("message_start", START),
            sse("message_stop", r#"{"type":"message_stop"}"#),
            sse("message_start", START),
        );
        let mut decoder = MessageStreamDecoder::with_limits(1024, Secrets::none());
        decoder.push(body.as_bytes());
        decoder.push(&[b'x'; 4096]); // would be over the limit, if it were decoded
        decoder.finish();
        let items = drain(&mut decoder);
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(items.iter().all(Result::is_ok));
        assert!(decoder.is_complete() && decoder.content_started());
    }

    #[test]
    fn an_oversized_event_comes_after_the_events_before_it() {
        let body = format!(
            "{}event: content_block_delta\ndata: {}",
            sse("message_start", START),
            "x".repeat(2048)
        );
        let mut decoder = MessageStreamDecoder::with_limits(1024, Secrets::none());
        decoder.push(body.as_bytes());
        let items = drain(&mut decoder);
        assert!(matches!(items[0], Ok(StreamEvent::MessageStart { .. })));
        assert!(
            matches!(&items[1], Err(Error::Decode { message, .. }) if message.contains("1024"))
        );
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn errors_never_show_the_secrets() {
        let key = "sk-ant-echoed";
        let body = format!(
            "{}{}",
            sse("message_start", START),
            sse("error", &format!("key {key} rejected")),
        );
        let mut decoder = MessageStreamDecoder::with_limits(1 << 20, Secrets::new([key]));
        decoder.push(body.as_bytes());
        let error = drain(&mut decoder).pop().unwrap().unwrap_err();
        assert!(!format!("{error} {error:?}").contains(key), "{error}");
    }
}
