//! The CLI's requests: one handler task each, answering `can_use_tool`, `hook_callback` and
//! `mcp_message` from the session's callbacks (and any other subtype with an error).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use claude_kit_core::Result;
use claude_kit_core::code::mcp::McpBridge;
use futures_util::future::FutureExt;
use serde_json::Value;

use super::shared::{Shared, lock, write_line};
use crate::callbacks::{CanUseTool, HookCallback, HookInput, PermissionRequest};

/// The callbacks a CLI request may need.
pub(super) struct Callbacks {
    pub(super) can_use_tool: Option<CanUseTool>,
    pub(super) hooks: Vec<HookCallback>,
    pub(super) mcp: McpBridge,
}

/// Answers one CLI request, unless it is cancelled first.
pub(super) async fn handle(
    shared: Arc<Shared>,
    callbacks: Arc<Callbacks>,
    id: String,
    request: Value,
) {
    let answer = AssertUnwindSafe(answer(&callbacks, request))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err("the callback panicked".to_owned()));
    let line = {
        let mut control = lock(&shared.control);
        if let Some(task) = control.handlers.remove(&id) {
            task.detach();
        }
        control.channel.answer(&id, answer)
    };
    if let Some(line) = line {
        let _ = write_line(&shared, &line).await;
    }
}

pub(super) async fn answer(callbacks: &Callbacks, request: Value) -> Result<Value, String> {
    let subtype = request
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match subtype {
        "can_use_tool" => {
            let Some(callback) = &callbacks.can_use_tool else {
                return Err("canUseTool callback is not provided".into());
            };
            let request = PermissionRequest::from_wire(&request);
            let input = request.input.clone();
            let tool = request.tool_name.clone();
            let wire = callback.call(request).await.to_wire(&input);
            let behavior = wire.get("behavior").and_then(Value::as_str).unwrap_or("");
            crate::trace::permission(&tool, behavior);
            Ok(wire)
        }
        "hook_callback" => {
            let id = request
                .get("callback_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let callback = id
                .strip_prefix("hook_")
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| callbacks.hooks.get(n))
                .ok_or_else(|| format!("No hook callback found for ID: {id}"))?;
            let input = HookInput::from_wire(&request);
            let event = input.event.clone();
            let output = callback.call(input).await;
            crate::trace::hook(&event, output.permission_decision.as_deref());
            Ok(output.to_wire(&event))
        }
        "mcp_message" => {
            let server = request.get("server_name").and_then(Value::as_str);
            let message = request.get("message").filter(|m| m.is_object());
            match (server, message) {
                (Some(server), Some(message)) => {
                    Ok(callbacks.mcp.handle(server, message.clone()).await)
                }
                _ => Err("Missing server_name or message for MCP request".into()),
            }
        }
        other => Err(format!("Unsupported control request subtype: {other}")),
    }
}
