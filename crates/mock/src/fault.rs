//! Faults selectable per request (the `x-mock-fault` header) or per server ([`FaultPlan`]).

use std::fmt;

use crate::chunking::SplitMix64;
use crate::model::{self, MessagesRequest};
use crate::{Reply, Shared};

/// Size of the body sent for [`Fault::Oversized`]: 64 MiB, four times the SDK's default limit
/// on one SSE event. The body is generated lazily and stops when the client disconnects.
pub const OVERSIZED_FAULT_BYTES: u64 = 64 * 1024 * 1024;

/// A fault injected into the answer to one valid `POST /v1/messages`, chosen by the request's
/// `x-mock-fault` header (see [`Fault::parse`] for the syntax) or by the server's
/// [`FaultPlan`](crate::FaultPlan).
///
/// Each fault has a streaming form (the request has `"stream": true`) and a non-streaming
/// form. Faults that only make sense for a stream do their non-streaming analogue:
///
/// | fault | streaming request | non-streaming request |
/// |---|---|---|
/// | [`Status`](Fault::Status), [`StatusRetryAfter`](Fault::StatusRetryAfter) | the API error JSON | the same |
/// | [`ResetBeforeHeaders`](Fault::ResetBeforeHeaders) | [`Reply::reset_before_headers`] | the same |
/// | [`ResetMidStream`](Fault::ResetMidStream) | [`Reply::sse_then_reset`] after the first text delta | [`Reply::json_then_reset`] |
/// | [`JsonThenReset`](Fault::JsonThenReset) | [`Reply::json_then_reset`] (a JSON body, cut) | the same |
/// | [`ErrorEvent`](Fault::ErrorEvent) | [`Reply::error_event_after`] with `overloaded_error` | `529 overloaded_error` JSON |
/// | [`MalformedSse`](Fault::MalformedSse) | [`Reply::malformed_sse`] | `200 application/json` with a garbage (invalid JSON) body |
/// | [`WrongContentType`](Fault::WrongContentType) | [`Reply::wrong_content_type`] | the same |
/// | [`StallBeforeHeaders`](Fault::StallBeforeHeaders) | [`Reply::stall_before_headers`] | the same |
/// | [`StallMidStream`](Fault::StallMidStream) | [`Reply::sse_then_stall`] after the first text delta | [`Reply::json_then_stall`] |
/// | [`Trickle`](Fault::Trickle) | [`Reply::trickle`] of the default answer | the JSON message at once |
/// | [`Oversized`](Fault::Oversized) | [`Reply::oversized_event`] of [`OVERSIZED_FAULT_BYTES`] | [`Reply::oversized_json`] of the same size |
///
/// Fault responses carry no rate-limit headers; they do carry `request-id` (except the ones
/// that send no headers at all).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// `status:<code>`: an API error with this status and the API's error type for it: 400
    /// `invalid_request_error`, 401 `authentication_error`, 402 `billing_error`, 403
    /// `permission_error`, 404 `not_found_error`, 408 `timeout_error`, 413
    /// `request_too_large`, 429 `rate_limit_error`, 504 `timeout_error`, 529
    /// `overloaded_error`, any other 4xx `invalid_request_error`, any other code `api_error`.
    Status(u16),
    /// `status:<code>:<secs>`: like [`Fault::Status`], with `retry-after: <secs>`.
    StatusRetryAfter(u16, u32),
    /// `reset-before-headers`: the connection is closed without a response byte.
    ResetBeforeHeaders,
    /// `reset-mid-stream`: the stream starts, then the connection is closed mid-body.
    ResetMidStream,
    /// `json-then-reset`: a `200` JSON message cut off by a connection abort.
    JsonThenReset,
    /// `error-event:<n>` (`error-event` alone means 0): an SSE `error` event
    /// (`overloaded_error`) after `n` text deltas.
    ErrorEvent {
        /// Text deltas sent before the error event.
        after_deltas: usize,
    },
    /// `malformed-sse`: a `200` event stream whose data is not JSON.
    MalformedSse,
    /// `wrong-content-type`: a `200` `text/html` page.
    WrongContentType,
    /// `stall-before-headers`: no answer at all, ever.
    StallBeforeHeaders,
    /// `stall-mid-stream`: the stream starts, then nothing more, ever.
    StallMidStream,
    /// `trickle:<ms>`: a normal answer, streamed with this pause between two events.
    Trickle {
        /// The pause between two SSE events, in milliseconds.
        per_chunk_ms: u64,
    },
    /// `oversized`: an endless SSE event (or JSON body) of [`OVERSIZED_FAULT_BYTES`].
    Oversized,
}

impl Fault {
    /// Parses the `x-mock-fault` header syntax: `<name>[:<arg>]`, names case-insensitive,
    /// spaces around the parts ignored:
    ///
    /// `status:<code>` (code in `400..=599`), `status:<code>:<retry-after secs>`,
    /// `reset-before-headers`, `reset-mid-stream`, `json-then-reset`, `error-event[:<n>]`,
    /// `malformed-sse`, `wrong-content-type`, `stall-before-headers`, `stall-mid-stream`,
    /// `trickle:<ms>`, `oversized`.
    ///
    /// Returns `None` for anything else. [`Fault`]'s `Display` writes this syntax.
    pub fn parse(header_value: &str) -> Option<Fault> {
        let value = header_value.trim();
        let (name, arg) = match value.split_once(':') {
            Some((name, arg)) => (name.trim(), Some(arg.trim())),
            None => (value, None),
        };
        let number = |arg: &str| -> Option<u64> {
            (!arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()))
                .then(|| arg.parse().ok())
                .flatten()
        };
        let fault = match (name.to_ascii_lowercase().as_str(), arg) {
            ("status", Some(arg)) => {
                let (code, secs) = match arg.split_once(':') {
                    Some((code, secs)) => (code.trim(), Some(secs.trim())),
                    None => (arg, None),
                };
                let code = u16::try_from(number(code)?).ok()?;
                if !(400..=599).contains(&code) {
                    return None;
                }
                match secs {
                    None => Fault::Status(code),
                    Some(secs) => Fault::StatusRetryAfter(code, u32::try_from(number(secs)?).ok()?),
                }
            }
            ("reset-before-headers", None) => Fault::ResetBeforeHeaders,
            ("reset-mid-stream", None) => Fault::ResetMidStream,
            ("json-then-reset", None) => Fault::JsonThenReset,
            ("error-event", None) => Fault::ErrorEvent { after_deltas: 0 },
            ("error-event", Some(n)) => Fault::ErrorEvent {
                after_deltas: usize::try_from(number(n)?).ok()?,
            },
            ("malformed-sse", None) => Fault::MalformedSse,
            ("wrong-content-type", None) => Fault::WrongContentType,
            ("stall-before-headers", None) => Fault::StallBeforeHeaders,
            ("stall-mid-stream", None) => Fault::StallMidStream,
            ("trickle", Some(ms)) => Fault::Trickle {
                per_chunk_ms: number(ms)?,
            },
            ("oversized", None) => Fault::Oversized,
            _ => return None,
        };
        Some(fault)
    }

    /// The reply this fault gives to `request` (see the table on [`Fault`]).
    pub(crate) fn reply(&self, request: &MessagesRequest, shared: &Shared) -> Reply {
        let prefix = || {
            let id = shared.next_message_id();
            let text = model::answer(request);
            model::stream_prefix(&id, &request.model, &text, request.input_tokens)
        };
        match *self {
            Fault::Status(code) => status_error(code),
            Fault::StatusRetryAfter(code, secs) => {
                status_error(code).header("retry-after", &secs.to_string())
            }
            Fault::ResetBeforeHeaders => Reply::reset_before_headers(),
            Fault::ResetMidStream if request.stream => Reply::sse_then_reset(prefix()),
            Fault::ResetMidStream | Fault::JsonThenReset => Reply::json_then_reset(),
            Fault::ErrorEvent { after_deltas } => {
                Reply::error_event_after(after_deltas, "overloaded_error")
            }
            Fault::MalformedSse if request.stream => Reply::malformed_sse(),
            Fault::MalformedSse => Reply::raw(
                200,
                "application/json",
                bytes::Bytes::from_static(MALFORMED_JSON),
            ),
            Fault::WrongContentType => Reply::wrong_content_type(),
            Fault::StallBeforeHeaders => Reply::stall_before_headers(),
            Fault::StallMidStream if request.stream => Reply::sse_then_stall(prefix()),
            Fault::StallMidStream => Reply::json_then_stall(),
            Fault::Trickle { per_chunk_ms } => Reply::trickle(
                model::answer(request),
                std::time::Duration::from_millis(per_chunk_ms),
            ),
            Fault::Oversized if request.stream => Reply::oversized_event(OVERSIZED_FAULT_BYTES),
            Fault::Oversized => Reply::oversized_json(OVERSIZED_FAULT_BYTES),
        }
    }
}

/// The garbage body of [`Fault::MalformedSse`] for a non-streaming request.
const MALFORMED_JSON: &[u8] = b"{\"id\": \"msg_mock_garbage\", \"type\": \"message\", {not json";

/// The API error for an HTTP status.
fn status_error(code: u16) -> Reply {
    let code = if (100..=999).contains(&code) {
        code
    } else {
        500
    };
    let error_type = error_type_for_status(code);
    Reply::error(code, error_type, default_message(error_type))
}

impl fmt::Display for Fault {
    /// Writes the `x-mock-fault` syntax that [`Fault::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Status(code) => write!(f, "status:{code}"),
            Fault::StatusRetryAfter(code, secs) => write!(f, "status:{code}:{secs}"),
            Fault::ResetBeforeHeaders => f.write_str("reset-before-headers"),
            Fault::ResetMidStream => f.write_str("reset-mid-stream"),
            Fault::JsonThenReset => f.write_str("json-then-reset"),
            Fault::ErrorEvent { after_deltas } => write!(f, "error-event:{after_deltas}"),
            Fault::MalformedSse => f.write_str("malformed-sse"),
            Fault::WrongContentType => f.write_str("wrong-content-type"),
            Fault::StallBeforeHeaders => f.write_str("stall-before-headers"),
            Fault::StallMidStream => f.write_str("stall-mid-stream"),
            Fault::Trickle { per_chunk_ms } => write!(f, "trickle:{per_chunk_ms}"),
            Fault::Oversized => f.write_str("oversized"),
        }
    }
}

/// The API's error type for an HTTP status.
pub(crate) fn error_type_for_status(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 | 504 => "timeout_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// The HTTP status the API uses for an error type (`500` for unknown types).
pub(crate) fn status_for_error_type(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// A message like the API's for an error type.
pub(crate) fn default_message(error_type: &str) -> &'static str {
    match error_type {
        "invalid_request_error" => "Invalid request",
        "authentication_error" => "invalid x-api-key",
        "billing_error" => "Your credit balance is too low to access the Anthropic API.",
        "permission_error" => {
            "Your API key does not have permission to use the specified resource."
        }
        "not_found_error" => "Not found",
        "request_too_large" => "Request exceeds the maximum allowed number of bytes.",
        "rate_limit_error" => "Number of requests has exceeded your per-minute rate limit",
        "timeout_error" => "Request timed out",
        "overloaded_error" => "Overloaded",
        _ => "Internal server error",
    }
}

/// Which requests of a server get a fault: for soak tests, each valid `POST /v1/messages`
/// independently gets a fault with probability `fault_rate`, drawn uniformly from a mix.
/// Set it with [`MockServerBuilder::fault_plan`](crate::MockServerBuilder::fault_plan).
///
/// The draws come from a generator seeded with `seed`, two per request that consults the plan
/// (whether or not it gets a fault), so the faults are the same for the same seed and the same
/// order of requests. Requests with an `x-mock-fault` header (including `x-mock-fault: none`)
/// do not consult the plan. A planned fault overrides a scripted reply without consuming it.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    seed: u64,
    fault_rate: f64,
    faults: Vec<Fault>,
}

impl FaultPlan {
    /// Each request gets a fault with probability `fault_rate` (clamped to `0.0..=1.0`; NaN
    /// means 0), drawn from [`FaultPlan::default_mix`].
    pub fn random(seed: u64, fault_rate: f64) -> Self {
        let fault_rate = if fault_rate.is_nan() {
            0.0
        } else {
            fault_rate.clamp(0.0, 1.0)
        };
        FaultPlan {
            seed,
            fault_rate,
            faults: Self::default_mix(),
        }
    }

    /// Draws the faults from `faults` instead (repeat one to make it likelier). An empty list
    /// injects nothing.
    pub fn with_faults(mut self, faults: Vec<Fault>) -> Self {
        self.faults = faults;
        self
    }

    /// The default mix: statuses 429, 500 and 529 each with and without `retry-after: 0`,
    /// `reset-before-headers`, `reset-mid-stream`, `json-then-reset`, `error-event:0`,
    /// `error-event:2`, `malformed-sse`, `stall-mid-stream` and `stall-before-headers`.
    pub fn default_mix() -> Vec<Fault> {
        vec![
            Fault::Status(429),
            Fault::StatusRetryAfter(429, 0),
            Fault::Status(500),
            Fault::StatusRetryAfter(500, 0),
            Fault::Status(529),
            Fault::StatusRetryAfter(529, 0),
            Fault::ResetBeforeHeaders,
            Fault::ResetMidStream,
            Fault::JsonThenReset,
            Fault::ErrorEvent { after_deltas: 0 },
            Fault::ErrorEvent { after_deltas: 2 },
            Fault::MalformedSse,
            Fault::StallMidStream,
            Fault::StallBeforeHeaders,
        ]
    }

    /// The generator's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The probability that a request gets a fault.
    pub fn fault_rate(&self) -> f64 {
        self.fault_rate
    }

    /// The faults drawn from.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// The first `requests` draws of this plan, as the server makes them: `Some(fault)` for a
    /// request that gets a fault. For tests that predict what a server will do.
    pub fn preview(&self, requests: usize) -> Vec<Option<Fault>> {
        let mut state = PlanState::new(self.clone());
        (0..requests).map(|_| state.draw()).collect()
    }
}

/// A plan and its generator.
#[derive(Debug)]
pub(crate) struct PlanState {
    plan: FaultPlan,
    rng: SplitMix64,
}

impl PlanState {
    pub(crate) fn new(plan: FaultPlan) -> Self {
        let rng = SplitMix64(plan.seed);
        PlanState { plan, rng }
    }

    /// Decides the next request's fault.
    pub(crate) fn draw(&mut self) -> Option<Fault> {
        // Always two draws, so that the sequence does not depend on the outcomes.
        let roll = (self.rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let pick = self.rng.next();
        if self.plan.faults.is_empty() || roll >= self.plan.fault_rate {
            return None;
        }
        let index = (pick % self.plan.faults.len() as u64) as usize;
        Some(self.plan.faults[index].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_faults() -> Vec<Fault> {
        vec![
            Fault::Status(429),
            Fault::StatusRetryAfter(503, 7),
            Fault::ResetBeforeHeaders,
            Fault::ResetMidStream,
            Fault::JsonThenReset,
            Fault::ErrorEvent { after_deltas: 3 },
            Fault::MalformedSse,
            Fault::WrongContentType,
            Fault::StallBeforeHeaders,
            Fault::StallMidStream,
            Fault::Trickle { per_chunk_ms: 25 },
            Fault::Oversized,
        ]
    }

    #[test]
    fn parse_round_trips_display() {
        for fault in all_faults().into_iter().chain(FaultPlan::default_mix()) {
            assert_eq!(Fault::parse(&fault.to_string()), Some(fault.clone()));
        }
        assert_eq!(Fault::parse(" Status : 529 "), Some(Fault::Status(529)));
        assert_eq!(
            Fault::parse("error-event"),
            Some(Fault::ErrorEvent { after_deltas: 0 })
        );
        assert_eq!(
            Fault::parse("RESET-MID-STREAM"),
            Some(Fault::ResetMidStream)
        );
        for bad in [
            "",
            "nope",
            "status",
            "status:",
            "status:200",
            "status:600",
            "status:abc",
            "status:+429",
            "status:429:",
            "status:429:-1",
            "trickle",
            "trickle:x",
            "error-event:-1",
            "oversized:5",
            "reset-before-headers:1",
            "none",
        ] {
            assert_eq!(Fault::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn error_types_and_statuses() {
        for (status, error_type) in [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (408, "timeout_error"),
            (409, "invalid_request_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (502, "api_error"),
            (503, "api_error"),
            (504, "timeout_error"),
            (529, "overloaded_error"),
        ] {
            assert_eq!(error_type_for_status(status), error_type, "{status}");
        }
        for error_type in [
            "invalid_request_error",
            "authentication_error",
            "billing_error",
            "permission_error",
            "not_found_error",
            "request_too_large",
            "rate_limit_error",
            "overloaded_error",
        ] {
            let status = status_for_error_type(error_type);
            assert_eq!(error_type_for_status(status), error_type);
        }
        assert_eq!(status_for_error_type("api_error"), 500);
        assert_eq!(status_for_error_type("something_else"), 500);
        assert_eq!(status_for_error_type("timeout_error"), 504);
    }

    #[test]
    fn plan_is_deterministic_and_respects_rate() {
        let plan = FaultPlan::random(42, 0.3);
        let a = plan.preview(2000);
        assert_eq!(a, plan.preview(2000));
        assert_ne!(a, FaultPlan::random(43, 0.3).preview(2000));
        let faulted = a.iter().flatten().count();
        assert!((400..800).contains(&faulted), "{faulted}");
        // Every fault of the mix occurs.
        for fault in FaultPlan::default_mix() {
            assert!(a.contains(&Some(fault.clone())), "{fault}");
        }
        assert!(
            FaultPlan::random(1, 0.0)
                .preview(500)
                .iter()
                .all(Option::is_none)
        );
        assert!(
            FaultPlan::random(1, 1.0)
                .preview(500)
                .iter()
                .all(Option::is_some)
        );
        assert_eq!(FaultPlan::random(1, f64::NAN).fault_rate(), 0.0);
        assert_eq!(FaultPlan::random(1, 7.0).fault_rate(), 1.0);
        let only = FaultPlan::random(1, 1.0).with_faults(vec![Fault::MalformedSse]);
        assert!(
            only.preview(50)
                .iter()
                .all(|f| f == &Some(Fault::MalformedSse))
        );
        let none = FaultPlan::random(1, 1.0).with_faults(Vec::new());
        assert!(none.preview(50).iter().all(Option::is_none));
    }
}
