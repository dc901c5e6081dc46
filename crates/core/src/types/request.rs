//! The request body of `POST /v1/messages`: [`MessageRequest`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CacheControl, ContentBlock, Extra, Role, ToolChoice, ToolDefinition};

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
#[non_exhaustive]
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
    /// Tools the model may call: your own and the API's server tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDefinition>,
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

    /// Adds a tool: a [`Tool`](super::Tool) of your own or a server tool
    /// ([`WebSearchTool`](super::WebSearchTool), …).
    pub fn tool(mut self, tool: impl Into<ToolDefinition>) -> Self {
        self.tools.push(tool.into());
        self
    }

    /// Puts a prompt-cache breakpoint on the last tool, so that every tool definition is
    /// cached (tools come first in the cached prefix). No effect without tools.
    ///
    /// The three `cache_*` methods cover the usual layout — stable tools, a long system
    /// prompt, a growing conversation; a breakpoint can also go on any block with
    /// [`ContentBlock::cache_control`] (at most four per request).
    ///
    /// ```
    /// use claude_kit_core::types::{CacheControl, CacheTtl, MessageRequest, Tool};
    /// use serde_json::json;
    ///
    /// let request = MessageRequest::new("claude-sonnet-4-5", 1024)
    ///     .tool(Tool::new("search", "Searches the manual", json!({"type": "object"})))
    ///     .system("You answer questions about a 300-page manual: …")
    ///     .user("How do I reset the device?")
    ///     .cache_tools(CacheControl::ephemeral().ttl(CacheTtl::OneHour))
    ///     .cache_system(CacheControl::ephemeral())
    ///     .cache_last_message(CacheControl::ephemeral());
    /// let json = serde_json::to_value(&request).unwrap();
    /// assert_eq!(json["tools"][0]["cache_control"], json!({"type": "ephemeral", "ttl": "1h"}));
    /// assert_eq!(json["system"], json!([{"type": "text", "text": "You answer questions about a 300-page manual: …",
    ///     "cache_control": {"type": "ephemeral"}}]));
    /// assert_eq!(json["messages"][0]["content"][0]["cache_control"], json!({"type": "ephemeral"}));
    /// ```
    pub fn cache_tools(mut self, cache_control: CacheControl) -> Self {
        if let Some(tool) = self.tools.last_mut() {
            tool.set_cache_control(cache_control);
        }
        self
    }

    /// Puts a prompt-cache breakpoint at the end of the system prompt (made a list of
    /// blocks if it was a string). No effect without a system prompt.
    pub fn cache_system(mut self, cache_control: CacheControl) -> Self {
        if let Some(system) = &mut self.system {
            system.set_cache_control(cache_control);
        }
        self
    }

    /// Puts a prompt-cache breakpoint at the end of the last message, so that the whole
    /// conversation so far is cached for the next turn. No effect without messages.
    pub fn cache_last_message(mut self, cache_control: CacheControl) -> Self {
        if let Some(message) = self.messages.last_mut() {
            message.content.set_cache_control(cache_control);
        }
        self
    }

    /// Sets nucleus sampling (`top_p`).
    pub fn top_p(mut self, top_p: f32) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// Sets top-k sampling (`top_k`).
    pub fn top_k(mut self, top_k: u32) -> Self {
        self.top_k = Some(top_k);
        self
    }

    /// Adds a sequence that stops generation (`stop_sequences`); the reply's `stop_reason`
    /// is then `stop_sequence`.
    pub fn stop_sequence(mut self, sequence: impl Into<String>) -> Self {
        self.stop_sequences.push(sequence.into());
        self
    }

    /// Sets how the model must use the tools.
    ///
    /// ```
    /// use claude_kit_core::types::{MessageRequest, ThinkingConfig, ToolChoice};
    /// use serde_json::json;
    ///
    /// let request = MessageRequest::new("claude-sonnet-4-5", 2048)
    ///     .user("What's the weather in Paris?")
    ///     .tool_choice(ToolChoice::tool("get_weather").disable_parallel_tool_use())
    ///     .thinking(ThinkingConfig::enabled(1024))
    ///     .top_k(40)
    ///     .stop_sequence("\n\nHuman:")
    ///     .metadata_user_id("user-42")
    ///     .service_tier("standard_only");
    /// let json = serde_json::to_value(&request).unwrap();
    /// assert_eq!(json["tool_choice"], json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}));
    /// assert_eq!(json["thinking"], json!({"type": "enabled", "budget_tokens": 1024}));
    /// assert_eq!(json["top_k"], 40);
    /// assert_eq!(json["stop_sequences"], json!(["\n\nHuman:"]));
    /// assert_eq!(json["metadata"], json!({"user_id": "user-42"}));
    /// assert_eq!(json["service_tier"], "standard_only");
    /// // And back: unknown fields included.
    /// let back: MessageRequest = serde_json::from_value(json).unwrap();
    /// assert_eq!(back, request);
    /// ```
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// Sets extended thinking.
    pub fn thinking(mut self, thinking: ThinkingConfig) -> Self {
        self.thinking = Some(thinking);
        self
    }

    /// Sets `metadata.user_id`: an opaque id of the end user (a hash or UUID, never a name
    /// or an address), which the API uses to detect abuse.
    pub fn metadata_user_id(mut self, user_id: impl Into<String>) -> Self {
        let mut metadata = match self.metadata.take() {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        metadata.insert("user_id".into(), Value::String(user_id.into()));
        self.metadata = Some(Value::Object(metadata));
        self
    }

    /// Sets `service_tier`: `auto` (priority capacity when available) or `standard_only`.
    pub fn service_tier(self, tier: impl Into<String>) -> Self {
        self.extra_field("service_tier", Value::String(tier.into()))
    }

    /// Asks for structured output: the reply's text is JSON matching `schema`
    /// (`output_format: {"type": "json_schema", "schema": …}`; the API may require the
    /// structured-outputs beta header, see [`RequestOptions::header`]).
    ///
    /// [`RequestOptions::header`]: https://docs.rs/claude-kit/latest/claude_kit/struct.RequestOptions.html#method.header
    ///
    /// ```
    /// use claude_kit_core::types::MessageRequest;
    /// use serde_json::json;
    ///
    /// let schema = json!({"type": "object", "properties": {"answer": {"type": "integer"}},
    ///     "required": ["answer"], "additionalProperties": false});
    /// let request = MessageRequest::new("claude-sonnet-4-5", 256)
    ///     .user("2 + 2?")
    ///     .json_schema_output(schema.clone());
    /// let json = serde_json::to_value(&request).unwrap();
    /// assert_eq!(json["output_format"], json!({"type": "json_schema", "schema": schema}));
    /// ```
    pub fn json_schema_output(self, schema: Value) -> Self {
        self.extra_field(
            "output_format",
            serde_json::json!({"type": "json_schema", "schema": schema}),
        )
    }

    /// Asks for structured output of type `T` (feature `schemars`): the schema is generated
    /// from `T` ([`crate::schema::output_schema`]); read the answer with
    /// [`Message::parse::<T>()`](super::Message::parse).
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub fn output_schema<T: schemars::JsonSchema>(self) -> Self {
        self.json_schema_output(crate::schema::output_schema::<T>())
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

impl MessageParam {
    /// A user turn.
    ///
    /// ```
    /// use claude_kit_core::types::{ContentBlock, MessageParam, MessageRequest, Role};
    ///
    /// let mut request = MessageRequest::new("claude-sonnet-4-5", 256);
    /// request.messages = vec![
    ///     MessageParam::user("Hi, I'm Ada."),
    ///     MessageParam::assistant("Hello Ada!"),
    ///     MessageParam::user(vec![ContentBlock::text("What is my name?")]),
    /// ];
    /// assert_eq!(request.messages[1].role, Role::Assistant);
    /// ```
    pub fn user(content: impl Into<Content>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant turn.
    pub fn assistant(content: impl Into<Content>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
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

impl Content {
    /// The content as blocks (a string becomes one `text` block).
    ///
    /// ```
    /// use claude_kit_core::types::Content;
    ///
    /// let blocks = Content::from("Hello").into_blocks();
    /// assert_eq!(blocks.len(), 1);
    /// assert_eq!(blocks[0].as_text(), Some("Hello"));
    /// ```
    pub fn into_blocks(self) -> Vec<ContentBlock> {
        match self {
            Content::Text(text) => vec![ContentBlock::text(text)],
            Content::Blocks(blocks) => blocks,
        }
    }

    /// Puts a prompt-cache breakpoint on the last block that can carry one (a string becomes
    /// one `text` block first); returns whether one could.
    pub fn set_cache_control(&mut self, cache_control: CacheControl) -> bool {
        if let Content::Text(text) = self {
            *self = Content::Blocks(vec![ContentBlock::text(std::mem::take(text))]);
        }
        let Content::Blocks(blocks) = self else {
            unreachable!("made blocks above")
        };
        blocks
            .iter_mut()
            .rev()
            .any(|block| block.set_cache_control(cache_control.clone()))
    }
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

/// Extended thinking configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ThinkingConfig {
    /// Think, with up to `budget_tokens` tokens.
    Enabled {
        /// The thinking budget; at least 1024 and less than `max_tokens`.
        budget_tokens: u32,
    },
    /// Do not think.
    Disabled,
    /// The model decides how much to think (`{"type": "adaptive"}`, on the models that
    /// support it).
    Adaptive,
}

impl ThinkingConfig {
    /// Thinking with up to `budget_tokens` tokens (at least 1,024, less than `max_tokens`).
    ///
    /// ```
    /// use claude_kit_core::types::ThinkingConfig;
    /// use serde_json::json;
    ///
    /// assert_eq!(serde_json::to_value(ThinkingConfig::enabled(2048)).unwrap(),
    ///     json!({"type": "enabled", "budget_tokens": 2048}));
    /// assert_eq!(serde_json::to_value(ThinkingConfig::Adaptive).unwrap(), json!({"type": "adaptive"}));
    /// assert_eq!(serde_json::to_value(ThinkingConfig::Disabled).unwrap(), json!({"type": "disabled"}));
    /// ```
    pub fn enabled(budget_tokens: u32) -> Self {
        ThinkingConfig::Enabled { budget_tokens }
    }
}
