//! The model's reply: [`Message`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::with_extra::deserialize_with_extra;
use super::{ContentBlock, Extra};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The application's side of the conversation.
    User,
    /// The model.
    Assistant,
}

/// A message produced by the model (the response of `POST /v1/messages`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Message {
    /// Unique id, `msg_…`.
    pub id: String,
    /// Always `"message"`.
    #[serde(rename = "type", default = "message_type")]
    pub kind: String,
    /// Always [`Role::Assistant`].
    pub role: Role,
    /// The content blocks, in order.
    pub content: Vec<ContentBlock>,
    /// The model that answered.
    pub model: String,
    /// Why the model stopped; `None` only in a stream's first event.
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    /// The stop sequence that ended the reply, if one did.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Billing and rate-limit usage.
    #[serde(default)]
    pub usage: Usage,
    /// Fields this version does not model (e.g. `container`, `stop_details`).
    #[serde(flatten)]
    pub extra: Extra,
}

fn message_type() -> String {
    "message".to_owned()
}

deserialize_with_extra!(Message, "a message" {
    id: String = "id",
    kind: String = "type" or message_type,
    role: Role = "role",
    content: Vec<ContentBlock> = "content",
    model: String = "model",
    stop_reason: Option<StopReason> = "stop_reason" or default,
    stop_sequence: Option<String> = "stop_sequence" or default,
    usage: Usage = "usage" or default,
});

impl Message {
    /// The text of all `text` blocks, concatenated.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for block in &self.content {
            if let Some(part) = block.as_text() {
                text.push_str(part);
            }
        }
        text
    }

    /// The `tool_use` blocks, in order.
    pub fn tool_uses(&self) -> impl Iterator<Item = &super::ToolUseBlock> {
        self.content.iter().filter_map(|block| match block {
            ContentBlock::ToolUse(tool) => Some(tool),
            _ => None,
        })
    }

    /// The reasoning of all `thinking` blocks, concatenated (empty without extended
    /// thinking; `redacted_thinking` blocks have none to show).
    ///
    /// ```
    /// use claude_kit_core::types::Message;
    ///
    /// let message: Message = serde_json::from_str(r#"{"id":"msg_1","type":"message","role":"assistant","model":"m",
    ///     "content":[{"type":"thinking","thinking":"2 + 2 is 4.","signature":"sig"},
    ///                {"type":"text","text":"4","citations":null},
    ///                {"type":"tool_use","id":"toolu_1","name":"calc","input":{"expr":"2+2"}}],
    ///     "stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":5}}"#).unwrap();
    /// assert_eq!(message.thinking(), "2 + 2 is 4.");
    /// assert_eq!(message.text(), "4");
    /// assert_eq!(message.tool_uses().next().unwrap().name, "calc");
    /// assert_eq!(message.citations().count(), 0);
    /// ```
    pub fn thinking(&self) -> String {
        let mut thinking = String::new();
        for block in &self.content {
            if let Some(part) = block.as_thinking() {
                thinking.push_str(part);
            }
        }
        thinking
    }

    /// The citations of every `text` block, in order.
    pub fn citations(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.content.iter().flat_map(ContentBlock::citations)
    }

    /// Parses the reply's text as JSON into `T`: the structured output asked for with
    /// [`MessageRequest::json_schema_output`](super::MessageRequest::json_schema_output) (or
    /// by a prompt). `T` is any `Deserialize` type, or `serde_json::Value`.
    ///
    /// # Errors
    ///
    /// [`Error::Output`](crate::Error::Output), saying why: the model refused, the reply has
    /// no text, was cut off at `max_tokens` before the JSON ended, is not JSON, or is JSON of
    /// another shape (the serde message names the field and the position).
    ///
    /// ```
    /// use claude_kit_core::types::{Message, StopReason};
    ///
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct Answer { answer: i64 }
    ///
    /// let reply = |text: &str, stop: &str| -> Message {
    ///     serde_json::from_value(serde_json::json!({"id": "msg_1", "type": "message", "role": "assistant",
    ///         "model": "m", "content": [{"type": "text", "text": text}], "stop_reason": stop,
    ///         "usage": {"input_tokens": 1, "output_tokens": 1}})).unwrap()
    /// };
    /// assert_eq!(reply(r#"{"answer": 4}"#, "end_turn").parse::<Answer>()?, Answer { answer: 4 });
    ///
    /// let error = reply(r#"{"answer": "four"}"#, "end_turn").parse::<Answer>().unwrap_err();
    /// assert!(error.to_string().contains("invalid type: string \"four\", expected i64"), "{error}");
    /// let error = reply(r#"{"answ"#, "max_tokens").parse::<Answer>().unwrap_err();
    /// assert!(error.to_string().contains("max_tokens"), "{error}");
    /// assert!(matches!(error, claude_kit_core::Error::Output { stop_reason: Some(StopReason::MaxTokens), .. }));
    /// # Ok::<_, claude_kit_core::Error>(())
    /// ```
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> crate::Result<T> {
        let failed =
            |message: String, source: Option<crate::error::DecodeSource>| crate::Error::Output {
                message: crate::redact::truncate(&message, crate::redact::MAX_MESSAGE_BYTES),
                stop_reason: self.stop_reason.clone(),
                source,
            };
        if self.stop_reason == Some(StopReason::Refusal) {
            return Err(failed("the model refused to answer".into(), None));
        }
        let text = self.text();
        if text.trim().is_empty() {
            return Err(failed("the reply has no text to parse".into(), None));
        }
        serde_json::from_str(&text).map_err(|error| {
            let source = Some(crate::error::DecodeSource::from_json(&error));
            let message = match (&self.stop_reason, error.classify()) {
                (Some(StopReason::MaxTokens), _) => {
                    format!("the reply was cut off at max_tokens ({error}): raise max_tokens")
                }
                (_, serde_json::error::Category::Data) => {
                    format!("as {}: {error}", std::any::type_name::<T>())
                }
                _ => format!("not JSON: {error}"),
            };
            failed(message, source)
        })
    }

    /// The assistant turn that records this message in a conversation's history.
    pub fn to_assistant_turn(&self) -> super::MessageParam {
        super::MessageParam {
            role: Role::Assistant,
            content: super::Content::Blocks(self.content.clone()),
        }
    }
}

/// Token counts of a request and its reply.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct Usage {
    /// Input tokens billed at the normal rate.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Server tool usage (e.g. `{"web_search_requests": 1}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tool_use: Option<serde_json::Value>,
    /// The service tier the request ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_with_extra!(Usage, "token usage" {
    input_tokens: u64 = "input_tokens" or default,
    output_tokens: u64 = "output_tokens" or default,
    cache_creation_input_tokens: Option<u64> = "cache_creation_input_tokens" or default,
    cache_read_input_tokens: Option<u64> = "cache_read_input_tokens" or default,
    server_tool_use: Option<serde_json::Value> = "server_tool_use" or default,
    service_tier: Option<String> = "service_tier" or default,
});

impl Usage {
    /// Adds `more` to these totals: token counts are summed, the optional cache counts too.
    /// The counts are the server's numbers, so the sums saturate rather than overflow.
    ///
    /// ```
    /// use claude_kit_core::types::Usage;
    ///
    /// let mut total = Usage::default();
    /// total.input_tokens = u64::MAX;
    /// let mut more = Usage::default();
    /// more.input_tokens = 1;
    /// more.cache_read_input_tokens = Some(7);
    /// total.accumulate(&more);
    /// assert_eq!(total.input_tokens, u64::MAX);
    /// assert_eq!(total.cache_read_input_tokens, Some(7));
    /// ```
    pub fn accumulate(&mut self, more: &Usage) {
        fn sum(total: &mut Option<u64>, more: Option<u64>) {
            if let Some(more) = more {
                *total = Some(total.unwrap_or(0).saturating_add(more));
            }
        }
        self.input_tokens = self.input_tokens.saturating_add(more.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(more.output_tokens);
        sum(
            &mut self.cache_creation_input_tokens,
            more.cache_creation_input_tokens,
        );
        sum(
            &mut self.cache_read_input_tokens,
            more.cache_read_input_tokens,
        );
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum StopReason {
    /// The model finished its turn.
    EndTurn,
    /// `max_tokens` was reached.
    MaxTokens,
    /// A stop sequence was generated.
    StopSequence,
    /// The model wants tools to be run.
    ToolUse,
    /// A long-running turn was paused; send the reply back to continue.
    PauseTurn,
    /// The model declined to answer.
    Refusal,
    /// A reason this version does not know, kept verbatim.
    Other(String),
}

impl StopReason {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::ToolUse => "tool_use",
            StopReason::PauseTurn => "pause_turn",
            StopReason::Refusal => "refusal",
            StopReason::Other(other) => other,
        }
    }
}

impl From<String> for StopReason {
    fn from(name: String) -> Self {
        match name.as_str() {
            "end_turn" => StopReason::EndTurn,
            "max_tokens" => StopReason::MaxTokens,
            "stop_sequence" => StopReason::StopSequence,
            "tool_use" => StopReason::ToolUse,
            "pause_turn" => StopReason::PauseTurn,
            "refusal" => StopReason::Refusal,
            _ => StopReason::Other(name),
        }
    }
}

impl From<StopReason> for String {
    fn from(reason: StopReason) -> Self {
        reason.as_str().to_owned()
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_reply_and_keeps_unknown_fields() {
        let raw = json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": " there"}],
            "stop_reason": "brand_new", "stop_sequence": null,
            "usage": {"input_tokens": 3, "output_tokens": 2, "speed": "fast"},
            "stop_details": {"type": "refusal"}
        });
        let message: Message = serde_json::from_value(raw).unwrap();
        assert_eq!(message.text(), "Hi there");
        assert_eq!(
            message.stop_reason,
            Some(StopReason::Other("brand_new".into()))
        );
        assert_eq!(message.usage.extra["speed"], json!("fast"));
        assert_eq!(message.extra["stop_details"], json!({"type": "refusal"}));
    }

    #[test]
    fn usage_totals_saturate_instead_of_overflowing() {
        let huge = Usage {
            input_tokens: u64::MAX,
            output_tokens: u64::MAX - 1,
            cache_creation_input_tokens: Some(u64::MAX),
            cache_read_input_tokens: Some(7),
            ..Usage::default()
        };
        let mut total = huge.clone();
        total.accumulate(&huge);
        assert_eq!(total.input_tokens, u64::MAX);
        assert_eq!(total.output_tokens, u64::MAX);
        assert_eq!(total.cache_creation_input_tokens, Some(u64::MAX));
        assert_eq!(total.cache_read_input_tokens, Some(14));
    }
}
