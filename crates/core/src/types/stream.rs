//! Events of a streaming `POST /v1/messages` response.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{ContentBlock, Extra, Message, StopReason};

/// One event of a message stream, decoded from the `data` of a server-sent event.
///
/// Types this version does not know are kept whole in [`StreamEvent::Unknown`], and unknown
/// deltas in [`ContentDelta::Unknown`]: a newer API never breaks an older client.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// `message_start`: the message with empty content and initial usage.
    MessageStart {
        /// The message so far (boxed: it is by far the largest event, and every event is moved
        /// several times on its way to the caller).
        message: Box<Message>,
    },
    /// `content_block_start`: a new content block at `index`.
    ContentBlockStart {
        /// Position of the block in the message's content.
        index: usize,
        /// The block, with empty text / input (boxed, as the message of `MessageStart`).
        content_block: Box<ContentBlock>,
    },
    /// `content_block_delta`: more of the block at `index`.
    ContentBlockDelta {
        /// Position of the block.
        index: usize,
        /// What to add.
        delta: ContentDelta,
    },
    /// `content_block_stop`: the block at `index` is complete.
    ContentBlockStop {
        /// Position of the block.
        index: usize,
    },
    /// `message_delta`: stop reason and cumulative usage.
    MessageDelta {
        /// Message-level changes.
        delta: MessageDelta,
        /// Cumulative usage; `None` when the event had none (the totals then stand). Boxed,
        /// as the large payloads of the other events.
        usage: Option<Box<MessageDeltaUsage>>,
    },
    /// `message_stop`: the end of the message.
    MessageStop,
    /// `ping`: keeps the connection alive.
    Ping,
    /// `error`: the API failed in the middle of the stream (e.g. `overloaded_error`).
    Error {
        /// The error.
        error: StreamError,
    },
    /// An event of a type this version does not know, as raw JSON.
    Unknown(Value),
}

/// A change to one content block.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ContentDelta {
    /// `text_delta`: text to append to a text block.
    Text(String),
    /// `input_json_delta`: a piece of a tool's JSON input.
    InputJson(String),
    /// `thinking_delta`: thinking to append to a thinking block.
    Thinking(String),
    /// `signature_delta`: the signature of a thinking block.
    Signature(String),
    /// `citations_delta`: a citation to add to a text block.
    Citation(Value),
    /// A delta of a type this version does not know, as raw JSON.
    Unknown(Value),
}

/// Message-level fields of a `message_delta` event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageDelta {
    /// Why the model stopped.
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    /// The stop sequence that ended the reply.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Other fields (e.g. `stop_details`, `container`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The usage of a `message_delta` event: cumulative totals, not increments.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageDeltaUsage {
    /// Output tokens so far.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens, when the API restates them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Cache-write input tokens, when restated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Cache-read input tokens, when restated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Server tool usage, when restated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tool_use: Option<Value>,
    /// Other fields (e.g. `output_tokens_details`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `error` object of an `error` event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StreamError {
    /// The error type, e.g. `overloaded_error`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The message.
    #[serde(default)]
    pub message: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The shape shared by every event, parsed in one pass with nested parts left raw, so the
/// frequent small events (`content_block_delta`) cost one scan of their JSON.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    index: Option<usize>,
    #[serde(default, borrow)]
    delta: Option<&'a RawValue>,
    #[serde(default, borrow)]
    message: Option<&'a RawValue>,
    #[serde(default, borrow)]
    content_block: Option<&'a RawValue>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    citation: Option<Value>,
}

impl StreamEvent {
    /// Decodes an event from the JSON `data` of a server-sent event.
    ///
    /// ```
    /// use claude_kit_core::types::{ContentDelta, StreamEvent};
    ///
    /// let data = r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#;
    /// assert_eq!(
    ///     StreamEvent::from_json(data).unwrap(),
    ///     StreamEvent::ContentBlockDelta { index: 0, delta: ContentDelta::Text("Hi".into()) },
    /// );
    /// let future = r#"{"type":"brand_new_event","x":1}"#;
    /// assert!(matches!(StreamEvent::from_json(future).unwrap(), StreamEvent::Unknown(_)));
    /// ```
    pub fn from_json(data: &str) -> Result<Self, serde_json::Error> {
        // The API sends `type` first, and most events are `content_block_delta`s: those are
        // parsed in one pass. Anything else, or any surprise, takes the general path below.
        if data.starts_with(r#"{"type":"content_block_delta""#)
            && let Ok(event) = serde_json::from_str::<FastDelta<'_>>(data)
            && let Some(delta) = event.delta.into_known()
        {
            return Ok(StreamEvent::ContentBlockDelta {
                index: event.index,
                delta,
            });
        }
        let raw: RawEvent<'_> = serde_json::from_str(data)?;
        let index = || raw.index.ok_or_else(|| missing("index"));
        let event = match raw.kind.as_ref() {
            "content_block_delta" => {
                let delta = raw.delta.ok_or_else(|| missing("delta"))?;
                StreamEvent::ContentBlockDelta {
                    index: index()?,
                    delta: ContentDelta::from_raw(delta)?,
                }
            }
            "content_block_start" => StreamEvent::ContentBlockStart {
                index: index()?,
                content_block: parse(raw.content_block, "content_block")?,
            },
            "content_block_stop" => StreamEvent::ContentBlockStop { index: index()? },
            "message_start" => StreamEvent::MessageStart {
                message: parse(raw.message, "message")?,
            },
            "message_delta" => StreamEvent::MessageDelta {
                delta: parse(raw.delta, "delta")?,
                usage: raw
                    .usage
                    .map(|usage| serde_json::from_str(usage.get()))
                    .transpose()?,
            },
            "message_stop" => StreamEvent::MessageStop,
            "ping" => StreamEvent::Ping,
            "error" => StreamEvent::Error {
                error: parse(raw.error, "error")?,
            },
            _ => StreamEvent::Unknown(serde_json::from_str(data)?),
        };
        Ok(event)
    }

    /// The event's `type` string.
    pub fn type_name(&self) -> &str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::ContentBlockStart { .. } => "content_block_start",
            StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
            StreamEvent::ContentBlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop => "message_stop",
            StreamEvent::Ping => "ping",
            StreamEvent::Error { .. } => "error",
            StreamEvent::Unknown(value) => value.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }
}

/// A `content_block_delta` event, parsed in one pass (the `type` field is not looked at:
/// only data that starts with it comes here).
#[derive(Deserialize)]
struct FastDelta<'a> {
    index: usize,
    #[serde(borrow)]
    delta: RawDelta<'a>,
}

impl RawDelta<'_> {
    /// The delta, when it is of a known type with its field present.
    fn into_known(self) -> Option<ContentDelta> {
        Some(match self.kind.as_ref() {
            "text_delta" => ContentDelta::Text(self.text?),
            "input_json_delta" => ContentDelta::InputJson(self.partial_json?),
            "thinking_delta" => ContentDelta::Thinking(self.thinking?),
            "signature_delta" => ContentDelta::Signature(self.signature?),
            "citations_delta" => ContentDelta::Citation(self.citation?),
            _ => return None,
        })
    }
}

impl ContentDelta {
    fn from_raw(raw: &RawValue) -> Result<Self, serde_json::Error> {
        let delta: RawDelta<'_> = serde_json::from_str(raw.get())?;
        let field = |value: Option<String>, name: &'static str| value.ok_or_else(|| missing(name));
        Ok(match delta.kind.as_ref() {
            "text_delta" => ContentDelta::Text(field(delta.text, "text")?),
            "input_json_delta" => {
                ContentDelta::InputJson(field(delta.partial_json, "partial_json")?)
            }
            "thinking_delta" => ContentDelta::Thinking(field(delta.thinking, "thinking")?),
            "signature_delta" => ContentDelta::Signature(field(delta.signature, "signature")?),
            "citations_delta" => {
                ContentDelta::Citation(delta.citation.ok_or_else(|| missing("citation"))?)
            }
            _ => ContentDelta::Unknown(serde_json::from_str(raw.get())?),
        })
    }

    /// The delta's `type` string.
    pub fn type_name(&self) -> &str {
        match self {
            ContentDelta::Text(_) => "text_delta",
            ContentDelta::InputJson(_) => "input_json_delta",
            ContentDelta::Thinking(_) => "thinking_delta",
            ContentDelta::Signature(_) => "signature_delta",
            ContentDelta::Citation(_) => "citations_delta",
            ContentDelta::Unknown(value) => value.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    raw: Option<&RawValue>,
    name: &'static str,
) -> Result<T, serde_json::Error> {
    serde_json::from_str(raw.ok_or_else(|| missing(name))?.get())
}

fn missing(field: &'static str) -> serde_json::Error {
    <serde_json::Error as serde::de::Error>::missing_field(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_every_known_event() {
        let start = StreamEvent::from_json(
            r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}"#,
        )
        .unwrap();
        assert!(
            matches!(start, StreamEvent::MessageStart { ref message } if message.usage.input_tokens == 3)
        );

        let block = StreamEvent::from_json(
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}}"#,
        )
        .unwrap();
        assert!(matches!(
            block,
            StreamEvent::ContentBlockStart {
                index: 1,
                ref content_block,
            } if matches!(**content_block, ContentBlock::ToolUse(_))
        ));

        for (json, expected) in [
            (
                r#"{"type":"input_json_delta","partial_json":"{\"a"}"#,
                ContentDelta::InputJson("{\"a".into()),
            ),
            (
                r#"{"type":"thinking_delta","thinking":"hm"}"#,
                ContentDelta::Thinking("hm".into()),
            ),
            (
                r#"{"type":"signature_delta","signature":"sig"}"#,
                ContentDelta::Signature("sig".into()),
            ),
            (
                r#"{"type":"citations_delta","citation":{"k":1}}"#,
                ContentDelta::Citation(json!({"k":1})),
            ),
            (
                r#"{"type":"shiny_delta","x":[1]}"#,
                ContentDelta::Unknown(json!({"type":"shiny_delta","x":[1]})),
            ),
        ] {
            let data = format!(r#"{{"type":"content_block_delta","index":2,"delta":{json}}}"#);
            assert_eq!(
                StreamEvent::from_json(&data).unwrap(),
                StreamEvent::ContentBlockDelta {
                    index: 2,
                    delta: expected
                }
            );
        }

        let delta = StreamEvent::from_json(
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null,"stop_details":{"type":"x"}},"usage":{"output_tokens":7,"iterations":[]}}"#,
        )
        .unwrap();
        let StreamEvent::MessageDelta { delta, usage } = delta else {
            panic!()
        };
        assert_eq!(delta.stop_reason, Some(StopReason::EndTurn));
        assert_eq!(delta.extra["stop_details"], json!({"type":"x"}));
        let usage = usage.expect("usage");
        assert_eq!(usage.output_tokens, 7);
        assert_eq!(usage.input_tokens, None);
        assert_eq!(usage.extra["iterations"], json!([]));

        let error = StreamEvent::from_json(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert!(
            matches!(error.unwrap(), StreamEvent::Error { error } if error.kind == "overloaded_error")
        );
        assert_eq!(
            StreamEvent::from_json(r#"{"type":"ping"}"#).unwrap(),
            StreamEvent::Ping
        );
        assert_eq!(
            StreamEvent::from_json(r#"{"type":"message_stop"}"#).unwrap(),
            StreamEvent::MessageStop
        );
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_one() {
        for delta in [
            r#"{"type":"text_delta","text":"caf\u00e9 \"q\""}"#,
            r#"{"type":"input_json_delta","partial_json":"{\"a\": [1"}"#,
            r#"{"type":"thinking_delta","thinking":"hm"}"#,
            r#"{"type":"signature_delta","signature":"sig"}"#,
            r#"{"type":"citations_delta","citation":{"k":[1,{"x":null}]}}"#,
            r#"{"type":"future_delta","anything":true}"#,
            r#"{"type":"text_delta"}"#,
        ] {
            let data = format!(r#"{{"type":"content_block_delta","index":3,"delta":{delta}}}"#);
            // A leading space skips the fast path.
            let general = StreamEvent::from_json(&format!(" {data}"));
            let fast = StreamEvent::from_json(&data);
            assert_eq!(fast.is_ok(), general.is_ok(), "{data}");
            if let (Ok(fast), Ok(general)) = (fast, general) {
                assert_eq!(fast, general, "{data}");
            }
        }
    }

    #[test]
    fn malformed_events_are_errors_not_panics() {
        for data in [
            "",
            "{",
            "[]",
            r#"{"index":0}"#,
            r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#,
            r#"{"type":"content_block_start","index":0}"#,
            r#"{"type":"message_start","message":{"id":1}}"#,
        ] {
            assert!(StreamEvent::from_json(data).is_err(), "{data:?}");
        }
    }
}
