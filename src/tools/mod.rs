//! Tools the model can call: typed async Rust functions ([`ToolFn`]) in a [`Toolbox`], and
//! the [`ToolRunner`] that loops model → tool calls → `tool_result` → model until the model
//! is done.
//!
//! ```
//! # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
//! # claude_kit::rt::block_on(async {
//! # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
//! use claude_kit::MessageRequest;
//! use claude_kit::tools::{ToolError, ToolFn, ToolRunner, Toolbox};
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
//! let runner = ToolRunner::new(client, Toolbox::new().with(weather)).max_turns(5);
//! let outcome = runner
//!     .run(MessageRequest::new("claude-sonnet-4-5", 1024).user("Weather in Paris?"))
//!     .await?;
//! println!("{} ({} turns)", outcome.final_message.text(), outcome.turns);
//! # Ok::<_, claude_kit::Error>(()) }).unwrap();
//! ```
//!
//! Tool failures never end a run: an `Err` from a tool, input that does not deserialize into
//! the tool's input type, a panicking tool, an unknown tool name and a call vetoed by a hook
//! are all answered to the model as a `tool_result` with `is_error: true` and the error text.

//!
//! The vocabulary is `claude_kit_core::agent`, shared by both backends; [`ToolRunner`] is the
//! Messages API backend's loop (`claude_kit_api`). A [`Session`](crate::session::Session) runs
//! it on its next turn with [`Session::run_tools`](crate::session::Session::run_tools).

#[cfg(feature = "backend-api")]
pub use claude_kit_api::ToolRunner;
pub use claude_kit_core::agent::{
    AgentEvent, AgentOutcome, AgentStream, HookDecision, ToolCall, ToolError, ToolFn, ToolOutput,
    Toolbox,
};
