//! The request body of `POST /v1/messages`: [`MessageRequest`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ContentBlock, Extra, Role};

/// A request to create a message.
///
/// ```
/// use claude_kit_core::types::MessageRequest;
///
/// let request = MessageRequest::new("claude-sonnet-4-5", 1024)
///     .system("Answer in one word.")
///     .user("What colour is the sky?");
/// let json = serde_json::to_value(&request).unwrap();
/// assert_eq!(json["messages"][0]["content"], "What colour is the sky?");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRequest {
    /// The model, e.g. `claude-sonnet-4-5`.
    pub model: String,
    /// The most tokens the reply may have.
    pub max_tokens: u32,
    /// The conversation so far, alternating user and assistant turns.
    pub messages: Vec<MessageParam>,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Content>,
    /// Sampling temperature, 0.0 to 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Sequences that stop generation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    /// Stream the reply as server-sent events. The client sets this for you.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// How the model must use the tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Extended thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingConfig>,
    /// Request metadata (e.g. `{"user_id": "…"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Any other body field, sent as it is (for parameters newer than this SDK).
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessageRequest {
    /// A request for `model` with room for `max_tokens` output tokens and no messages yet.
    pub fn new(model: impl Into<String>, max_tokens: u32) -> Self {
        Self {
            model: model.into(),
            max_tokens,
            messages: Vec::new(),
            system: None,
            temperature: None,
            top_p: None,
            top_k: None,
            stop_sequences: Vec::new(),
            stream: None,
            tools: Vec::new(),
            tool_choice: None,
            thinking: None,
            metadata: None,
            extra: Extra::new(),
        }
    }

    /// Appends a user turn.
    pub fn user(mut self, content: impl Into<Content>) -> Self {
        self.messages.push(MessageParam {
            role: Role::User,
            content: content.into(),
        });
        self
    }

    /// Appends an assistant turn (a prefill, or an earlier reply).
    pub fn assistant(mut self, content: impl Into<Content>) -> Self {
        self.messages.push(MessageParam {
            role: Role::Assistant,
            content: content.into(),
        });
        self
    }

    /// Sets the system prompt.
    pub fn system(mut self, system: impl Into<Content>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Sets the sampling temperature.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Sets a body field this type does not model.
    pub fn extra_field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageParam {
    /// Who wrote it.
    pub role: Role,
    /// What was written.
    pub content: Content,
}

/// Message or system content: a plain string, or a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// A plain string (one text block).
    Text(String),
    /// Content blocks.
    Blocks(Vec<ContentBlock>),
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Content::Text(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::Text(text.to_owned())
    }
}

impl From<Vec<ContentBlock>> for Content {
    fn from(blocks: Vec<ContentBlock>) -> Self {
        Content::Blocks(blocks)
    }
}

/// A tool definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The name the model calls it by.
    pub name: String,
    /// What it does and when to use it: the model reads this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the input object.
    pub input_schema: Value,
    /// Other fields (e.g. `cache_control`, or a server tool's `type`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// How the model must use the tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto {
        /// Allow at most one tool call per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    /// The model must call some tool.
    Any {
        /// Allow at most one tool call per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    /// The model must call this tool.
    Tool {
        /// The tool.
        name: String,
        /// Allow at most one tool call per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    /// The model may not call tools.
    None,
}

/// Extended thinking configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingConfig {
    /// Think, with up to `budget_tokens` tokens.
    Enabled {
        /// The thinking budget; at least 1024 and less than `max_tokens`.
        budget_tokens: u32,
    },
    /// Do not think.
    Disabled,
}
