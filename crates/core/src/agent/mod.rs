//! The agent vocabulary both backends share: tools the model can call, typed async Rust
//! functions ([`ToolFn`]) in a [`Toolbox`]; the tool call and its result ([`ToolCall`],
//! [`ToolOutput`], [`ToolError`]); a hook's verdict ([`HookDecision`]); and what a run of a
//! tool loop reports ([`AgentEvent`], [`AgentOutcome`], [`AgentStream`]).
//!
//! The loops themselves live with their backends: the Messages API backend's `ToolRunner`
//! (model → tool calls → `tool_result` → model until the model is done) and the Claude Code
//! backend, which serves the same [`Toolbox`] to the CLI.
//!
//! ```
//! use claude_kit_core::agent::{ToolCall, ToolError, ToolFn, Toolbox};
//! use serde::Deserialize;
//! use serde_json::json;
//!
//! #[derive(Deserialize)]
//! struct WeatherInput {
//!     city: String,
//! }
//!
//! let weather = ToolFn::new(
//!     "get_weather",
//!     "The current weather in a city",
//!     // A hand-written JSON schema; `serde_json::to_value(schemars::schema_for!(WeatherInput))`
//!     // works just as well.
//!     json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
//!     |input: WeatherInput| async move {
//!         if input.city.is_empty() {
//!             return Err(ToolError::new("no city given")); // sent back with is_error: true
//!         }
//!         Ok(format!("Sunny in {}", input.city))
//!     },
//! );
//! let toolbox = Toolbox::new().with(weather);
//! let call = ToolCall { id: "toolu_1".into(), name: "get_weather".into(), input: json!({"city": "Paris"}) };
//! let output = futures::executor::block_on(toolbox.call(&call));
//! assert_eq!(output.content, "Sunny in Paris");
//! ```
//!
//! Tool failures never end a run: an `Err` from a tool, input that does not deserialize into
//! the tool's input type, a panicking tool, an unknown tool name and a call vetoed by a hook
//! are all answered to the model as a `tool_result` with `is_error: true` and the error text.

mod event;
mod tool;
mod toolbox;

pub use event::{AgentEvent, AgentOutcome, AgentStream, HookDecision};
pub use tool::{ToolCall, ToolError, ToolFn, ToolOutput};
pub use toolbox::Toolbox;
