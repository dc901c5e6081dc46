//! What the Claude Code backend tells [`tracing`](https://docs.rs/tracing) (feature
//! `tracing`): the CLI process started, each turn's result (session, turns, duration, cost,
//! tokens), the tools the model called (names only), each permission decision and hook
//! outcome. Field names follow OpenTelemetry's GenAI conventions where they exist
//! (`gen_ai.usage.input_tokens`, `gen_ai.tool.name`, …). Never the key, the prompts, tool
//! inputs or outputs, or the model's text.
//!
//! Spans: `claude_kit.claude_code` for a CLI process (`pid`, `cli_version`, `session_id`),
//! and inside it `claude_kit.claude_code.turn` for each prompt, from the user message to its
//! result (`session_id`, `num_turns`, `is_error`, `total_cost_usd`, token counts); the tool
//! calls, permission decisions and hook outcomes of a turn are events in its span.
//!
//! Without the feature every function here is empty and inlined away.

use claude_kit_core::code::control::ControlAnswer;
use claude_kit_core::code::frames::Frame;
#[cfg(feature = "tracing")]
use claude_kit_core::code::frames::ResultMessage;

/// The spans of one CLI process: the process's, and one per prompt whose result has not
/// come yet (oldest first: the CLI answers prompts in order).
#[cfg_attr(not(feature = "tracing"), derive(Default))]
pub(crate) struct Trace {
    #[cfg(feature = "tracing")]
    session: tracing::Span,
    #[cfg(feature = "tracing")]
    turns: std::sync::Mutex<std::collections::VecDeque<tracing::Span>>,
}

impl Trace {
    /// The spans of a CLI just spawned as process `pid`.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn new(pid: Option<u32>) -> Self {
        #[cfg(feature = "tracing")]
        {
            let session = tracing::info_span!(
                target: "claude_kit::code",
                "claude_kit.claude_code",
                "gen_ai.system" = "anthropic",
                "gen_ai.operation.name" = "invoke_agent",
                pid,
                cli_version = tracing::field::Empty,
                session_id = tracing::field::Empty,
            );
            Self {
                session,
                turns: Default::default(),
            }
        }
        #[cfg(not(feature = "tracing"))]
        Self::default()
    }

    /// Runs `future` (one of the process's tasks) inside the process's span.
    #[cfg(feature = "tracing")]
    pub(crate) fn in_session<F: std::future::Future>(
        &self,
        future: F,
    ) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(future, self.session.clone())
    }

    /// Without the feature: `future` itself.
    #[cfg(not(feature = "tracing"))]
    pub(crate) fn in_session<F: std::future::Future>(&self, future: F) -> F {
        future
    }

    /// Runs `future` (a handler of a CLI request) inside the span of the turn under way.
    #[cfg(feature = "tracing")]
    pub(crate) fn in_turn<F: std::future::Future>(
        &self,
        future: F,
    ) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(future, self.current())
    }

    /// Without the feature: `future` itself.
    #[cfg(not(feature = "tracing"))]
    pub(crate) fn in_turn<F: std::future::Future>(&self, future: F) -> F {
        future
    }

    /// A prompt was written: its turn begins.
    #[inline]
    pub(crate) fn prompt_sent(&self) {
        #[cfg(feature = "tracing")]
        {
            let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
            // Bounded: a caller that writes prompts without reading results cannot make
            // this grow past what the CLI can have queued in any useful sense.
            if turns.len() >= 64 {
                turns.pop_front();
            }
            let turn = tracing::info_span!(
                target: "claude_kit::code",
                parent: &self.session,
                "claude_kit.claude_code.turn",
                session_id = tracing::field::Empty,
                num_turns = tracing::field::Empty,
                is_error = tracing::field::Empty,
                total_cost_usd = tracing::field::Empty,
                "gen_ai.usage.input_tokens" = tracing::field::Empty,
                "gen_ai.usage.output_tokens" = tracing::field::Empty,
            );
            turns.push_back(turn);
        }
    }

    /// The CLI answered `initialize` with `answer`.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn started(&self, answer: &ControlAnswer) {
        #[cfg(feature = "tracing")]
        {
            // The answer is many kilobytes: read only when someone listens.
            if self.session.is_disabled()
                && !tracing::enabled!(target: "claude_kit::code", tracing::Level::INFO)
            {
                return;
            }
            #[derive(serde::Deserialize, Default)]
            struct Started<'a> {
                #[serde(default)]
                pid: Option<u64>,
                #[serde(borrow, default)]
                claude_code_version: Option<std::borrow::Cow<'a, str>>,
            }
            let Started {
                pid,
                claude_code_version,
            } = answer.parse().unwrap_or_default();
            let version = claude_code_version.as_deref();
            if let Some(version) = version {
                self.session.record("cli_version", version);
            }
            self.session.in_scope(|| started(pid, version));
        }
    }

    /// A frame from the CLI, recorded in the span of the turn it belongs to; a result ends
    /// that turn.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    #[inline]
    pub(crate) fn frame(&self, frame: &Frame) {
        #[cfg(feature = "tracing")]
        {
            let span = match frame {
                Frame::Result(result) => {
                    let turn = self
                        .turns
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .pop_front();
                    let turn = turn.unwrap_or_else(|| self.session.clone());
                    record_result(&turn, result);
                    if let Some(id) = result.session_id.as_deref() {
                        self.session.record("session_id", id);
                    }
                    turn
                }
                _ => self.current(),
            };
            span.in_scope(|| self::frame(frame));
        }
    }

    #[cfg(feature = "tracing")]
    fn current(&self) -> tracing::Span {
        let turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        turns
            .front()
            .cloned()
            .unwrap_or_else(|| self.session.clone())
    }
}

#[cfg(feature = "tracing")]
fn record_result(span: &tracing::Span, result: &ResultMessage) {
    if let Some(id) = result.session_id.as_deref() {
        span.record("session_id", id);
    }
    span.record("num_turns", result.num_turns);
    span.record("is_error", result.is_error);
    if let Some(cost) = result.total_cost_usd {
        span.record("total_cost_usd", cost);
    }
    if let Some(usage) = result.usage.as_ref() {
        span.record("gen_ai.usage.input_tokens", usage.input_tokens);
        span.record("gen_ai.usage.output_tokens", usage.output_tokens);
    }
}

/// The CLI answered `initialize`.
#[cfg(feature = "tracing")]
fn started(pid: Option<u64>, version: Option<&str>) {
    tracing::info!(
        target: "claude_kit::code",
        pid,
        cli_version = version,
        "claude code started"
    );
}

/// A frame from the CLI: results and tool calls are recorded.
#[cfg(feature = "tracing")]
fn frame(frame: &Frame) {
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
