//! Serde models of the Anthropic Messages API.
//!
//! Forward compatible by construction: a content block of a type this version does not know
//! deserialises into [`ContentBlock::Unknown`] holding its raw JSON, and every known object
//! keeps fields it does not know in an `extra` map. Nothing the API sends is dropped, and
//! serialising a value gives back what was received.

mod content;
mod message;
mod request;
mod stream;

pub use content::{
    ContentBlock, ImageBlock, RedactedThinkingBlock, TextBlock, ThinkingBlock, ToolResultBlock,
    ToolUseBlock,
};
pub use message::{Message, Role, StopReason, Usage};
pub use request::{Content, MessageParam, MessageRequest, ThinkingConfig, Tool, ToolChoice};
pub use stream::{ContentDelta, MessageDelta, MessageDeltaUsage, StreamError, StreamEvent};

/// Fields of an object that this version of the SDK does not model, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;
