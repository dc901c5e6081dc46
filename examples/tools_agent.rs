//! A tools agent: two typed async tools (`get_weather`, `get_time`), run by
//! [`ToolRunner`](claude_kit::tools::ToolRunner) until the model answers, printing every
//! agent event on the way.
//!
//! ```text
//! cargo run --example tools_agent                      # offline, embedded mock server
//! ANTHROPIC_API_KEY=sk-ant-... cargo run --example tools_agent   # the real API
//! ```
//!
//! Offline, the mock's default model calls the first tool offered (both at once here: the
//! `x-mock-parallel-tools: 2` header), then answers "The tool said: …".

mod support;

use claude_kit::MessageRequest;
use claude_kit::tools::{AgentEvent, HookDecision, ToolError, ToolFn, ToolRunner, Toolbox};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize)]
struct WeatherInput {
    city: String,
}

#[derive(Serialize)]
struct Weather {
    city: String,
    forecast: &'static str,
    celsius: i32,
}

#[derive(Deserialize)]
struct TimeInput {
    timezone: String,
}

fn toolbox() -> Toolbox {
    let weather = ToolFn::new(
        "get_weather",
        "The current weather in a city",
        // Hand-written; `serde_json::to_value(schemars::schema_for!(WeatherInput))` works too.
        json!({
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"]
        }),
        |input: WeatherInput| async move {
            Ok::<_, ToolError>(Weather {
                city: input.city,
                forecast: "sunny",
                celsius: 21,
            })
        },
    );
    let time = ToolFn::new(
        "get_time",
        "The current time in an IANA timezone",
        json!({
            "type": "object",
            "properties": {"timezone": {"type": "string", "description": "e.g. Europe/Paris"}},
            "required": ["timezone"]
        }),
        |input: TimeInput| async move {
            if input.timezone.is_empty() {
                return Err(ToolError::new("no timezone given"));
            }
            Ok(format!("12:00 in {}", input.timezone))
        },
    );
    Toolbox::new().with(weather).with(time)
}

fn main() {
    claude_kit::rt::block_on(async {
        let (client, mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let agent_client = if mock.is_some() {
            let options = claude_kit::RequestOptions::new().header("x-mock-parallel-tools", "2");
            client
                .with_options(options)
                .unwrap_or_else(|e| support::fail(e))
        } else {
            client.clone()
        };
        let runner = ToolRunner::new(agent_client, toolbox())
            .max_turns(5)
            .max_parallel_tools(4)
            // A veto point for every call: deny, allow, or rewrite the input.
            .before_tool(|call| match call.name.as_str() {
                "get_weather" | "get_time" => HookDecision::Allow,
                other => HookDecision::Deny(format!("{other} is not allowed here")),
            });
        let request = MessageRequest::new(client.model(), 1024)
            .user("What's the weather in Paris, and what time is it there?");

        let mut events = runner.run_stream(request);
        while let Some(event) = events.next().await {
            match event.unwrap_or_else(|e| support::fail(e)) {
                AgentEvent::TextDelta(text) => print!("{text}"),
                AgentEvent::ToolCall { id, name, input } => {
                    println!("[tool call {id}] {name}({input})")
                }
                AgentEvent::ToolResult {
                    id,
                    content,
                    is_error,
                } => println!("[tool result {id}] error={is_error}: {content}"),
                AgentEvent::TurnComplete(message) => {
                    println!("\n[turn complete: {:?}]", message.stop_reason)
                }
                AgentEvent::Finished(message) => println!("final answer: {}", message.text()),
                _ => {}
            }
        }
        client.close().await;
    });
}
