//! What a session streams: the CLI's frames, typed ([`Message`]), the prompt types, and the
//! typed answers of control requests ([`ServerInfo`], [`InterruptReceipt`]).

use std::fmt;
use std::pin::Pin;
use std::sync::OnceLock;

use claude_kit_core::code::control::ControlAnswer;
use claude_kit_core::code::frames::ResultMessage;
use claude_kit_core::types::Content;
use claude_kit_core::{AgentResultError, Error, Result};
use futures_core::Stream;
use serde_json::{Value, json};

/// One message of a session: `System` (with `Init` typed), `Assistant`, `User`, `Result`,
/// `StreamEvent`, `RateLimit`, or `Unknown` for a frame type a newer CLI adds.
pub use claude_kit_core::code::frames::Frame as Message;

/// A stream of messages; `Err` items are typed errors (a malformed line, the CLI exiting, an
/// error result), after which the stream ends.
pub type MessageStream<'a> = Pin<Box<dyn Stream<Item = Result<Message>> + Send + 'a>>;

/// What [`query`](fn@crate::query) sends: one prompt, or a stream of them (streaming input:
/// each item is one user turn, written as it arrives).
#[non_exhaustive]
pub enum Prompt {
    /// One user turn.
    Content(Content),
    /// User turns, as they come.
    Stream(Pin<Box<dyn Stream<Item = Content> + Send>>),
}

impl Prompt {
    /// A stream of user turns.
    pub fn stream<S, C>(turns: S) -> Self
    where
        S: Stream<Item = C> + Send + 'static,
        C: Into<Content> + 'static,
    {
        use futures_util::StreamExt;
        Prompt::Stream(Box::pin(turns.map(Into::into)))
    }
}

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Prompt::Content(content) => f.debug_tuple("Content").field(content).finish(),
            Prompt::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Self {
        Prompt::Content(Content::Text(text.to_owned()))
    }
}

impl From<String> for Prompt {
    fn from(text: String) -> Self {
        Prompt::Content(Content::Text(text))
    }
}

impl From<Content> for Prompt {
    fn from(content: Content) -> Self {
        Prompt::Content(content)
    }
}

/// The `user` frame of one turn.
pub(crate) fn user_frame(content: &Content, session_id: &str) -> Value {
    json!({
        "type": "user",
        "session_id": session_id,
        "message": {"role": "user", "content": content},
        "parent_tool_use_id": null,
    })
}

/// The typed error an error result stands for, or `None` for a success and for a turn
/// ended by an interrupt (asked for, so not an error, as the CLI's exit status 0 says).
pub fn result_error(result: &ResultMessage) -> Option<Error> {
    if !result.is_error || result.was_interrupted() {
        return None;
    }
    let mut error = AgentResultError::new(result.subtype.clone());
    error.errors = result.errors.clone();
    error.result = result.result.clone();
    error.api_error_status = result.api_error_status;
    error.terminal_reason = result.terminal_reason.clone();
    error.session_id = result.session_id.clone();
    Some(Error::AgentResult(Box::new(error)))
}

/// The CLI's answer to `initialize`: its version, pid, commands, models, account.
///
/// Kept as the CLI wrote it and parsed the first time it is read: the answer is many
/// kilobytes of JSON that most programs never look at.
#[derive(Clone)]
pub struct ServerInfo {
    answer: Option<ControlAnswer>,
    value: OnceLock<Value>,
}

impl ServerInfo {
    pub(crate) fn new(answer: Option<ControlAnswer>) -> Self {
        Self {
            answer,
            value: OnceLock::new(),
        }
    }

    /// The answer as a `Value` (`null` if it was not JSON, which the reader has checked).
    fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            self.answer
                .as_ref()
                .and_then(|answer| answer.to_value().ok())
                .unwrap_or(Value::Null)
        })
    }

    /// The CLI's version (`claude_code_version`).
    pub fn version(&self) -> Option<&str> {
        self.value()
            .get("claude_code_version")
            .and_then(Value::as_str)
    }

    /// The CLI's process id, as it reports it.
    pub fn pid(&self) -> Option<u64> {
        self.value().get("pid").and_then(Value::as_u64)
    }

    /// The slash commands (`{name, description, …}` each).
    pub fn commands(&self) -> &[Value] {
        self.array("commands")
    }

    /// The models (`{value, displayName, …}` each).
    pub fn models(&self) -> &[Value] {
        self.array("models")
    }

    /// The capabilities (`interrupt_receipt_v1`, …).
    pub fn capabilities(&self) -> Vec<&str> {
        self.array("capabilities")
            .iter()
            .filter_map(Value::as_str)
            .collect()
    }

    /// The permission mode the session starts in.
    pub fn permission_mode(&self) -> Option<&str> {
        self.value()
            .get("current_permission_mode")
            .and_then(Value::as_str)
    }

    /// The whole answer.
    pub fn raw(&self) -> &Value {
        self.value()
    }

    /// The whole answer as the CLI wrote it (JSON text; empty if there was none).
    pub fn json(&self) -> &str {
        self.answer.as_ref().map_or("", ControlAnswer::json)
    }

    fn array(&self, key: &str) -> &[Value] {
        self.value()
            .get(key)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }
}

/// Equal when the answers are the same JSON.
impl PartialEq for ServerInfo {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl fmt::Debug for ServerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ServerInfo").field(self.value()).finish()
    }
}

/// The CLI's receipt for an `interrupt`: the turn under way ends (with an
/// `error_during_execution` result); prompts still queued are listed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InterruptReceipt {
    /// Prompts the CLI had queued and did not start (`still_queued`).
    pub still_queued: Vec<Value>,
    /// The whole answer.
    pub raw: Value,
}

impl InterruptReceipt {
    pub(crate) fn from_wire(raw: Value) -> Self {
        Self {
            still_queued: raw
                .get("still_queued")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            raw,
        }
    }
}
