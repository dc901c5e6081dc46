//! Serde models of the Anthropic Messages API.
//!
//! Forward compatible by construction: a content block of a type this version does not know
//! deserialises into [`ContentBlock::Unknown`] holding its raw JSON, and every known object
//! keeps fields it does not know in an `extra` map. Nothing the API sends is dropped, and
//! serialising a value gives back what was received.

mod cache;
mod content;
mod message;
mod request;
mod source;
mod stream;
mod tool;
pub(crate) mod with_extra;

pub use cache::{CacheControl, CacheTtl};
pub use content::{
    ContentBlock, DocumentBlock, ImageBlock, RedactedThinkingBlock, SearchResultBlock,
    ServerToolResultBlock, TextBlock, ThinkingBlock, ToolResultBlock, ToolUseBlock,
};
pub use message::{Message, Role, StopReason, Usage};
pub use request::{Content, MessageParam, MessageRequest, ThinkingConfig};
pub use source::{CitationsConfig, Source};
pub use stream::{ContentDelta, MessageDelta, MessageDeltaUsage, StreamError, StreamEvent};
pub use tool::{
    CodeExecutionTool, Tool, ToolChoice, ToolDefinition, UserLocation, WebFetchTool, WebSearchTool,
};

/// Fields of an object that this version of the SDK does not model, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;
