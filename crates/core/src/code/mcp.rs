//! In-process MCP servers: a [`Toolbox`] served to Claude Code over the control protocol.
//!
//! With an SDK MCP server configured (`--mcp-config {"mcpServers":{N:{"type":"sdk","name":N}}}`),
//! the CLI sends its JSON-RPC messages inside `mcp_message` control requests and expects the
//! reply as `{"mcp_response": …}`: `initialize`, `notifications/initialized`, `tools/list`,
//! `tools/call`. [`McpBridge`] answers them from the toolboxes it holds — the same `ToolFn`s
//! the Messages API tool runner calls — so one tool definition serves both backends. It does
//! no I/O; a `tools/call` answer is a future the driver awaits (in its own task, so a slow
//! tool never blocks the reader).
//!
//! ```
//! use claude_kit_core::agent::{ToolError, ToolFn, Toolbox};
//! use claude_kit_core::code::mcp::McpBridge;
//! use serde_json::json;
//!
//! let add = ToolFn::new("add", "Adds", json!({"type": "object"}), |v: serde_json::Value| async move {
//!     Ok::<_, ToolError>(format!("sum={}", v["a"].as_i64().unwrap() + v["b"].as_i64().unwrap()))
//! });
//! let bridge = McpBridge::new().server("calc", Toolbox::new().with(add));
//! let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
//!     "params": {"name": "add", "arguments": {"a": 2, "b": 3}}});
//! let answer = futures::executor::block_on(bridge.handle("calc", call));
//! assert_eq!(answer["mcp_response"]["result"]["content"][0]["text"], "sum=5");
//! assert_eq!(answer["mcp_response"]["result"]["isError"], false);
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use crate::agent::{ToolCall, Toolbox};

/// The MCP protocol version answered to `initialize`, as the CLI 2.1 negotiates it.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// JSON-RPC "method not found" (an unknown method or server).
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC "invalid params" (a `tools/call` without a tool name).
pub const INVALID_PARAMS: i64 = -32602;

/// In-process MCP servers by name, each a [`Toolbox`]. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct McpBridge {
    servers: HashMap<String, Arc<Toolbox>>,
}

impl McpBridge {
    /// No servers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the server `name` serving `toolbox`.
    #[must_use]
    pub fn server(mut self, name: impl Into<String>, toolbox: Toolbox) -> Self {
        self.servers.insert(name.into(), Arc::new(toolbox));
        self
    }

    /// The server names, sorted (for the CLI's `--mcp-config`).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.servers.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Whether no server is configured.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The answer to one `mcp_message` request (`server_name` and its JSON-RPC `message`):
    /// the `{"mcp_response": …}` object to send back as the control response. Only
    /// `tools/call` awaits anything (the tool); every other answer is ready at once.
    pub fn handle(&self, server_name: &str, message: Value) -> BoxFuture<'static, Value> {
        let id = message.get("id").cloned();
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some(toolbox) = self.servers.get(server_name).cloned() else {
            let reply = error(
                id,
                METHOD_NOT_FOUND,
                &format!("no in-process MCP server named {server_name:?}"),
            );
            return Box::pin(std::future::ready(wrap(reply)));
        };
        let ready = |reply: Value| -> BoxFuture<'static, Value> {
            Box::pin(std::future::ready(wrap(reply)))
        };
        match method.as_str() {
            "initialize" => ready(success(
                id,
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": server_name, "version": env!("CARGO_PKG_VERSION")},
                }),
            )),
            "tools/list" => {
                let tools: Vec<Value> = toolbox
                    .definitions()
                    .into_iter()
                    .map(|tool| {
                        json!({
                            "name": tool.name,
                            "description": tool.description.unwrap_or_default(),
                            "inputSchema": tool.input_schema,
                        })
                    })
                    .collect();
                ready(success(id, json!({ "tools": tools })))
            }
            "tools/call" => {
                let params = message.get("params").cloned().unwrap_or(Value::Null);
                let Some(name) = params.get("name").and_then(Value::as_str) else {
                    return ready(error(id, INVALID_PARAMS, "tools/call without a tool name"));
                };
                let call = ToolCall {
                    id: params
                        .pointer("/_meta/claudecode~1toolUseId")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    name: name.to_owned(),
                    input: params.get("arguments").cloned().unwrap_or(json!({})),
                };
                let output = toolbox.call(&call);
                Box::pin(async move {
                    let output = output.await;
                    wrap(success(
                        id,
                        json!({
                            "content": [{"type": "text", "text": output.content}],
                            "isError": output.is_error,
                        }),
                    ))
                })
            }
            "ping" => ready(success(id, json!({}))),
            notification if notification.starts_with("notifications/") || id.is_none() => {
                // Notifications want no JSON-RPC reply, but the control request wants an
                // answer: the CLI takes an empty result.
                ready(json!({"jsonrpc": "2.0", "result": {}}))
            }
            other => ready(error(
                id,
                METHOD_NOT_FOUND,
                &format!("method not found: {other}"),
            )),
        }
    }
}

fn success(id: Option<Value>, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id.unwrap_or(Value::Null), "result": result})
}

fn error(id: Option<Value>, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id.unwrap_or(Value::Null),
        "error": {"code": code, "message": message}})
}

fn wrap(reply: Value) -> Value {
    json!({ "mcp_response": reply })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{ToolError, ToolFn};
    use futures::executor::block_on;

    fn bridge() -> McpBridge {
        let echo = ToolFn::new(
            "echo",
            "Echoes its input",
            json!({"type": "object", "properties": {"x": {"type": "string"}}}),
            |v: Value| async move { Ok::<_, ToolError>(v) },
        );
        let fail = ToolFn::new(
            "fail",
            "Always fails",
            json!({"type": "object"}),
            |_: Value| async move { Err::<String, _>(ToolError::new("no luck")) },
        );
        McpBridge::new().server("kit", Toolbox::new().with(echo).with(fail))
    }

    fn ask(bridge: &McpBridge, server: &str, message: Value) -> Value {
        block_on(bridge.handle(server, message))["mcp_response"].clone()
    }

    #[test]
    fn initialize_and_list_tools() {
        let bridge = bridge();
        let init = ask(
            &bridge,
            "kit",
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}),
        );
        assert_eq!(init["id"], 0);
        assert_eq!(init["result"]["protocolVersion"], PROTOCOL_VERSION);
        assert_eq!(init["result"]["serverInfo"]["name"], "kit");
        let list = ask(
            &bridge,
            "kit",
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        );
        let names: Vec<&str> = list["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["echo", "fail"]);
        assert_eq!(list["result"]["tools"][0]["inputSchema"]["type"], "object");
        assert_eq!(bridge.names(), ["kit"]);
    }

    #[test]
    fn calls_return_text_and_errors_as_results() {
        let bridge = bridge();
        let call = |name: &str| {
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": name, "arguments": {"x": "hi"},
                "_meta": {"claudecode/toolUseId": "toolu_1", "progressToken": 2}}})
        };
        let ok = ask(&bridge, "kit", call("echo"));
        assert_eq!(ok["id"], 2);
        assert_eq!(ok["result"]["isError"], false);
        let text = ok["result"]["content"][0]["text"].as_str().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            json!({"x": "hi"})
        );
        let failed = ask(&bridge, "kit", call("fail"));
        assert_eq!(failed["result"]["isError"], true);
        assert_eq!(failed["result"]["content"][0]["text"], "no luck");
        let unknown = ask(&bridge, "kit", call("nope"));
        assert_eq!(unknown["result"]["isError"], true);
        let nameless = ask(
            &bridge,
            "kit",
            json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {}}),
        );
        assert_eq!(nameless["error"]["code"], INVALID_PARAMS);
    }

    #[test]
    fn notifications_unknown_methods_and_servers() {
        let bridge = bridge();
        let note = ask(
            &bridge,
            "kit",
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        );
        assert_eq!(note, json!({"jsonrpc": "2.0", "result": {}}));
        let unknown = ask(
            &bridge,
            "kit",
            json!({"jsonrpc": "2.0", "id": 9, "method": "resources/list"}),
        );
        assert_eq!(unknown["error"]["code"], METHOD_NOT_FOUND);
        assert_eq!(unknown["id"], 9);
        let elsewhere = ask(
            &bridge,
            "other",
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        );
        assert_eq!(elsewhere["error"]["code"], METHOD_NOT_FOUND);
        assert_eq!(
            ask(
                &bridge,
                "kit",
                json!({"jsonrpc": "2.0", "id": 5, "method": "ping"})
            )["result"],
            json!({})
        );
    }
}
