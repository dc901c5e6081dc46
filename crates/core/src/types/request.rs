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

impl ToolChoice {
    /// The model decides whether to call a tool.
    pub fn auto() -> Self {
        ToolChoice::Auto {
            disable_parallel_tool_use: None,
        }
    }

    /// The model must call one of the tools.
    pub fn any() -> Self {
        ToolChoice::Any {
            disable_parallel_tool_use: None,
        }
    }

    /// The model must call the tool `name`.
    pub fn tool(name: impl Into<String>) -> Self {
        ToolChoice::Tool {
            name: name.into(),
            disable_parallel_tool_use: None,
        }
    }

    /// The model may not call tools.
    pub fn none() -> Self {
        ToolChoice::None
    }

    /// At most one tool call per turn (no effect on [`ToolChoice::None`]).
    ///
    /// ```
    /// use claude_kit_core::types::ToolChoice;
    ///
    /// let json = serde_json::to_value(ToolChoice::any().disable_parallel_tool_use()).unwrap();
    /// assert_eq!(json, serde_json::json!({"type": "any", "disable_parallel_tool_use": true}));
    /// assert_eq!(serde_json::to_value(ToolChoice::none()).unwrap(), serde_json::json!({"type": "none"}));
    /// ```
    pub fn disable_parallel_tool_use(mut self) -> Self {
        match &mut self {
            ToolChoice::Auto {
                disable_parallel_tool_use,
            }
            | ToolChoice::Any {
                disable_parallel_tool_use,
            }
            | ToolChoice::Tool {
                disable_parallel_tool_use,
                ..
            } => *disable_parallel_tool_use = Some(true),
            ToolChoice::None => {}
        }
        self
    }
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
