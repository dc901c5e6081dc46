//! Builds the final [`Message`] from the events of a stream.
//!
//! [`MessageAccumulator`] is a pure state machine: feed it [`StreamEvent`]s in order with
//! [`apply`](MessageAccumulator::apply) and read the message so far with
//! [`snapshot`](MessageAccumulator::snapshot) or, at the end,
//! [`into_message`](MessageAccumulator::into_message). It follows the official SDKs, so the
//! same bytes give the same message in every language:
//!
//! - `message_start` sets the message; `content_block_start` adds a block;
//! - `text_delta`, `thinking_delta`, `signature_delta` and `citations_delta` extend the block
//!   they target when it is of the matching type, and are ignored otherwise;
//! - `input_json_delta` pieces are concatenated per tool block and parsed as partial JSON
//!   ([`crate::partial_json`]): a tool input cut off by `max_tokens` keeps what is complete;
//! - `message_delta` sets `stop_reason`, `stop_sequence`, `stop_details` and (when present)
//!   `container`, and overwrites usage with the cumulative counts it carries (`output_tokens`
//!   always; input, cache, server-tool and `output_tokens_details` counts when present);
//! - an `error` event becomes [`Error::Api`] with the event's `error.type`;
//! - unknown events and deltas leave the message unchanged (callers still see them as
//!   events).
//!
//! Tool inputs are parsed lazily: a snapshot re-parses only the tool blocks that changed
//! since the last one, so a stream whose snapshots are never looked at costs one parse per
//! tool block, not one per delta.
//!
//! ```
//! use claude_kit_core::accumulate::MessageAccumulator;
//! use claude_kit_core::types::StreamEvent;
//!
//! let events = [
//!     r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}"#,
//!     r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
//!     r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
//!     r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world"}}"#,
//!     r#"{"type":"content_block_stop","index":0}"#,
//!     r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}"#,
//!     r#"{"type":"message_stop"}"#,
//! ];
//! let mut accumulator = MessageAccumulator::new();
//! for data in events {
//!     accumulator.apply(&StreamEvent::from_json(data).unwrap()).unwrap();
//! }
//! let message = accumulator.into_message().unwrap();
//! assert_eq!(message.text(), "Hello world");
//! assert_eq!(message.usage.output_tokens, 3);
//! ```

use crate::error::DecodeCategory;
use crate::partial_json::{PartialJson, parse_partial};
use crate::redact::excerpt;
use crate::types::{
    ContentBlock, ContentDelta, Message, MessageDelta, MessageDeltaUsage, StreamEvent,
};
use crate::{ApiErrorKind, Error};
use http::StatusCode;

/// Bytes of a broken tool input quoted on each side of the error, in an error message.
const TOOL_JSON_EXCERPT: usize = 64;

/// Accumulates stream events into a [`Message`].
#[derive(Debug, Clone, Default)]
pub struct MessageAccumulator {
    message: Option<Message>,
    /// Per content position: the tool input JSON received so far, for tool blocks.
    tool_json: Vec<Option<ToolJson>>,
    /// Event `index` → position in `message.content` (they agree for well-formed streams).
    positions: Vec<Option<usize>>,
    stopped: bool,
}

#[derive(Debug, Clone, Default)]
struct ToolJson {
    buffer: String,
    /// The buffer changed since `input` was last parsed from it.
    dirty: bool,
}

impl MessageAccumulator {
    /// An accumulator waiting for `message_start`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event.
    ///
    /// Errors: an `error` event ([`Error::Api`] with [`ErrorOrigin::Stream`](crate::ErrorOrigin)
    /// and the event's type), events
    /// out of order or for a block that was never started, and invalid tool JSON at the end
    /// of its block ([`Error::Decode`]). The snapshot keeps everything applied before.
    pub fn apply(&mut self, event: &StreamEvent) -> Result<(), Error> {
        if self.stopped {
            // After `message_stop` the message is final: whatever a server sends after it
            // (a second `message_start`, a stray delta, an error) changes nothing.
            return Ok(());
        }
        match event {
            StreamEvent::MessageStart { message } => {
                if self.message.is_some() {
                    return Err(Error::decode_as(
                        DecodeCategory::Protocol,
                        "a second message_start in one stream",
                    ));
                }
                self.message = Some(Message::clone(message));
                self.tool_json = vec![None; message.content.len()];
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                // The index comes from the server: only the next block or one already
                // started is valid, so a huge index can never make the tables grow.
                if *index > self.positions.len() {
                    return Err(Error::decode_as(
                        DecodeCategory::Protocol,
                        format!(
                            "content_block_start for content block {index}, but the next block is {}",
                            self.positions.len()
                        ),
                    ));
                }
                let message = self.started("content_block_start")?;
                let position = message.content.len();
                if message.content.capacity() == 0 {
                    // Most replies have one block: a `Vec`'s first growth would make room
                    // for four (1.5 KiB), held for as long as the stream is open.
                    message.content.reserve_exact(1);
                }
                message.content.push(ContentBlock::clone(content_block));
                let tracks_input = matches!(
                    **content_block,
                    ContentBlock::ToolUse(_) | ContentBlock::ServerToolUse(_)
                );
                self.tool_json.push(tracks_input.then(ToolJson::default));
                match self.positions.get_mut(*index) {
                    Some(slot) => *slot = Some(position),
                    None => self.positions.push(Some(position)),
                }
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                let position = self.position(*index, "content_block_delta")?;
                let block = &mut self.started("content_block_delta")?.content[position];
                match (delta, block) {
                    (ContentDelta::Text(text), ContentBlock::Text(block)) => {
                        block.text.push_str(text)
                    }
                    (ContentDelta::Citation(citation), ContentBlock::Text(block)) => {
                        block
                            .citations
                            .get_or_insert_with(Vec::new)
                            .push(citation.clone());
                    }
                    (ContentDelta::Thinking(thinking), ContentBlock::Thinking(block)) => {
                        block.thinking.push_str(thinking)
                    }
                    (ContentDelta::Signature(signature), ContentBlock::Thinking(block)) => {
                        block.signature.clone_from(signature);
                    }
                    (
                        ContentDelta::InputJson(piece),
                        ContentBlock::ToolUse(_) | ContentBlock::ServerToolUse(_),
                    ) => {
                        if let Some(json) =
                            self.tool_json.get_mut(position).and_then(Option::as_mut)
                        {
                            json.buffer.push_str(piece);
                            json.dirty = true;
                        }
                    }
                    // A delta for another kind of block, or of a kind this version does not
                    // know: the official SDKs ignore it, and so does the message.
                    _ => {}
                }
            }
            StreamEvent::ContentBlockStop { index } => {
                let position = self.position(*index, "content_block_stop")?;
                self.refresh_tool_input(position, true)?;
            }
            StreamEvent::MessageDelta { delta, usage } => {
                let message = self.started("message_delta")?;
                apply_message_delta(message, delta, usage.as_deref());
            }
            StreamEvent::MessageStop => {
                self.started("message_stop")?;
                self.stopped = true;
            }
            StreamEvent::Error { error } => {
                return Err(Error::Api {
                    origin: crate::ErrorOrigin::Stream,
                    status: StatusCode::OK,
                    kind: ApiErrorKind::from_type(&error.kind),
                    message: error.message.clone(),
                    request_id: None,
                    rate_limit: None,
                });
            }
            StreamEvent::Ping | StreamEvent::Unknown(_) => {}
        }
        Ok(())
    }

    /// The message so far, with tool inputs parsed from the JSON received so far; `None`
    /// before `message_start`.
    pub fn snapshot(&mut self) -> Option<&Message> {
        for position in 0..self.tool_json.len() {
            // Mid-stream, unparsable JSON leaves the last good input; the error is reported
            // when the block stops.
            let _ = self.refresh_tool_input(position, false);
        }
        self.message.as_ref()
    }

    /// The message as it stands, without refreshing tool inputs (see [`Self::snapshot`]).
    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    /// Whether `message_stop` was seen.
    pub fn is_complete(&self) -> bool {
        self.stopped
    }

    /// The final message: what the stream built, with every tool input parsed. Fails only if
    /// no `message_start` arrived, or a tool's JSON is invalid.
    pub fn into_message(mut self) -> Result<Message, Error> {
        for position in 0..self.tool_json.len() {
            self.refresh_tool_input(position, true)?;
        }
        self.message.ok_or_else(|| {
            Error::decode_as(
                DecodeCategory::Protocol,
                "the stream ended before message_start",
            )
        })
    }

    fn started(&mut self, event: &str) -> Result<&mut Message, Error> {
        self.message.as_mut().ok_or_else(|| {
            Error::decode_as(
                DecodeCategory::Protocol,
                format!("{event} before message_start"),
            )
        })
    }

    fn position(&self, index: usize, event: &str) -> Result<usize, Error> {
        self.positions.get(index).copied().flatten().ok_or_else(|| {
            Error::decode_as(
                DecodeCategory::Protocol,
                format!("{event} for content block {index}, which was never started"),
            )
        })
    }

    /// Re-parses the tool input at `position` if its JSON changed. With `strict`, invalid
    /// JSON is an error; without, it leaves the input as it was.
    fn refresh_tool_input(&mut self, position: usize, strict: bool) -> Result<(), Error> {
        let Some(Some(json)) = self.tool_json.get_mut(position) else {
            return Ok(());
        };
        if !json.dirty {
            return Ok(());
        }
        let parsed = match parse_partial(&json.buffer) {
            Ok(PartialJson::Value(value)) => Some(value),
            // An empty buffer (or only an unfinished scalar) leaves the start's `input`.
            Ok(PartialJson::Nothing) => None,
            Err(error) if strict => {
                // Quote where it broke, not the whole buffer: a tool input can be megabytes.
                return Err(Error::decode_as(
                    DecodeCategory::Protocol,
                    format!(
                        "invalid tool input JSON ({error}): {}",
                        excerpt(&json.buffer, error.offset, TOOL_JSON_EXCERPT)
                    ),
                ));
            }
            Err(_) => return Ok(()),
        };
        json.dirty = false;
        if let (Some(value), Some(message)) = (parsed, self.message.as_mut())
            && let Some(ContentBlock::ToolUse(tool) | ContentBlock::ServerToolUse(tool)) =
                message.content.get_mut(position)
        {
            tool.input = value;
        }
        Ok(())
    }
}

fn apply_message_delta(
    message: &mut Message,
    delta: &MessageDelta,
    usage: Option<&MessageDeltaUsage>,
) {
    message.stop_reason.clone_from(&delta.stop_reason);
    message.stop_sequence.clone_from(&delta.stop_sequence);
    // As the official SDKs: `stop_details` follows the delta (absent means none), and
    // `container` is only ever set, never cleared.
    match delta.extra.get("stop_details") {
        Some(details) => {
            message
                .extra
                .insert("stop_details".to_owned(), details.clone());
        }
        None => {
            message.extra.shift_remove("stop_details");
        }
    }
    if let Some(container) = delta.extra.get("container").filter(|c| !c.is_null()) {
        message
            .extra
            .insert("container".to_owned(), container.clone());
    }

    // Usage in a message_delta is cumulative: counts overwrite, and counts the event leaves
    // out keep their message_start value.
    let Some(usage) = usage else {
        return;
    };
    let total = &mut message.usage;
    total.output_tokens = usage.output_tokens;
    if let Some(n) = usage.input_tokens {
        total.input_tokens = n;
    }
    if usage.cache_creation_input_tokens.is_some() {
        total.cache_creation_input_tokens = usage.cache_creation_input_tokens;
    }
    if usage.cache_read_input_tokens.is_some() {
        total.cache_read_input_tokens = usage.cache_read_input_tokens;
    }
    if usage.server_tool_use.is_some() {
        total.server_tool_use.clone_from(&usage.server_tool_use);
    }
    if let Some(details) = usage
        .extra
        .get("output_tokens_details")
        .filter(|d| !d.is_null())
    {
        total
            .extra
            .insert("output_tokens_details".to_owned(), details.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply_all(events: &[&str]) -> Result<MessageAccumulator, Error> {
        let mut accumulator = MessageAccumulator::new();
        for data in events {
            accumulator.apply(&StreamEvent::from_json(data).unwrap())?;
        }
        Ok(accumulator)
    }

    const START: &str = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"cache_read_input_tokens":2,"output_tokens":1}}}"#;

    #[test]
    fn tool_input_is_rebuilt_from_partial_json() {
        let mut accumulator = apply_all(&[
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t1","name":"get","input":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}"#,
        ])
        .unwrap();
        let snapshot = accumulator.snapshot().unwrap();
        assert_eq!(snapshot.tool_uses().next().unwrap().input, json!({}));
        accumulator
            .apply(&StreamEvent::from_json(r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"is\", \"days\": [1, 2"}}"#).unwrap())
            .unwrap();
        assert_eq!(
            accumulator
                .snapshot()
                .unwrap()
                .tool_uses()
                .next()
                .unwrap()
                .input,
            json!({"city": "Paris", "days": [1, 2]})
        );
        accumulator
            .apply(&StreamEvent::from_json(r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"]}"}}"#).unwrap())
            .unwrap();
        accumulator
            .apply(&StreamEvent::from_json(r#"{"type":"content_block_stop","index":0}"#).unwrap())
            .unwrap();
        let message = accumulator.into_message().unwrap();
        assert_eq!(
            message.tool_uses().next().unwrap().input,
            json!({"city": "Paris", "days": [1, 2]})
        );
    }

    #[test]
    fn invalid_tool_json_is_an_error_when_the_block_stops() {
        let mut accumulator = apply_all(&[
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t1","name":"get","input":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\": ]"}}"#,
        ])
        .unwrap();
        assert!(accumulator.snapshot().is_some(), "a snapshot never fails");
        let stop = StreamEvent::from_json(r#"{"type":"content_block_stop","index":0}"#).unwrap();
        assert!(matches!(
            accumulator.apply(&stop),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn message_delta_overwrites_usage_and_keeps_what_it_omits() {
        let mut accumulator = apply_all(&[
            START,
            r#"{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null,"stop_details":{"type":"refusal"},"container":{"id":"c"}},"usage":{"output_tokens":9,"output_tokens_details":{"thinking_tokens":4},"iterations":[1]}}"#,
        ])
        .unwrap();
        let message = accumulator.snapshot().unwrap().clone();
        assert_eq!(message.usage.input_tokens, 5);
        assert_eq!(message.usage.cache_read_input_tokens, Some(2));
        assert_eq!(message.usage.output_tokens, 9);
        assert_eq!(
            message.usage.extra["output_tokens_details"],
            json!({"thinking_tokens": 4})
        );
        assert!(
            !message.usage.extra.contains_key("iterations"),
            "unknown usage fields are not merged"
        );
        assert_eq!(message.extra["stop_details"], json!({"type": "refusal"}));
        assert_eq!(message.extra["container"], json!({"id": "c"}));
    }

    #[test]
    fn a_message_delta_without_usage_keeps_the_totals() {
        let mut accumulator = apply_all(&[
            START,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null}}"#,
        ])
        .unwrap();
        let message = accumulator.snapshot().unwrap();
        assert_eq!(message.stop_reason, Some(crate::types::StopReason::EndTurn));
        assert_eq!(
            (message.usage.input_tokens, message.usage.output_tokens),
            (5, 1)
        );
    }

    #[test]
    fn deltas_for_other_block_types_are_ignored() {
        let accumulator = apply_all(&[
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"not thinking"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"future_delta","x":1}}"#,
        ])
        .unwrap();
        let message = accumulator.into_message().unwrap();
        let ContentBlock::Thinking(thinking) = &message.content[0] else {
            panic!()
        };
        assert_eq!(
            (thinking.thinking.as_str(), thinking.signature.as_str()),
            ("hmm", "sig")
        );
    }

    #[test]
    fn protocol_violations_are_typed_errors() {
        let before_start = apply_all(&[r#"{"type":"content_block_stop","index":0}"#]);
        assert!(matches!(before_start, Err(Error::Decode { .. })));
        let unknown_block = apply_all(&[
            START,
            r#"{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"x"}}"#,
        ]);
        assert!(matches!(unknown_block, Err(Error::Decode { .. })));
        assert!(MessageAccumulator::new().into_message().is_err());
    }

    #[test]
    fn an_error_event_is_a_typed_api_error() {
        let result = apply_all(&[
            START,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ]);
        let Err(Error::Api {
            status,
            kind,
            message,
            origin: crate::ErrorOrigin::Stream,
            ..
        }) = result
        else {
            panic!("{result:?}")
        };
        assert_eq!(
            (status, kind, message.as_str()),
            (StatusCode::OK, ApiErrorKind::Overloaded, "Overloaded")
        );
    }

    #[test]
    fn a_block_index_past_the_next_block_is_a_decode_error_not_an_allocation() {
        for index in [
            "1",
            "2",
            "100000000",
            "4294967296",
            "18446744073709551614",
            "18446744073709551615",
        ] {
            for event in [
                format!(
                    r#"{{"type":"content_block_start","index":{index},"content_block":{{"type":"text","text":""}}}}"#
                ),
                format!(
                    r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"text_delta","text":"x"}}}}"#
                ),
                format!(r#"{{"type":"content_block_stop","index":{index}}}"#),
            ] {
                let mut accumulator = apply_all(&[START]).unwrap();
                let result = accumulator.apply(&StreamEvent::from_json(&event).unwrap());
                assert!(
                    matches!(result, Err(Error::Decode { .. })),
                    "{event}: {result:?}"
                );
                assert!(accumulator.positions.capacity() < 16, "{event}");
                assert!(accumulator.tool_json.capacity() < 16, "{event}");
            }
        }
        // The next block and a restart of an existing one are fine.
        apply_all(&[
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x"}}"#,
        ])
        .unwrap();
    }

    #[test]
    fn events_after_message_stop_change_nothing() {
        let complete = [
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let expected = apply_all(&complete).unwrap().into_message().unwrap();
        for trailing in [
            START,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":"x"}}"#,
            r#"{"type":"content_block_delta","index":7,"delta":{"type":"text_delta","text":"x"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":99}}"#,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"late"}}"#,
            r#"{"type":"message_stop"}"#,
        ] {
            let mut events = complete.to_vec();
            events.push(trailing);
            let accumulator = apply_all(&events).unwrap();
            assert!(accumulator.is_complete());
            assert_eq!(accumulator.into_message().unwrap(), expected, "{trailing}");
        }
    }

    #[test]
    fn invalid_tool_json_is_quoted_as_a_bounded_excerpt() {
        let huge = format!("{{\"a\": \"{}\", ]", "x".repeat(1 << 20));
        let delta = serde_json::to_string(&json!({
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": huge},
        }))
        .unwrap();
        let mut accumulator = apply_all(&[
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t1","name":"get","input":{}}}"#,
            &delta,
        ])
        .unwrap();
        let stop = StreamEvent::from_json(r#"{"type":"content_block_stop","index":0}"#).unwrap();
        let error = accumulator.apply(&stop).unwrap_err();
        let text = error.to_string();
        assert!(text.len() < 512, "{} bytes", text.len());
        assert!(text.contains(&format!("({} bytes)", huge.len())), "{text}");
    }
}
