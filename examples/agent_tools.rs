//! Claude Code with callbacks into this process: a permission callback that allows one tool
//! and denies another, a `PreToolUse` hook, and an in-process MCP tool — a Rust `ToolFn`, the
//! same type the Messages API backend's tool runner runs.
//!
//! ```text
//! cargo run --example agent_tools           # offline: the CLI talks to an embedded mock
//! ```

mod support;

use std::sync::{Arc, Mutex};

use claude_kit::code::{
    CanUseTool, HookCallback, HookEvent, HookMatcher, HookOutput, Message, PermissionDecision,
    query,
};
use claude_kit::tools::{ToolError, ToolFn, Toolbox};
use futures_util::StreamExt;
use serde_json::json;

#[derive(serde::Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

fn main() {
    claude_kit::rt::block_on(async {
        let (options, mock) = support::code_options();
        let calculator = Toolbox::new().with(ToolFn::new(
            "add",
            "Adds two integers",
            json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"]}),
            |input: Add| async move { Ok::<_, ToolError>(format!("sum={}", input.a + input.b)) },
        ));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let permission = CanUseTool::new(move |request| {
            log.lock().unwrap().push(request.tool_name.clone());
            async move {
                if request.tool_name == "Write" {
                    PermissionDecision::deny("writing files is not allowed in this example")
                } else {
                    PermissionDecision::allow()
                }
            }
        });
        let hooked = Arc::new(Mutex::new(Vec::new()));
        let hook_log = hooked.clone();
        let hook = HookCallback::new(move |input| {
            hook_log
                .lock()
                .unwrap()
                .push(input.tool_name.clone().unwrap_or_default());
            async move { HookOutput::default() }
        });
        let options = options
            .sdk_mcp_server("calc", calculator)
            .allowed_tools(["mcp__calc__add"])
            .can_use_tool(permission)
            .hook(HookEvent::PreToolUse, HookMatcher::new(None).callback(hook))
            .max_turns(6);
        let target = std::env::temp_dir().join("claude-kit-agent-tools.txt");
        let prompt = if mock.is_some() {
            format!(
                r#"[[tool:mcp__calc__add {{"a": 2, "b": 3}}]] [[tool:Write {{"file_path": "{}", "content": "hi"}}]]"#,
                target.display()
            )
        } else {
            format!(
                "Use the add tool to add 2 and 3, then try to write 'hi' to {}.",
                target.display()
            )
        };
        let mut messages = query(prompt, options);
        while let Some(message) = messages.next().await {
            match message.unwrap_or_else(|e| support::fail(e)) {
                Message::Assistant(reply) => {
                    for block in &reply.message.content {
                        if let claude_kit::ContentBlock::ToolUse(call) = block {
                            println!("tool call: {} {}", call.name, call.input);
                        }
                    }
                }
                Message::Result(result) => println!(
                    "result: {}",
                    result.result.unwrap_or_default().replace('\n', " ")
                ),
                _ => {}
            }
        }
        println!("permission asked for: {:?}", asked.lock().unwrap());
        println!("PreToolUse hook saw: {:?}", hooked.lock().unwrap());
    });
}
