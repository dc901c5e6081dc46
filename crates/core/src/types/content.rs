//! Content blocks: the pieces of a message.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::Extra;

/// One block of a message's content, in either direction.
///
/// The same type is used for requests and responses, so an assistant reply can be put back
/// into the conversation as it is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ContentBlock {
    /// `text`: text, with optional citations.
    Text(TextBlock),
    /// `image`: an image in a user message.
    Image(ImageBlock),
    /// `tool_use`: the model asks the application to run a tool.
    ToolUse(ToolUseBlock),
    /// `server_tool_use`: the model ran a tool on the API's side (web search, code execution).
    ServerToolUse(ToolUseBlock),
    /// `tool_result`: the application's answer to a `tool_use`.
    ToolResult(ToolResultBlock),
    /// `thinking`: the model's extended thinking, with its signature.
    Thinking(ThinkingBlock),
    /// `redacted_thinking`: thinking the API returns encrypted.
    RedactedThinking(RedactedThinkingBlock),
    /// A block of a type this version does not model (server tool results, documents,
    /// newer types), kept as raw JSON with its `type` field.
    Unknown(Value),
}

/// A `text` block.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TextBlock {
    /// The text.
    pub text: String,
    /// Citations supporting the text, as the API sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Value>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An `image` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    /// Where the image comes from (`{"type":"base64","media_type":..,"data":..}` or a URL).
    pub source: Value,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `tool_use` or `server_tool_use` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUseBlock {
    /// The id to answer with in a `tool_result`.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The tool's input, a JSON object matching the tool's schema.
    #[serde(default)]
    pub input: Value,
    /// Fields this version does not model (e.g. `caller`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `tool_result` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResultBlock {
    /// The `id` of the `tool_use` this answers.
    pub tool_use_id: String,
    /// The result: a string or an array of content blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// Whether the tool failed; the model sees the content as an error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `thinking` block.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ThinkingBlock {
    /// The model's reasoning.
    pub thinking: String,
    /// The signature that lets the API verify the block when it is sent back.
    #[serde(default)]
    pub signature: String,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `redacted_thinking` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedactedThinkingBlock {
    /// The encrypted thinking.
    pub data: String,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ContentBlock {
    /// A `text` block.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text(TextBlock {
            text: text.into(),
            ..TextBlock::default()
        })
    }

    /// A `tool_result` block answering `tool_use_id`.
    pub fn tool_result(
        tool_use_id: impl Into<String>,
        content: impl Into<String>,
        is_error: bool,
    ) -> Self {
        ContentBlock::ToolResult(ToolResultBlock {
            tool_use_id: tool_use_id.into(),
            content: Some(Value::String(content.into())),
            is_error: is_error.then_some(true),
            extra: Extra::new(),
        })
    }

    /// The block's `type` string.
    pub fn type_name(&self) -> &str {
        match self {
            ContentBlock::Text(_) => "text",
            ContentBlock::Image(_) => "image",
            ContentBlock::ToolUse(_) => "tool_use",
            ContentBlock::ServerToolUse(_) => "server_tool_use",
            ContentBlock::ToolResult(_) => "tool_result",
            ContentBlock::Thinking(_) => "thinking",
            ContentBlock::RedactedThinking(_) => "redacted_thinking",
            ContentBlock::Unknown(value) => value.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// The text of a `text` block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text(block) => Some(&block.text),
            _ => None,
        }
    }

    /// The block, if it is a `tool_use` (not a `server_tool_use`: the API ran those).
    pub fn as_tool_use(&self) -> Option<&ToolUseBlock> {
        match self {
            ContentBlock::ToolUse(block) => Some(block),
            _ => None,
        }
    }

    /// The reasoning of a `thinking` block.
    pub fn as_thinking(&self) -> Option<&str> {
        match self {
            ContentBlock::Thinking(block) => Some(&block.thinking),
            _ => None,
        }
    }

    /// The citations of a `text` block, as the API sent them (empty for other blocks and
    /// for text without citations).
    ///
    /// ```
    /// use claude_kit_core::types::ContentBlock;
    ///
    /// let block: ContentBlock = serde_json::from_str(
    ///     r#"{"type":"text","text":"Paris.","citations":[{"type":"char_location","cited_text":"Paris is the capital","document_index":0,"start_char_index":0,"end_char_index":20}]}"#,
    /// ).unwrap();
    /// assert_eq!(block.as_text(), Some("Paris."));
    /// assert_eq!(block.citations()[0]["cited_text"], "Paris is the capital");
    /// assert!(ContentBlock::text("no sources").citations().is_empty());
    /// ```
    pub fn citations(&self) -> &[Value] {
        match self {
            ContentBlock::Text(TextBlock {
                citations: Some(citations),
                ..
            }) => citations,
            _ => &[],
        }
    }
}

impl Serialize for ContentBlock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tagged<'a, T: Serialize> {
            #[serde(rename = "type")]
            kind: &'a str,
            #[serde(flatten)]
            block: &'a T,
        }
        let kind = self.type_name();
        match self {
            ContentBlock::Text(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::Image(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::ToolUse(b) | ContentBlock::ServerToolUse(b) => {
                Tagged { kind, block: b }.serialize(serializer)
            }
            ContentBlock::ToolResult(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::Thinking(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::RedactedThinking(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::Unknown(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        let Some(object) = value.as_object_mut() else {
            return Err(D::Error::custom("a content block must be a JSON object"));
        };
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Err(D::Error::custom("a content block needs a string `type`")),
        };
        fn known<T: serde::de::DeserializeOwned, E: serde::de::Error>(
            mut object: serde_json::Map<String, Value>,
        ) -> Result<T, E> {
            object.remove("type");
            serde_json::from_value(Value::Object(object)).map_err(E::custom)
        }
        let object = std::mem::take(object);
        Ok(match kind.as_str() {
            "text" => ContentBlock::Text(known(object)?),
            "image" => ContentBlock::Image(known(object)?),
            "tool_use" => ContentBlock::ToolUse(known(object)?),
            "server_tool_use" => ContentBlock::ServerToolUse(known(object)?),
            "tool_result" => ContentBlock::ToolResult(known(object)?),
            "thinking" => ContentBlock::Thinking(known(object)?),
            "redacted_thinking" => ContentBlock::RedactedThinking(known(object)?),
            _ => ContentBlock::Unknown(Value::Object(object)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_known_and_unknown_fields() {
        let raw = json!({"type":"tool_use","id":"t1","name":"get","input":{"a":1},"caller":{"type":"direct"}});
        let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
        let ContentBlock::ToolUse(tool) = &block else {
            panic!("{block:?}")
        };
        assert_eq!(tool.extra["caller"], json!({"type":"direct"}));
        assert_eq!(serde_json::to_value(&block).unwrap(), raw);
    }

    #[test]
    fn unknown_types_are_kept_verbatim() {
        let raw = json!({"type":"compaction","content":"x","nested":{"k":[1,2]}});
        let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(block.type_name(), "compaction");
        assert_eq!(serde_json::to_value(&block).unwrap(), raw);
    }

    #[test]
    fn malformed_known_block_is_an_error() {
        let raw = json!({"type":"text","text":5});
        assert!(serde_json::from_value::<ContentBlock>(raw).is_err());
        assert!(serde_json::from_value::<ContentBlock>(json!("text")).is_err());
    }
}
