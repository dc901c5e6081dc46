//! The frames Claude Code writes on stdout in stream-json mode, as typed values.
//!
//! One JSON object per line, dispatched on its `type` (which need not be the first key).
//! Known types are typed, with every field this version does not model kept in `extra`; a
//! `system` frame keeps its subtype and data, with `init` typed; a type a newer CLI adds is
//! [`Frame::Unknown`], never an error. Control frames are the
//! [`ControlChannel`](super::control::ControlChannel)'s business and are not parsed here.
//!
//! ```
//! use claude_kit_core::code::frames::{Frame, SystemMessage};
//! use serde_json::json;
//!
//! let init = json!({"type": "system", "subtype": "init", "session_id": "s-1",
//!     "model": "claude-sonnet-4-5", "tools": ["Bash", "Read"], "cwd": "/work"});
//! match Frame::from_value(init).unwrap() {
//!     Frame::System(SystemMessage::Init(init)) => {
//!         assert_eq!(init.session_id, "s-1");
//!         assert_eq!(init.tools, ["Bash", "Read"]);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! let future = json!({"type": "hologram", "x": 1});
//! assert!(matches!(Frame::from_value(future).unwrap(), Frame::Unknown(_)));
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::Error;
use crate::types::with_extra::deserialize_with_extra;
use crate::types::{Content, Extra, Message, StreamEvent, Usage};

/// One frame of the CLI's stdout (control frames aside).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Frame {
    /// `system`: session set-up (`init`, typed) and notices (`api_retry`, `status`, …).
    System(SystemMessage),
    /// `assistant`: a model message of the turn (boxed, as `user` and `result`: a frame is
    /// moved from the reader through a channel to the caller, at the size of its largest
    /// variant).
    Assistant(Box<AssistantMessage>),
    /// `user`: the prompt echoed back, or tool results.
    User(Box<UserMessage>),
    /// `stream_event`: a raw Messages API event (with `--include-partial-messages`).
    StreamEvent(StreamEventMessage),
    /// `result`: the end of a turn, with its cost and outcome.
    Result(Box<ResultMessage>),
    /// `rate_limit_event`, as sent.
    RateLimit(Value),
    /// A frame type this version does not know, as sent.
    Unknown(Value),
}

/// A `system` frame.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SystemMessage {
    /// `init`: what the session runs with (re-sent every turn).
    Init(Box<InitInfo>),
    /// Any other subtype, with the frame's fields.
    Other {
        /// The `subtype` (`api_retry`, `status`, `session_state_changed`, …).
        subtype: String,
        /// The whole frame.
        data: Value,
    },
}

/// The `system/init` frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct InitInfo {
    /// The session's id (for `--resume`).
    pub session_id: String,
    /// The model of the session.
    #[serde(default)]
    pub model: Option<String>,
    /// The working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// The tools the model may use.
    #[serde(default)]
    pub tools: Vec<String>,
    /// The permission mode.
    #[serde(default, rename = "permissionMode")]
    pub permission_mode: Option<String>,
    /// The CLI's version.
    #[serde(default)]
    pub claude_code_version: Option<String>,
    /// Fields this version does not model (MCP servers, agents, capabilities, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// An `assistant` frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AssistantMessage {
    /// The model's message. Written before its stream ends, so `stop_reason` is usually
    /// `None` here: the turn's stop reason is in the [`ResultMessage`].
    pub message: Message,
    /// The tool call of a subagent this message belongs to, if any.
    #[serde(default)]
    pub parent_tool_use_id: Option<String>,
    /// The session.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Set when the message stands for an API failure (`authentication_failed`,
    /// `rate_limit`, `server_error`, …): the CLI then writes a synthetic message.
    #[serde(default)]
    pub error: Option<String>,
    /// Fields this version does not model (`uuid`, `api_error_status`, `aborted`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `message` of a `user` frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UserContent {
    /// The content: the prompt's text, or blocks (tool results).
    pub content: Content,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `user` frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UserMessage {
    /// The user turn.
    pub message: UserContent,
    /// The tool call of a subagent this message belongs to, if any.
    #[serde(default)]
    pub parent_tool_use_id: Option<String>,
    /// The session.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Fields this version does not model (`tool_use_result`, `uuid`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `stream_event` frame: one Messages API event of the reply being written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamEventMessage {
    /// The event, typed as the Messages API's ([`StreamEvent::Unknown`] for new ones).
    pub event: StreamEvent,
    /// The session.
    pub session_id: Option<String>,
    /// The tool call of a subagent this event belongs to, if any.
    pub parent_tool_use_id: Option<String>,
}

/// A `result` frame: the end of a turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResultMessage {
    /// `success`, `error_max_turns`, `error_during_execution`, `error_max_budget_usd`, …
    /// Not the outcome: an API failure is `success` with `is_error: true`.
    pub subtype: String,
    /// Whether the turn failed: the one field that says so.
    pub is_error: bool,
    /// The final text, when the turn produced one.
    #[serde(default)]
    pub result: Option<String>,
    /// The session.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Model calls of the turn.
    #[serde(default)]
    pub num_turns: u64,
    /// Wall time of the turn.
    #[serde(default)]
    pub duration_ms: u64,
    /// Time spent in API calls.
    #[serde(default)]
    pub duration_api_ms: u64,
    /// What the session has cost so far, in US dollars.
    #[serde(default)]
    pub total_cost_usd: Option<f64>,
    /// Tokens of the turn.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Why the turn ended (`completed`, `api_error`, `aborted_streaming`, …).
    #[serde(default)]
    pub terminal_reason: Option<String>,
    /// The HTTP status of the API failure, for `is_error` results caused by one.
    #[serde(default)]
    pub api_error_status: Option<u16>,
    /// What went wrong, for error subtypes (`Reached maximum number of turns (1)`).
    #[serde(default)]
    pub errors: Vec<String>,
    /// The output of a JSON-schema turn.
    #[serde(default)]
    pub structured_output: Option<Value>,
    /// Fields this version does not model (`modelUsage`, `permission_denials`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_with_extra!(InitInfo, "a `system/init` frame" {
    session_id: String = "session_id",
    model: Option<String> = "model" or default,
    cwd: Option<String> = "cwd" or default,
    tools: Vec<String> = "tools" or default,
    permission_mode: Option<String> = "permissionMode" or default,
    claude_code_version: Option<String> = "claude_code_version" or default,
});

deserialize_with_extra!(AssistantMessage, "an `assistant` frame" {
    message: Message = "message",
    parent_tool_use_id: Option<String> = "parent_tool_use_id" or default,
    session_id: Option<String> = "session_id" or default,
    error: Option<String> = "error" or default,
});

deserialize_with_extra!(UserContent, "the message of a `user` frame" {
    content: Content = "content",
});

deserialize_with_extra!(UserMessage, "a `user` frame" {
    message: UserContent = "message",
    parent_tool_use_id: Option<String> = "parent_tool_use_id" or default,
    session_id: Option<String> = "session_id" or default,
});

deserialize_with_extra!(ResultMessage, "a `result` frame" {
    subtype: String = "subtype",
    is_error: bool = "is_error",
    result: Option<String> = "result" or default,
    session_id: Option<String> = "session_id" or default,
    num_turns: u64 = "num_turns" or default,
    duration_ms: u64 = "duration_ms" or default,
    duration_api_ms: u64 = "duration_api_ms" or default,
    total_cost_usd: Option<f64> = "total_cost_usd" or default,
    usage: Option<Usage> = "usage" or default,
    terminal_reason: Option<String> = "terminal_reason" or default,
    api_error_status: Option<u16> = "api_error_status" or default,
    errors: Vec<String> = "errors" or default,
    structured_output: Option<Value> = "structured_output" or default,
});

impl ResultMessage {
    /// Whether the turn was ended by an interrupt (`terminal_reason` `aborted_streaming`,
    /// `aborted_tools`, …): an error result the caller asked for.
    pub fn was_interrupted(&self) -> bool {
        self.terminal_reason
            .as_deref()
            .is_some_and(|reason| reason.starts_with("aborted"))
    }
}

impl Frame {
    /// The frame of one stdout line's JSON object.
    ///
    /// # Errors
    /// [`Error::Decode`] when the value is not an object, or a known frame type lacks a field
    /// it must have (its message quotes the parser, bounded by the caller's redaction).
    pub fn from_value(value: Value) -> Result<Self, Error> {
        let kind = match value.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            Some(_) => return Ok(Frame::Unknown(value)),
            None if value.is_object() => return Ok(Frame::Unknown(value)),
            None => return Err(Error::decode("a stream-json frame that is not an object")),
        };
        match kind.as_str() {
            "system" => Ok(Frame::System(system(value)?)),
            "assistant" => Ok(Frame::Assistant(parse("assistant", value)?)),
            "user" => Ok(Frame::User(parse("user", value)?)),
            "result" => Ok(Frame::Result(parse("result", value)?)),
            "stream_event" => Ok(Frame::StreamEvent(stream_event(value)?)),
            "rate_limit_event" => Ok(Frame::RateLimit(value)),
            _ => Ok(Frame::Unknown(value)),
        }
    }

    /// The frame of one stdout line (checked as UTF-8 by the caller, once for every parse it
    /// goes through: parsing bytes checks each string as it is read), parsed in one pass
    /// straight into its type, for the frames a turn is made of: `assistant`, `user`,
    /// `result`, `system` with subtype `init` and `stream_event`. `None` for any other line —
    /// control frames, other types, and any line that does not parse as its type — which then
    /// takes the general path: [`serde_json::from_str`] into a [`Value`], the
    /// [`ControlChannel`](super::control::ControlChannel), [`Frame::from_value`] and its errors.
    /// Where both give a frame, it is the same frame; this one builds no [`Value`] tree first.
    ///
    /// ```
    /// use claude_kit_core::code::frames::Frame;
    ///
    /// let line = r#"{"type":"result","subtype":"success","is_error":false,"result":"4"}"#;
    /// let Some(Frame::Result(result)) = Frame::from_turn_line(line) else { panic!() };
    /// assert_eq!(result.result.as_deref(), Some("4"));
    /// // A control frame (or anything else) is not this function's business.
    /// let control = r#"{"type":"control_request","request_id":"1","request":{}}"#;
    /// assert!(Frame::from_turn_line(control).is_none());
    /// ```
    pub fn from_turn_line(line: &str) -> Option<Frame> {
        // The head read from how the CLI begins its lines, without a pass over the line; the
        // frame's own parse then checks it saw the same `type` (and `subtype`) last, as the
        // general path's object would keep them.
        let head = Head::sniff(line).or_else(|| serde_json::from_str(line).ok())?;
        let kind = head.kind?;
        let same = |extra: &Extra, key: &str, value: &str| {
            extra.get(key).and_then(Value::as_str) == Some(value)
        };
        match (kind.as_ref(), head.subtype.as_deref()) {
            ("assistant", _) => serde_json::from_str::<AssistantMessage>(line)
                .ok()
                .filter(|m| same(&m.extra, "type", "assistant"))
                .map(|m| Frame::Assistant(Box::new(m))),
            ("user", _) => serde_json::from_str::<UserMessage>(line)
                .ok()
                .filter(|m| same(&m.extra, "type", "user"))
                .map(|m| Frame::User(Box::new(m))),
            ("result", _) => serde_json::from_str::<ResultMessage>(line)
                .ok()
                .filter(|m| same(&m.extra, "type", "result"))
                .map(|m| Frame::Result(Box::new(m))),
            ("system", Some("init")) => serde_json::from_str::<InitInfo>(line)
                .ok()
                .filter(|m| same(&m.extra, "type", "system") && same(&m.extra, "subtype", "init"))
                .map(|init| Frame::System(SystemMessage::Init(Box::new(init)))),
            ("stream_event", _) => {
                let raw: RawStreamEvent<'_> = serde_json::from_str(line).ok()?;
                let event = raw.event.get();
                if raw.kind != "stream_event" || !event.starts_with('{') {
                    return None;
                }
                Some(Frame::StreamEvent(StreamEventMessage {
                    event: StreamEvent::from_json(event).ok()?,
                    session_id: raw.session_id,
                    parent_tool_use_id: raw.parent_tool_use_id,
                }))
            }
            _ => None,
        }
    }

    /// The session id the frame names, when it names one.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Frame::System(SystemMessage::Init(init)) => Some(&init.session_id),
            Frame::Assistant(m) => m.session_id.as_deref(),
            Frame::User(m) => m.session_id.as_deref(),
            Frame::StreamEvent(m) => m.session_id.as_deref(),
            Frame::Result(m) => m.session_id.as_deref(),
            Frame::System(SystemMessage::Other { data, .. })
            | Frame::RateLimit(data)
            | Frame::Unknown(data) => data.get("session_id").and_then(Value::as_str),
        }
    }
}

/// What [`Frame::from_turn_line`] reads first: the line's `type` and `subtype` (the rest is
/// skipped, not built).
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subtype: Option<Cow<'a, str>>,
}

impl<'a> Head<'a> {
    /// The head of a line that begins as the CLI writes its lines, `{"type":"…"` and for
    /// `system` then `,"subtype":"…"`, read off its first bytes; `None` for any other
    /// beginning (a string with an escape included), which a parse then reads.
    fn sniff(line: &'a str) -> Option<Self> {
        /// A string's text up to its closing quote, and what follows; `None` at an escape.
        fn plain(text: &str) -> Option<(&str, &str)> {
            // Bytes, not chars: both are ASCII, and a type is a few of them.
            let end = text.bytes().position(|b| b == b'"' || b == b'\\')?;
            (text.as_bytes()[end] == b'"').then(|| (&text[..end], &text[end + 1..]))
        }
        let (kind, rest) = plain(line.strip_prefix(r#"{"type":""#)?)?;
        let subtype = match kind {
            "system" => Some(Cow::Borrowed(
                plain(rest.strip_prefix(r#","subtype":""#)?)?.0,
            )),
            _ => None,
        };
        Some(Head {
            kind: Some(Cow::Borrowed(kind)),
            subtype,
        })
    }
}

/// A `stream_event` line with its event left as text (for [`StreamEvent::from_json`]).
#[derive(Deserialize)]
struct RawStreamEvent<'a> {
    /// Read (and a second `type` refused) so that a line whose last `type` is not
    /// `stream_event` is left to the general path.
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    event: &'a RawValue,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    parent_tool_use_id: Option<String>,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, value: Value) -> Result<T, Error> {
    serde_json::from_value(value)
        .map_err(|e| Error::decode_json(format_args!("invalid `{what}` frame"), &e))
}

fn system(value: Value) -> Result<SystemMessage, Error> {
    match value.get("subtype").and_then(Value::as_str) {
        Some("init") => Ok(SystemMessage::Init(Box::new(parse("system/init", value)?))),
        subtype => Ok(SystemMessage::Other {
            subtype: subtype.unwrap_or_default().to_owned(),
            data: value,
        }),
    }
}

fn stream_event(mut value: Value) -> Result<StreamEventMessage, Error> {
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let event = match value.get_mut("event").map(Value::take) {
        Some(event @ Value::Object(_)) => StreamEvent::from_json(&event.to_string())
            .map_err(|e| Error::decode_json("invalid event in a `stream_event` frame", &e))?,
        _ => return Err(Error::decode("a `stream_event` frame without its event")),
    };
    Ok(StreamEventMessage {
        event,
        session_id: text(&value, "session_id"),
        parent_tool_use_id: text(&value, "parent_tool_use_id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ContentDelta;
    use serde_json::json;

    #[test]
    fn assistant_keeps_its_message_and_unknown_fields() {
        let frame = json!({"type": "assistant", "uuid": "u-1", "session_id": "s",
            "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                "content": [{"type": "text", "text": "Hi"}], "stop_reason": null,
                "usage": {"input_tokens": 3, "output_tokens": 1}},
            "parent_tool_use_id": null});
        let Frame::Assistant(assistant) = Frame::from_value(frame).unwrap() else {
            panic!("an assistant frame");
        };
        assert_eq!(assistant.message.text(), "Hi");
        assert_eq!(assistant.message.stop_reason, None);
        assert_eq!(assistant.extra["uuid"], "u-1");
        assert_eq!(assistant.session_id.as_deref(), Some("s"));
    }

    #[test]
    fn an_error_result_is_a_result_not_an_error() {
        // The CLI reports API failures as `subtype: success` with `is_error: true`; `type` is
        // far from first.
        let frame = json!({"subtype": "success", "is_error": true, "duration_ms": 12,
            "num_turns": 1, "terminal_reason": "api_error", "api_error_status": 401,
            "result": "Invalid API key", "session_id": "s", "modelUsage": {}, "type": "result"});
        let Frame::Result(result) = Frame::from_value(frame).unwrap() else {
            panic!("a result frame");
        };
        assert!(result.is_error);
        assert_eq!(result.subtype, "success");
        assert_eq!(result.api_error_status, Some(401));
        assert!(result.extra.contains_key("modelUsage"));

        let max_turns = json!({"type": "result", "subtype": "error_max_turns", "is_error": true,
            "errors": ["Reached maximum number of turns (1)"]});
        let Frame::Result(result) = Frame::from_value(max_turns).unwrap() else {
            panic!("a result frame");
        };
        assert_eq!(result.result, None);
        assert_eq!(result.errors, ["Reached maximum number of turns (1)"]);
    }

    #[test]
    fn user_frames_take_text_or_blocks() {
        let text = json!({"type": "user", "message": {"role": "user", "content": "Hello"}});
        assert!(
            matches!(Frame::from_value(text).unwrap(), Frame::User(u) if u.message.content == Content::Text("Hello".into()))
        );
        let results = json!({"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": "5", "is_error": false}]},
            "tool_use_result": {"stdout": "5"}});
        let Frame::User(user) = Frame::from_value(results).unwrap() else {
            panic!("a user frame");
        };
        assert!(matches!(user.message.content, Content::Blocks(ref b) if b.len() == 1));
        assert!(user.extra.contains_key("tool_use_result"));
    }

    #[test]
    fn stream_events_are_typed_api_events() {
        let frame = json!({"type": "stream_event", "session_id": "s", "event": {
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "He"}}});
        let Frame::StreamEvent(event) = Frame::from_value(frame).unwrap() else {
            panic!("a stream_event frame");
        };
        assert!(matches!(event.event, StreamEvent::ContentBlockDelta {
            delta: ContentDelta::Text(ref text), .. } if text == "He"));
        let missing = json!({"type": "stream_event"});
        assert!(matches!(
            Frame::from_value(missing),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn system_subtypes_are_kept_and_init_is_typed() {
        let retry = json!({"type": "system", "subtype": "api_retry", "attempt": 1});
        let Frame::System(SystemMessage::Other { subtype, data }) =
            Frame::from_value(retry).unwrap()
        else {
            panic!("a system frame");
        };
        assert_eq!(subtype, "api_retry");
        assert_eq!(data["attempt"], 1);
        let bad_init = json!({"type": "system", "subtype": "init"});
        assert!(matches!(
            Frame::from_value(bad_init),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn unknown_and_odd_frames_never_fail() {
        for value in [
            json!({"type": "conversation_reset"}),
            json!({"no_type": true}),
            json!({"type": 7}),
        ] {
            assert!(matches!(Frame::from_value(value), Ok(Frame::Unknown(_))));
        }
        assert!(matches!(
            Frame::from_value(json!({"type": "rate_limit_event", "session_id": "s"})),
            Ok(Frame::RateLimit(_))
        ));
        assert!(matches!(
            Frame::from_value(json!([1])),
            Err(Error::Decode { .. })
        ));
        let bad = json!({"type": "assistant", "message": {"content": "not blocks"}});
        let Err(error) = Frame::from_value(bad) else {
            panic!("a malformed assistant frame is an error");
        };
        assert!(
            std::error::Error::source(&error).is_some(),
            "a structured source"
        );
    }

    /// The one-pass parse gives the frame the general path gives, or leaves the line to it.
    #[test]
    fn the_turn_line_parse_agrees_with_the_general_path() {
        let lines: &[&str] = &[
            r#"{"type":"assistant","uuid":"u-1","session_id":"s","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hi \u00e9\n"},{"type":"tool_use","id":"t","name":"Bash","input":{"command":"ls"}}],"stop_reason":null,"usage":{"input_tokens":3,"output_tokens":1}},"parent_tool_use_id":null}"#,
            r#"{"subtype":"success","is_error":true,"duration_ms":12,"num_turns":1,"terminal_reason":"api_error","api_error_status":401,"result":"Invalid API key","session_id":"s","modelUsage":{"m":{"x":1.5}},"total_cost_usd":0.25,"type":"result"}"#,
            r#"{"type":"result","subtype":"error_max_turns","is_error":true,"errors":["Reached maximum number of turns (1)"]}"#,
            r#"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"5","is_error":false}]},"tool_use_result":{"stdout":"5"}}"#,
            r#"{"type":"user","session_id":"","message":{"role":"user","content":"Hello"},"parent_tool_use_id":null}"#,
            r#"{"type":"system","subtype":"init","session_id":"s-1","model":"m","tools":["Bash"],"cwd":"/w","mcp_servers":[{"name":"calc","status":"connected"}]}"#,
            r#"{"type":"stream_event","session_id":"s","parent_tool_use_id":"p","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"He"}}}"#,
            r#"{"type":"stream_event","event":{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":1,"output_tokens":0}}}}"#,
            r#"{"type":"stream_event","event": {"type":"ping"} }"#,
            r#"  {"type":"assistant","message":{"id":"m","type":"message","role":"assistant","model":"m","content":[]}}"#,
            // Heads read by a parse, not off the first bytes: an escape, another order.
            r#"{"type":"assist\u0061nt","message":{"id":"m","type":"message","role":"assistant","model":"m","content":[]}}"#,
            r#"{"type":"system","session_id":"s-1","subtype":"init"}"#,
            r#"{"subtype":"init","type":"system","session_id":"s-1"}"#,
            // A repeated key with the same value: the general path's object keeps the last.
            r#"{"type":"result","type":"result","subtype":"success","is_error":false}"#,
        ];
        for line in lines {
            let general = Frame::from_value(serde_json::from_str(line).unwrap()).unwrap();
            assert_eq!(Frame::from_turn_line(line), Some(general), "{line}");
        }
        // Left to the general path: control frames, other types and subtypes, and every line
        // the general path refuses or reads differently (whatever it then says about them).
        let left: &[&str] = &[
            r#"{"type":"control_request","request_id":"1","request":{"subtype":"can_use_tool"}}"#,
            r#"{"type":"control_response","response":{"subtype":"success","request_id":"1"}}"#,
            r#"{"type":"system","subtype":"api_retry","attempt":1}"#,
            r#"{"type":"rate_limit_event","session_id":"s"}"#,
            r#"{"type":"hologram"}"#,
            r#"{"no_type":true}"#,
            r#"{"type":7}"#,
            r#"[1]"#,
            r#"{"type":"assistant""#,
            r#"{"type":"assistant"}"#,
            r#"{"type":"system","subtype":"init"}"#,
            // A repeated `type` or `subtype` whose last value is another: the general path
            // reads the last one.
            r#"{"type":"assistant","message":{"id":"m","type":"message","role":"assistant","model":"m","content":[]},"type":"hologram"}"#,
            r#"{"type":"result","subtype":"success","is_error":false,"type":"user"}"#,
            r#"{"type":"system","subtype":"init","session_id":"s-1","subtype":"api_retry"}"#,
            r#"{"type":"stream_event","event":{"type":"ping"},"type":"stream_event"}"#,
            r#"{"type":"stream_event"}"#,
            r#"{"type":"stream_event","event":[1]}"#,
            r#"{"type":"stream_event","session_id":7,"event":{"type":"ping"}}"#,
            r#"{"type":"result","subtype":"success","is_error":"no"}"#,
        ];
        for line in left {
            assert_eq!(Frame::from_turn_line(line), None, "{line}");
        }
    }
}
