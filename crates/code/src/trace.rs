//! What the Claude Code backend tells [`tracing`](https://docs.rs/tracing) (feature
//! `tracing`): the CLI process started, each turn's result (session, turns, duration, cost,
//! tokens), the tools the model called (names only), each permission decision and hook
//! outcome. Field names follow OpenTelemetry's GenAI conventions where they exist
//! (`gen_ai.usage.input_tokens`, `gen_ai.tool.name`, …). Never the key, the prompts, tool
//! inputs or outputs, or the model's text.
//!
//! Without the feature every function here is empty and inlined away.

use claude_kit_core::code::frames::Frame;
#[cfg(feature = "tracing")]
use claude_kit_core::code::frames::ResultMessage;

/// The CLI answered `initialize`.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn started(pid: Option<u64>, version: Option<&str>) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "claude_kit::code",
        pid,
        cli_version = version,
        "claude code started"
    );
}

/// A frame from the CLI: results and tool calls are recorded.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn frame(frame: &Frame) {
    #[cfg(feature = "tracing")]
    match frame {
        Frame::Result(result) => turn(result),
        Frame::Assistant(message) => {
            for tool in message.message.tool_uses() {
                tracing::debug!(
                    target: "claude_kit::code",
                    session_id = message.session_id.as_deref(),
                    "gen_ai.tool.name" = %tool.name,
                    "gen_ai.tool.call.id" = %tool.id,
                    "tool call"
                );
            }
        }
        _ => {}
    }
}

#[cfg(feature = "tracing")]
fn turn(result: &ResultMessage) {
    let usage = result.usage.as_ref();
    tracing::info!(
        target: "claude_kit::code",
        session_id = result.session_id.as_deref(),
        subtype = %result.subtype,
        is_error = result.is_error,
        num_turns = result.num_turns,
        duration_ms = result.duration_ms,
        duration_api_ms = result.duration_api_ms,
        total_cost_usd = result.total_cost_usd,
        "gen_ai.usage.input_tokens" = usage.map(|u| u.input_tokens),
        "gen_ai.usage.output_tokens" = usage.map(|u| u.output_tokens),
        terminal_reason = result.terminal_reason.as_deref(),
        "turn finished"
    );
}

/// A `can_use_tool` request was answered (`allow` or `deny`).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn permission(tool: &str, decision: &str) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "claude_kit::code",
        decision,
        "gen_ai.tool.name" = tool,
        "permission"
    );
}

/// A hook callback answered for `event`, with its permission decision if it made one.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn hook(event: &str, decision: Option<&str>) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "claude_kit::code", event, decision, "hook");
}
