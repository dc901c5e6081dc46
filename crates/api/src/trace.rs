//! What the client tells [`tracing`](https://docs.rs/tracing) (feature `tracing`): a span per
//! call, an event per attempt and per retry, one when a stream ends. Field names follow
//! OpenTelemetry's GenAI and HTTP semantic conventions where they exist
//! (`gen_ai.request.model`, `gen_ai.usage.input_tokens`, `http.response.status_code`, …).
//!
//! Never recorded: the API key or token, request or response headers, message contents.
//! Error texts are recorded after the client has hidden every secret in them (a server may
//! echo the key; see the redaction in the retry loop and the stream).
//!
//! Without the feature every function here is empty and inlined away.

use std::time::Duration;

use claude_kit_core::Error;
use claude_kit_core::types::Message;

/// The span of one call: every attempt, retry and the stream's end are recorded inside it.
#[cfg(feature = "tracing")]
pub(crate) type Span = tracing::Span;

/// Without the feature: nothing.
#[cfg(not(feature = "tracing"))]
#[derive(Debug, Clone)]
pub(crate) struct Span;

/// The span of a call to `method path`; `model` and `stream` for message calls, `label` the
/// caller's ([`RequestOptions::label`](crate::RequestOptions::label)).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn call(
    method: &http::Method,
    path: &str,
    model: Option<&str>,
    stream: bool,
    label: Option<&str>,
) -> Span {
    #[cfg(feature = "tracing")]
    {
        let operation = if path.starts_with("/v1/messages/count_tokens") {
            "count_tokens"
        } else if path.starts_with("/v1/messages/batches") {
            "batch"
        } else if path.starts_with("/v1/messages") {
            "chat"
        } else {
            "other"
        };
        tracing::info_span!(
            target: "claude_kit::call",
            "claude_kit.call",
            "gen_ai.system" = "anthropic",
            "gen_ai.operation.name" = operation,
            "gen_ai.request.model" = model,
            "http.request.method" = method.as_str(),
            "url.path" = path,
            stream,
            label,
        )
    }
    #[cfg(not(feature = "tracing"))]
    Span
}

/// Runs `future` inside `span`. Not an `async fn`: it returns the future itself (or
/// tracing's `Instrumented` wrapper of it), so a call's state machine is not stored twice.
#[inline]
pub(crate) fn in_span<F: std::future::Future>(
    span: Span,
    future: F,
) -> impl std::future::Future<Output = F::Output> {
    #[cfg(feature = "tracing")]
    {
        use tracing::Instrument;
        future.instrument(span)
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = span;
        future
    }
}

/// The span the code runs in now (inside a call: the call's).
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
#[inline]
pub(crate) fn current() -> Span {
    #[cfg(feature = "tracing")]
    {
        tracing::Span::current()
    }
    #[cfg(not(feature = "tracing"))]
    Span
}

/// An attempt got its response headers.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn answered(attempt: u32, status: http::StatusCode, headers: &http::HeaderMap) {
    // The request id is looked up only when the event is enabled (a hash of the name).
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "claude_kit::call",
        attempt,
        "http.response.status_code" = status.as_u16(),
        request_id = crate::meta::request_id(headers),
        "response headers"
    );
}

/// The retry policy retries after `error` (already redacted), in `delay`.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn retrying(attempt: u32, delay: Duration, error: &Error) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "claude_kit::call",
        attempt,
        retry_delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        "http.response.status_code" = error.status().map(|s| s.as_u16()),
        request_id = error.request_id(),
        "error.type" = error_type(error),
        reason = %error,
        "retrying"
    );
}

/// The call failed for good with `error` (already redacted).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn failed(error: &Error) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        target: "claude_kit::call",
        request_id = error.request_id(),
        "http.response.status_code" = error.status().map(|s| s.as_u16()),
        "error.type" = error_type(error),
        error = %error,
        "call failed"
    );
}

/// A message arrived whole (`create`) or a stream ended with it.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn message(message: &Message, request_id: Option<&str>) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "claude_kit::call",
        request_id,
        "gen_ai.response.id" = %message.id,
        "gen_ai.response.model" = %message.model,
        "gen_ai.response.finish_reasons" = message.stop_reason.as_ref().map(|r| r.as_str()),
        "gen_ai.usage.input_tokens" = message.usage.input_tokens,
        "gen_ai.usage.output_tokens" = message.usage.output_tokens,
        "message"
    );
}

/// What a stream did, when it ends: `first_event` after the request, `events` decoded, `bytes`
/// of body read; `message` when it completed.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables, dead_code))]
#[inline]
pub(crate) fn stream_end(
    span: &Span,
    first_event: Option<Duration>,
    events: u64,
    bytes: u64,
    message: Option<&Message>,
    request_id: Option<&str>,
) {
    #[cfg(feature = "tracing")]
    span.in_scope(|| {
        let first_event_ms = first_event.map(|d| d.as_secs_f64() * 1e3);
        match message {
            Some(message) => tracing::info!(
                target: "claude_kit::stream",
                time_to_first_event_ms = first_event_ms,
                events,
                bytes,
                "gen_ai.response.id" = %message.id,
                "gen_ai.response.finish_reasons" = message.stop_reason.as_ref().map(|r| r.as_str()),
                "gen_ai.usage.input_tokens" = message.usage.input_tokens,
                "gen_ai.usage.output_tokens" = message.usage.output_tokens,
                request_id,
                "stream finished"
            ),
            None => tracing::info!(
                target: "claude_kit::stream",
                time_to_first_event_ms = first_event_ms,
                events,
                bytes,
                request_id,
                "stream ended before the message was complete"
            ),
        }
    });
}

/// The span of a tool loop run ([`ToolRunner`](crate::ToolRunner)): each turn's span, model
/// call and tool calls are inside it; turns and token totals are recorded when it ends.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn agent(model: &str) -> Span {
    #[cfg(feature = "tracing")]
    {
        tracing::info_span!(
            target: "claude_kit::agent",
            "claude_kit.agent",
            "gen_ai.system" = "anthropic",
            "gen_ai.operation.name" = "invoke_agent",
            "gen_ai.request.model" = model,
            turns = tracing::field::Empty,
            "gen_ai.usage.input_tokens" = tracing::field::Empty,
            "gen_ai.usage.output_tokens" = tracing::field::Empty,
            "gen_ai.response.finish_reasons" = tracing::field::Empty,
        )
    }
    #[cfg(not(feature = "tracing"))]
    Span
}

/// The span of turn `turn` of a tool loop: its model call and its tool calls.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn agent_turn(turn: usize) -> Span {
    #[cfg(feature = "tracing")]
    {
        tracing::info_span!(target: "claude_kit::agent", "claude_kit.agent.turn", turn)
    }
    #[cfg(not(feature = "tracing"))]
    Span
}

/// A tool call of the loop finished (names and ids only, never input or output).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn tool_call(name: &str, id: &str, denied: bool, is_error: bool) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "claude_kit::agent",
        denied,
        is_error,
        "gen_ai.tool.name" = name,
        "gen_ai.tool.call.id" = id,
        "tool call"
    );
}

/// The loop ended after `turns` turns with `usage` in total: recorded on its span and as
/// an event.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
#[inline]
pub(crate) fn agent_finished(
    span: &Span,
    turns: usize,
    usage: &claude_kit_core::types::Usage,
    message: &Message,
) {
    #[cfg(feature = "tracing")]
    {
        span.record("turns", turns);
        span.record("gen_ai.usage.input_tokens", usage.input_tokens);
        span.record("gen_ai.usage.output_tokens", usage.output_tokens);
        if let Some(reason) = &message.stop_reason {
            span.record("gen_ai.response.finish_reasons", reason.as_str());
        }
        span.in_scope(|| {
            tracing::info!(
                target: "claude_kit::agent",
                turns,
                "gen_ai.usage.input_tokens" = usage.input_tokens,
                "gen_ai.usage.output_tokens" = usage.output_tokens,
                "agent finished"
            )
        });
    }
}

#[cfg(feature = "tracing")]
fn error_type(error: &Error) -> &'static str {
    match error {
        Error::Api { .. } => "api",
        Error::Connect { .. } => "connect",
        Error::Timeout { .. } => "timeout",
        Error::Transport { .. } => "transport",
        Error::Decode { .. } => "decode",
        Error::Config { .. } => "config",
        Error::Closed { .. } => "closed",
        _ => "other",
    }
}

/// A stream's counts for [`stream_end`], kept by the stream (nothing without the feature).
#[derive(Debug)]
pub(crate) struct StreamStats {
    #[cfg(feature = "tracing")]
    span: Span,
    #[cfg(feature = "tracing")]
    started: std::time::Instant,
    #[cfg(feature = "tracing")]
    first_event: Option<Duration>,
    #[cfg(feature = "tracing")]
    events: u64,
    #[cfg(feature = "tracing")]
    bytes: u64,
    #[cfg(feature = "tracing")]
    reported: bool,
}

impl StreamStats {
    /// Counts from now (the response headers have arrived), inside the current span. When no
    /// subscriber wants stream events, nothing is captured and [`end`](Self::end) reports
    /// nothing.
    #[inline]
    pub(crate) fn start() -> Self {
        #[cfg(feature = "tracing")]
        let wanted = tracing::enabled!(target: "claude_kit::stream", tracing::Level::INFO);
        Self {
            #[cfg(feature = "tracing")]
            span: if wanted { current() } else { Span::none() },
            #[cfg(feature = "tracing")]
            started: std::time::Instant::now(),
            #[cfg(feature = "tracing")]
            first_event: None,
            #[cfg(feature = "tracing")]
            events: 0,
            #[cfg(feature = "tracing")]
            bytes: 0,
            #[cfg(feature = "tracing")]
            reported: !wanted,
        }
    }

    /// `len` bytes of body read.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    #[inline]
    pub(crate) fn chunk(&mut self, len: usize) {
        #[cfg(feature = "tracing")]
        {
            self.bytes += len as u64;
        }
    }

    /// One event decoded.
    #[inline]
    pub(crate) fn event(&mut self) {
        #[cfg(feature = "tracing")]
        {
            self.events += 1;
            if self.first_event.is_none() {
                self.first_event = Some(self.started.elapsed());
            }
        }
    }

    /// The stream ended (once; later calls do nothing).
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    #[inline]
    pub(crate) fn end(&mut self, message: Option<&Message>, request_id: Option<&str>) {
        #[cfg(feature = "tracing")]
        if !std::mem::replace(&mut self.reported, true) {
            stream_end(
                &self.span,
                self.first_event,
                self.events,
                self.bytes,
                message,
                request_id,
            );
        }
    }
}
