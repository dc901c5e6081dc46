//! What a tool loop reports: [`HookDecision`] (a hook's verdict on a call), [`AgentEvent`]s
//! as a run goes, and its [`AgentOutcome`].

use std::pin::Pin;

use futures_core::Stream;
use serde_json::Value;

use crate::Result;
use crate::types::{Message, MessageParam, Usage};

/// What a before-tool hook (such as the API backend's `ToolRunner::before_tool`) decides
/// about a call.
#[derive(Debug, Clone, PartialEq)]
pub enum HookDecision {
    /// Run the tool with the model's input.
    Allow,
    /// Do not run the tool; answer the model with this reason as an error result.
    Deny(String),
    /// Run the tool with this input instead.
    Rewrite(Value),
}

/// What happens during a run of a tool loop, in order (`ToolRunner::run_stream`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AgentEvent {
    /// Text of the model's reply, as it is generated.
    TextDelta(String),
    /// The model asked for a tool call (the input as the model wrote it, before hooks).
    ToolCall {
        /// The `tool_use` id.
        id: String,
        /// The tool's name.
        name: String,
        /// The input.
        input: serde_json::Value,
    },
    /// A tool call's result, as sent back to the model (after the hooks). The results of one
    /// turn come once all its calls finished, in the order of the `tool_use` blocks.
    ToolResult {
        /// The `tool_use` id it answers.
        id: String,
        /// The result text.
        content: String,
        /// Whether it is an error.
        is_error: bool,
    },
    /// A model turn is complete (the assistant message, `tool_use` blocks included).
    TurnComplete(Message),
    /// The run is over: the model's last message. Always the last event of a run that did
    /// not fail.
    Finished(Message),
}

/// The result of a tool loop (`ToolRunner::run`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AgentOutcome {
    /// The model's last message: its answer, or, when `max_turns_reached`, the message that
    /// still asked for tools.
    pub final_message: Message,
    /// The whole transcript: the request's messages, then every assistant turn and every
    /// user turn of tool results, ending with `final_message` as an assistant turn.
    pub messages: Vec<MessageParam>,
    /// How many model calls the run made.
    pub turns: usize,
    /// Tokens summed over every model call of the run.
    pub usage: Usage,
    /// The run stopped because it made `max_turns` model calls and the last one still asked
    /// for tools. Those calls were not run; the transcript ends with the assistant turn that
    /// asked for them (answer them before sending it again).
    pub max_turns_reached: bool,
}

impl AgentOutcome {
    /// The outcome of a run that made `turns` model calls and ended with `final_message`.
    pub fn new(
        final_message: Message,
        messages: Vec<MessageParam>,
        turns: usize,
        usage: Usage,
        max_turns_reached: bool,
    ) -> Self {
        Self {
            final_message,
            messages,
            turns,
            usage,
            max_turns_reached,
        }
    }
}

/// The stream of a tool loop (`ToolRunner::run_stream`). Dropping it cancels the run, tool
/// calls in flight included.
pub type AgentStream = Pin<Box<dyn Stream<Item = Result<AgentEvent>> + Send + 'static>>;
