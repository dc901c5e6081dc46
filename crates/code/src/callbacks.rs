//! The callbacks the CLI calls back into this process for: the permission callback
//! ([`CanUseTool`], asked before a tool use the CLI would ask a user about) and hooks
//! ([`HookCallback`], run at [`HookEvent`]s such as `PreToolUse`).
//!
//! Both accept the agent vocabulary the Messages API backend uses: a
//! [`HookDecision`] (allow, deny with a reason, rewrite the input) converts into a
//! [`PermissionDecision`] and into a `PreToolUse` [`HookOutput`], so one policy function
//! serves either backend.
//!
//! ```
//! use claude_kit_code::{CanUseTool, HookOutput, PermissionDecision};
//! use claude_kit_core::agent::HookDecision;
//!
//! let policy = |tool: &str| if tool == "Bash" { HookDecision::Deny("no shell".into()) } else { HookDecision::Allow };
//! let callback = CanUseTool::new(move |request| {
//!     let decision = policy(&request.tool_name);
//!     async move { PermissionDecision::from(decision) }
//! });
//! # let _ = callback;
//! assert_eq!(PermissionDecision::from(HookDecision::Deny("no".into())), PermissionDecision::deny("no"));
//! let output = HookOutput::from(HookDecision::Deny("no shell".into()));
//! assert_eq!(output.to_wire("PreToolUse")["hookSpecificOutput"]["permissionDecision"], "deny");
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use claude_kit_core::agent::HookDecision;
use claude_kit_rt::BoxFuture;
use serde_json::{Map, Value, json};

/// What the CLI asks the permission callback about.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PermissionRequest {
    /// The tool (`Bash`, `Write`, `mcp__calc__add`, …).
    pub tool_name: String,
    /// Its input, as the model wrote it.
    pub input: Value,
    /// The `tool_use` id.
    pub tool_use_id: Option<String>,
    /// The CLI's description of the call.
    pub description: Option<String>,
    /// The path outside the allowed directories the call would touch, if any.
    pub blocked_path: Option<String>,
    /// Permission updates the CLI suggests (its `permission_suggestions`, wire form).
    pub suggestions: Vec<Value>,
    /// The whole request, for fields this version does not model (`agent_id`, `title`, …).
    pub raw: Value,
}

impl PermissionRequest {
    pub(crate) fn from_wire(request: &Value) -> Self {
        let text = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            tool_name: text("tool_name").unwrap_or_default(),
            input: request.get("input").cloned().unwrap_or(Value::Null),
            tool_use_id: text("tool_use_id"),
            description: text("description"),
            blocked_path: text("blocked_path"),
            suggestions: request
                .get("permission_suggestions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            raw: request.clone(),
        }
    }
}

/// The permission callback's answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PermissionDecision {
    /// Run the tool.
    Allow {
        /// Run it with this input instead of the model's.
        updated_input: Option<Value>,
        /// Permission updates to apply (wire form: `{"type": "addRules", …}`).
        updated_permissions: Option<Vec<Value>>,
    },
    /// Do not run it: the model gets `message` as the tool's error result.
    Deny {
        /// Why.
        message: String,
        /// Also interrupt the turn.
        interrupt: bool,
    },
}

impl PermissionDecision {
    /// Allow, with the model's input.
    pub fn allow() -> Self {
        PermissionDecision::Allow {
            updated_input: None,
            updated_permissions: None,
        }
    }

    /// Allow, with this input instead.
    pub fn allow_with(input: Value) -> Self {
        PermissionDecision::Allow {
            updated_input: Some(input),
            updated_permissions: None,
        }
    }

    /// Deny, telling the model why.
    pub fn deny(message: impl Into<String>) -> Self {
        PermissionDecision::Deny {
            message: message.into(),
            interrupt: false,
        }
    }

    /// Deny and interrupt the turn.
    pub fn deny_and_interrupt(message: impl Into<String>) -> Self {
        PermissionDecision::Deny {
            message: message.into(),
            interrupt: true,
        }
    }

    /// The control response's payload, as the official SDK writes it (an allow always
    /// carries `updatedInput`: the original input when unchanged).
    pub(crate) fn to_wire(&self, original_input: &Value) -> Value {
        match self {
            PermissionDecision::Allow {
                updated_input,
                updated_permissions,
            } => {
                let mut wire = json!({
                    "behavior": "allow",
                    "updatedInput": updated_input.as_ref().unwrap_or(original_input),
                });
                if let Some(updates) = updated_permissions {
                    wire["updatedPermissions"] = Value::Array(updates.clone());
                }
                wire
            }
            PermissionDecision::Deny { message, interrupt } => {
                let mut wire = json!({"behavior": "deny", "message": message});
                if *interrupt {
                    wire["interrupt"] = Value::Bool(true);
                }
                wire
            }
        }
    }
}

impl From<HookDecision> for PermissionDecision {
    fn from(decision: HookDecision) -> Self {
        match decision {
            HookDecision::Allow => PermissionDecision::allow(),
            HookDecision::Deny(reason) => PermissionDecision::deny(reason),
            HookDecision::Rewrite(input) => PermissionDecision::allow_with(input),
        }
    }
}

type PermissionFn =
    dyn Fn(PermissionRequest) -> BoxFuture<'static, PermissionDecision> + Send + Sync;

/// The permission callback: an async function from a [`PermissionRequest`] to a
/// [`PermissionDecision`]. Calls run concurrently with the session's reader, so a slow
/// callback never holds up other messages.
#[derive(Clone)]
pub struct CanUseTool(Arc<PermissionFn>);

impl CanUseTool {
    /// The callback `f`.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(PermissionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = PermissionDecision> + Send + 'static,
    {
        Self(Arc::new(move |request| Box::pin(f(request))))
    }

    pub(crate) fn call(
        &self,
        request: PermissionRequest,
    ) -> BoxFuture<'static, PermissionDecision> {
        (self.0)(request)
    }
}

impl fmt::Debug for CanUseTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CanUseTool(..)")
    }
}

/// The events hooks can be registered for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HookEvent {
    /// Before a tool runs (may allow, deny, or rewrite its input).
    PreToolUse,
    /// After a tool ran.
    PostToolUse,
    /// After a tool failed.
    PostToolUseFailure,
    /// When a prompt is submitted.
    UserPromptSubmit,
    /// When the agent is about to stop.
    Stop,
    /// When a subagent is about to stop.
    SubagentStop,
    /// When a subagent starts.
    SubagentStart,
    /// Before the context is compacted.
    PreCompact,
    /// When the CLI notifies the user.
    Notification,
    /// When the CLI would ask for a permission.
    PermissionRequest,
    /// An event this version does not name.
    Other(String),
}

impl HookEvent {
    /// The CLI's name of the event.
    pub fn as_str(&self) -> &str {
        match self {
            HookEvent::PreToolUse => "PreToolUse",
            HookEvent::PostToolUse => "PostToolUse",
            HookEvent::PostToolUseFailure => "PostToolUseFailure",
            HookEvent::UserPromptSubmit => "UserPromptSubmit",
            HookEvent::Stop => "Stop",
            HookEvent::SubagentStop => "SubagentStop",
            HookEvent::SubagentStart => "SubagentStart",
            HookEvent::PreCompact => "PreCompact",
            HookEvent::Notification => "Notification",
            HookEvent::PermissionRequest => "PermissionRequest",
            HookEvent::Other(name) => name,
        }
    }
}

/// What a hook is called with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HookInput {
    /// The event (`hook_event_name`).
    pub event: String,
    /// The tool, for tool events.
    pub tool_name: Option<String>,
    /// The tool's input, for tool events.
    pub tool_input: Option<Value>,
    /// The `tool_use` id, for tool events.
    pub tool_use_id: Option<String>,
    /// The session.
    pub session_id: Option<String>,
    /// The whole input (`cwd`, `transcript_path`, `permission_mode`, `tool_response`, …).
    pub raw: Value,
}

impl HookInput {
    pub(crate) fn from_wire(request: &Value) -> Self {
        let input = request.get("input").cloned().unwrap_or(Value::Null);
        let text = |key: &str| input.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            event: text("hook_event_name").unwrap_or_default(),
            tool_name: text("tool_name"),
            tool_input: input.get("tool_input").cloned(),
            tool_use_id: text("tool_use_id").or_else(|| {
                request
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }),
            session_id: text("session_id"),
            raw: input,
        }
    }
}

/// What a hook answers. The default lets everything go on.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct HookOutput {
    /// `permissionDecision` (`allow`, `deny`, `ask`, `defer`), for `PreToolUse`.
    pub permission_decision: Option<String>,
    /// `permissionDecisionReason`: shown to the model on a deny.
    pub reason: Option<String>,
    /// `updatedInput`: the tool's input, rewritten.
    pub updated_input: Option<Value>,
    /// `additionalContext`: text added to the model's context.
    pub additional_context: Option<String>,
    /// `continue: false` stops the agent, with `stop_reason`.
    pub continue_: Option<bool>,
    /// Why the agent stops.
    pub stop_reason: Option<String>,
    /// `decision: "block"` (with `reason`) for events that can be blocked.
    pub block: bool,
    /// `systemMessage`: a message shown to the user.
    pub system_message: Option<String>,
    /// `suppressOutput`.
    pub suppress_output: bool,
}

impl HookOutput {
    /// `PreToolUse`: allow the call.
    pub fn allow() -> Self {
        Self {
            permission_decision: Some("allow".into()),
            ..Self::default()
        }
    }

    /// `PreToolUse`: deny the call; the model sees `reason`.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self {
            permission_decision: Some("deny".into()),
            reason: Some(reason.into()),
            ..Self::default()
        }
    }

    /// `PreToolUse`: ask (the permission callback, or the user).
    pub fn ask() -> Self {
        Self {
            permission_decision: Some("ask".into()),
            ..Self::default()
        }
    }

    /// Blocks what the event is about (`decision: "block"`), with a reason.
    pub fn block(reason: impl Into<String>) -> Self {
        Self {
            block: true,
            reason: Some(reason.into()),
            ..Self::default()
        }
    }

    /// The control response's payload for a hook of `event`.
    pub fn to_wire(&self, event: &str) -> Value {
        let mut wire = Map::new();
        if let Some(go_on) = self.continue_ {
            wire.insert("continue".into(), Value::Bool(go_on));
        }
        if let Some(reason) = &self.stop_reason {
            wire.insert("stopReason".into(), json!(reason));
        }
        if self.suppress_output {
            wire.insert("suppressOutput".into(), Value::Bool(true));
        }
        if let Some(message) = &self.system_message {
            wire.insert("systemMessage".into(), json!(message));
        }
        if self.block {
            wire.insert("decision".into(), json!("block"));
            if let Some(reason) = &self.reason {
                wire.insert("reason".into(), json!(reason));
            }
        }
        let mut specific = Map::new();
        if let Some(decision) = &self.permission_decision {
            specific.insert("permissionDecision".into(), json!(decision));
            if let Some(reason) = &self.reason {
                specific.insert("permissionDecisionReason".into(), json!(reason));
            }
        }
        if let Some(input) = &self.updated_input {
            specific.insert("updatedInput".into(), input.clone());
        }
        if let Some(context) = &self.additional_context {
            specific.insert("additionalContext".into(), json!(context));
        }
        if !specific.is_empty() {
            specific.insert("hookEventName".into(), json!(event));
            wire.insert("hookSpecificOutput".into(), Value::Object(specific));
        }
        Value::Object(wire)
    }
}

impl From<HookDecision> for HookOutput {
    fn from(decision: HookDecision) -> Self {
        match decision {
            HookDecision::Allow => HookOutput::allow(),
            HookDecision::Deny(reason) => HookOutput::deny(reason),
            HookDecision::Rewrite(input) => HookOutput {
                updated_input: Some(input),
                ..HookOutput::allow()
            },
        }
    }
}

type HookFn = dyn Fn(HookInput) -> BoxFuture<'static, HookOutput> + Send + Sync;

/// A hook: an async function from a [`HookInput`] to a [`HookOutput`].
#[derive(Clone)]
pub struct HookCallback(Arc<HookFn>);

impl HookCallback {
    /// The hook `f`.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(HookInput) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HookOutput> + Send + 'static,
    {
        Self(Arc::new(move |input| Box::pin(f(input))))
    }

    pub(crate) fn call(&self, input: HookInput) -> BoxFuture<'static, HookOutput> {
        (self.0)(input)
    }
}

impl fmt::Debug for HookCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HookCallback(..)")
    }
}

/// Hooks of one event whose tool matches `matcher` (a tool name or pattern; `None`: all).
#[derive(Debug, Clone)]
#[must_use]
pub struct HookMatcher {
    pub(crate) matcher: Option<String>,
    pub(crate) callbacks: Vec<HookCallback>,
    pub(crate) timeout: Option<Duration>,
}

impl HookMatcher {
    /// Hooks for tools matching `matcher` (`"Bash"`, `"Write|Edit"`; `None` for every call).
    pub fn new(matcher: Option<&str>) -> Self {
        Self {
            matcher: matcher.map(str::to_owned),
            callbacks: Vec::new(),
            timeout: None,
        }
    }

    /// Adds a hook.
    pub fn callback(mut self, callback: HookCallback) -> Self {
        self.callbacks.push(callback);
        self
    }

    /// How long the CLI waits for these hooks.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_wire_forms() {
        let input = json!({"command": "ls"});
        assert_eq!(
            PermissionDecision::allow().to_wire(&input),
            json!({"behavior": "allow", "updatedInput": {"command": "ls"}})
        );
        assert_eq!(
            PermissionDecision::allow_with(json!({"command": "pwd"})).to_wire(&input),
            json!({"behavior": "allow", "updatedInput": {"command": "pwd"}})
        );
        assert_eq!(
            PermissionDecision::deny_and_interrupt("no").to_wire(&input),
            json!({"behavior": "deny", "message": "no", "interrupt": true})
        );
        assert_eq!(
            PermissionDecision::from(HookDecision::Rewrite(json!(1))),
            PermissionDecision::allow_with(json!(1))
        );
    }

    #[test]
    fn hook_wire_forms() {
        assert_eq!(HookOutput::default().to_wire("Stop"), json!({}));
        assert_eq!(
            HookOutput::deny("nope").to_wire("PreToolUse"),
            json!({"hookSpecificOutput": {"permissionDecision": "deny",
                "permissionDecisionReason": "nope", "hookEventName": "PreToolUse"}})
        );
        assert_eq!(
            HookOutput::block("stop it").to_wire("Stop"),
            json!({"decision": "block", "reason": "stop it"})
        );
        let rewrite = HookOutput::from(HookDecision::Rewrite(json!({"a": 1})));
        assert_eq!(
            rewrite.to_wire("PreToolUse")["hookSpecificOutput"]["updatedInput"],
            json!({"a": 1})
        );
    }

    #[test]
    fn inputs_from_the_wire() {
        let request = json!({"subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": "ls"},
            "tool_use_id": "toolu_1", "permission_suggestions": [{"type": "setMode"}]});
        let parsed = PermissionRequest::from_wire(&request);
        assert_eq!(parsed.tool_name, "Bash");
        assert_eq!(parsed.suggestions.len(), 1);
        let hook = json!({"subtype": "hook_callback", "callback_id": "hook_0", "tool_use_id": "toolu_1",
            "input": {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}}});
        let input = HookInput::from_wire(&hook);
        assert_eq!(input.event, "PreToolUse");
        assert_eq!(input.tool_use_id.as_deref(), Some("toolu_1"));
        assert_eq!(input.tool_input, Some(json!({"command": "ls"})));
    }
}
