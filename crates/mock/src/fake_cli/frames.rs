//! The shapes of the fake CLI's frames, ids and placeholders.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::VERSION;

/// The model reported when none was given (`--model` or `set_model`).
pub(super) const DEFAULT_MODEL: &str = "claude-sonnet-4-5-20250929";

/// The tools listed in `system/init` when `--tools` was not given.
const DEFAULT_TOOLS: &[&str] = &[
    "Task",
    "Bash",
    "Glob",
    "Grep",
    "Read",
    "Edit",
    "Write",
    "WebFetch",
    "TodoWrite",
];

/// Generates uuid-like ids (version 4 layout) from a per-process seed; no randomness needed.
pub(super) struct Ids {
    seed: u64,
    next: AtomicU64,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Ids {
    pub(super) fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Ids {
            seed: splitmix(nanos ^ (u64::from(std::process::id()) << 32)),
            next: AtomicU64::new(0),
        }
    }

    fn number(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh uuid-like id (`8-4-4-4-12` hex digits).
    pub(super) fn uuid(&self) -> String {
        let n = self.number();
        let a = splitmix(self.seed ^ n.wrapping_mul(2));
        let b = splitmix(self.seed ^ n.wrapping_mul(2).wrapping_add(1));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// A fresh assistant message id.
    pub(super) fn message_id(&self) -> String {
        let hex: String = self.uuid().chars().filter(|c| *c != '-').take(24).collect();
        format!("msg_fake_{hex}")
    }
}

/// What `system/init` and the shortcuts report, fixed at start from argv and the environment.
pub(super) struct Info {
    pub(super) session_id: String,
    pub(super) pid: u32,
    pub(super) cwd: String,
    pub(super) tools: Vec<String>,
    pub(super) mcp_servers: Vec<String>,
    pub(super) api_key_source: &'static str,
}

/// The value of `--name value` or `--name=value` in `args` (the first one given).
pub(super) fn flag(args: &[String], name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == name {
            return iter.next().cloned();
        }
        if let Some(value) = arg.strip_prefix(&prefix) {
            return Some(value.to_owned());
        }
    }
    None
}

impl Info {
    pub(super) fn from_args(args: &[String], ids: &Ids) -> Self {
        let session_id = flag(args, "--session-id")
            .or_else(|| flag(args, "--resume"))
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| ids.uuid());
        let tools = match flag(args, "--tools") {
            Some(list) if list == "default" => {
                DEFAULT_TOOLS.iter().map(|t| t.to_string()).collect()
            }
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            None => DEFAULT_TOOLS.iter().map(|t| t.to_string()).collect(),
        };
        let mcp_servers = flag(args, "--mcp-config")
            .and_then(|config| {
                let text = if config.trim_start().starts_with('{') {
                    config
                } else {
                    std::fs::read_to_string(&config).ok()?
                };
                let value: Value = serde_json::from_str(&text).ok()?;
                Some(
                    value
                        .get("mcpServers")?
                        .as_object()?
                        .keys()
                        .cloned()
                        .collect(),
                )
            })
            .unwrap_or_default();
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let api_key_source = if std::env::var_os("ANTHROPIC_API_KEY").is_some() {
            "ANTHROPIC_API_KEY"
        } else {
            "none"
        };
        Info {
            session_id,
            pid: std::process::id(),
            cwd,
            tools,
            mcp_servers,
            api_key_source,
        }
    }
}

/// Merges the fields of `fields` (when an object) into `frame`; a `null` field removes the key
/// when `null_removes`.
pub(super) fn merge(frame: &mut Value, fields: &Value, null_removes: bool) {
    let (Some(frame), Some(fields)) = (frame.as_object_mut(), fields.as_object()) else {
        return;
    };
    for (key, value) in fields {
        if value.is_null() && null_removes {
            frame.remove(key);
        } else {
            frame.insert(key.clone(), value.clone());
        }
    }
}

/// The values of the placeholders.
pub(super) struct Placeholders<'a> {
    pub(super) prompt: &'a str,
    pub(super) session_id: &'a str,
    pub(super) turn: u64,
    pub(super) pid: u32,
}

impl Placeholders<'_> {
    /// `text` with `{{prompt}}`, `{{session_id}}`, `{{turn}}`, `{{pid}}` replaced (one pass:
    /// replaced text is not scanned again; unknown `{{…}}` are kept).
    pub(super) fn string(&self, text: &str) -> String {
        if !text.contains("{{") {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return out;
            };
            match &after[..end] {
                "prompt" => out.push_str(self.prompt),
                "session_id" => out.push_str(self.session_id),
                "turn" => out.push_str(&self.turn.to_string()),
                "pid" => out.push_str(&self.pid.to_string()),
                _ => {
                    out.push_str("{{");
                    rest = after;
                    continue;
                }
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// `value` with the placeholders replaced in every string (not in object keys).
    pub(super) fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.string(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(v)))
                    .collect::<Map<String, Value>>(),
            ),
            other => other.clone(),
        }
    }
}

/// The text of a `user` frame: `message.content` when a string, else its text blocks joined
/// with `\n`.
pub(super) fn prompt_of(frame: &Value) -> String {
    match frame.pointer("/message/content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The `system/init` frame.
pub(super) fn init(info: &Info, model: &str, permission_mode: &str, uuid: String) -> Value {
    let mcp: Vec<Value> = info
        .mcp_servers
        .iter()
        .map(|name| json!({"name": name, "status": "connected"}))
        .collect();
    json!({
        "type": "system",
        "subtype": "init",
        "cwd": info.cwd,
        "session_id": info.session_id,
        "tools": info.tools,
        "mcp_servers": mcp,
        "model": model,
        "permissionMode": permission_mode,
        "slash_commands": ["compact", "context", "cost"],
        "apiKeySource": info.api_key_source,
        "claude_code_version": VERSION,
        "output_style": "default",
        "agents": ["general-purpose"],
        "skills": [],
        "plugins": [],
        "capabilities": ["interrupt_receipt_v1"],
        "analytics_disabled": true,
        "uuid": uuid,
    })
}

/// The usage object of assistant frames (as the real CLI writes it before the last deltas).
fn message_usage() -> Value {
    json!({
        "input_tokens": 12,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
        "service_tier": "standard",
    })
}

/// An `assistant` frame with these content blocks.
pub(super) fn assistant(
    info: &Info,
    model: &str,
    content: Vec<Value>,
    message_id: String,
    uuid: String,
) -> Value {
    json!({
        "type": "assistant",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": null,
            "stop_sequence": null,
            "usage": message_usage(),
        },
        "parent_tool_use_id": null,
        "session_id": info.session_id,
        "uuid": uuid,
    })
}

/// A `user` frame with one `tool_result` block.
pub(super) fn tool_result(
    info: &Info,
    tool_use_id: &str,
    content: &Value,
    is_error: bool,
    uuid: String,
) -> Value {
    json!({
        "type": "user",
        "message": {
            "role": "user",
            "content": [{
                "type": "tool_result",
                "tool_use_id": tool_use_id,
                "content": content,
                "is_error": is_error,
            }],
        },
        "parent_tool_use_id": null,
        "session_id": info.session_id,
        "uuid": uuid,
        "tool_use_result": content,
    })
}

/// A `stream_event` frame.
pub(super) fn stream_event(info: &Info, event: &Value, uuid: String) -> Value {
    json!({
        "type": "stream_event",
        "event": event,
        "session_id": info.session_id,
        "parent_tool_use_id": null,
        "uuid": uuid,
    })
}

/// A success `result` frame.
pub(super) fn result(
    info: &Info,
    text: &str,
    num_turns: u64,
    duration_ms: u64,
    model: &str,
    uuid: String,
) -> Value {
    let usage = json!({
        "input_tokens": 12,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 5,
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "service_tier": "standard",
    });
    json!({
        "type": "result",
        "subtype": "success",
        "is_error": false,
        "duration_ms": duration_ms,
        "duration_api_ms": duration_ms,
        "num_turns": num_turns,
        "result": text,
        "stop_reason": "end_turn",
        "session_id": info.session_id,
        "total_cost_usd": 0.000_123,
        "usage": usage,
        "modelUsage": {model: {
            "inputTokens": 12,
            "outputTokens": 5,
            "cacheReadInputTokens": 0,
            "cacheCreationInputTokens": 0,
            "webSearchRequests": 0,
            "costUSD": 0.000_123,
            "contextWindow": 200_000,
        }},
        "permission_denials": [],
        "terminal_reason": "completed",
        "uuid": uuid,
    })
}

/// A `system/session_state_changed` frame.
pub(super) fn state(info: &Info, state: &str, uuid: String) -> Value {
    json!({
        "type": "system",
        "subtype": "session_state_changed",
        "state": state,
        "sdk_host_only": true,
        "session_id": info.session_id,
        "uuid": uuid,
    })
}

/// The `system/status` frame after a permission mode change.
pub(super) fn status_mode(info: &Info, mode: &Value, uuid: String) -> Value {
    json!({
        "type": "system",
        "subtype": "status",
        "status": null,
        "permissionMode": mode,
        "session_id": info.session_id,
        "uuid": uuid,
    })
}

/// The default `initialize` response (server info).
pub(super) fn server_info(info: &Info, model: &str, permission_mode: &str) -> Value {
    json!({
        "commands": [],
        "agents": [],
        "output_style": "default",
        "available_output_styles": ["default", "Explanatory", "Learning"],
        "models": [{
            "value": "default",
            "resolvedModel": model,
            "displayName": "Default (recommended)",
            "description": "The fake CLI's only model",
            "supportsEffort": true,
            "supportedEffortLevels": ["low", "medium", "high"],
        }],
        "account": {
            "tokenSource": "none",
            "apiKeySource": info.api_key_source,
            "apiProvider": "firstParty",
        },
        "pid": info.pid,
        "claude_code_version": VERSION,
        "current_permission_mode": permission_mode,
        "session_state": "idle",
        "capabilities": ["interrupt_receipt_v1"],
    })
}

/// The default `get_context_usage` response.
pub(super) fn context_usage(model: &str) -> Value {
    json!({
        "categories": [
            {"id": "system_prompt", "name": "System prompt", "tokens": 1200, "color": "promptBorder", "kind": "system"},
            {"id": "messages", "name": "Messages", "tokens": 300, "color": "purple", "kind": "messages"},
            {"id": "free", "name": "Free space", "tokens": 198_500, "color": "promptBorder", "kind": "free"},
        ],
        "totalTokens": 1500,
        "maxTokens": 200_000,
        "rawMaxTokens": 200_000,
        "percentage": 0.75,
        "gridRows": [],
        "model": model,
        "apiUsage": null,
    })
}
