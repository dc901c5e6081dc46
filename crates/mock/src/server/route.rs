//! Picking the reply to a request: header checks, validation, faults, the rate limit,
//! scripted replies and the default model.

use http::Method;
use http::header::HeaderMap;

use super::claude_code;
use super::render::Context;
use crate::fault::Fault;
use crate::model;
use crate::tools;
use crate::{Reply, Shared};

/// The API key and `anthropic-version` checks every endpoint makes; `Some` is the error.
pub(super) fn check_headers(shared: &Shared, parts: &http::request::Parts) -> Option<Reply> {
    if let Some(key) = &shared.api_key {
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
        if header("x-api-key") != Some(key.as_str()) && bearer != Some(key.as_str()) {
            return Some(Reply::error(
                401,
                "authentication_error",
                "invalid x-api-key",
            ));
        }
    }
    if !parts.headers.contains_key("anthropic-version") {
        return Some(Reply::error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    None
}

/// Picks the reply: routing, API key, validation, then a fault (from `x-mock-fault` or the
/// fault plan), the rate limit, a scripted reply or the default model (for Claude Code's
/// requests, the model its prompt's directives script).
pub(super) fn route(context: &mut Context<'_>, parts: &http::request::Parts, body: &[u8]) -> Reply {
    if parts.method != Method::POST || parts.uri.path() != "/v1/messages" {
        return Reply::error(404, "not_found_error", "Not found");
    }
    if let Some(reply) = check_headers(context.shared, parts) {
        return reply;
    }
    let dialect = claude_code::dialect(&parts.headers);
    let mut request = match model::validate(body, dialect) {
        Ok(request) => request,
        Err(message) => return Reply::error(400, "invalid_request_error", &message),
    };
    if let Some((_, prompt)) = request.claude_code.as_ref().and_then(claude_code::prompt) {
        request.last_user_text = prompt.to_owned();
    }
    match parallel_tools(&parts.headers) {
        Ok(n) => request.parallel_tools = n,
        Err(message) => return Reply::error(400, "invalid_request_error", &message),
    }
    let shared = context.shared;
    let fault = match requested_fault(shared, &parts.headers) {
        Ok(Requested::Fault(fault)) => Some(fault),
        Ok(Requested::Nothing) => None,
        Ok(Requested::Plan) => shared.planned_fault(),
        Err(message) => return Reply::error(400, "invalid_request_error", &message),
    };
    let admission = shared.rate.admit(request.input_tokens, request.max_tokens);
    let reply = if let Some(fault) = fault {
        shared.fault_injected(&fault);
        let mut reply = fault.reply(&request, shared);
        copy_retry_headers(&parts.headers, reply.headers_mut());
        reply
    } else if let Some(retry_after) = admission.retry_after {
        context.server_headers = admission.headers;
        let message = format!(
            "Number of requests has exceeded your per-minute rate limit \
             (mock: {} requests per minute)",
            shared.rate.requests_per_minute()
        );
        Reply::error(429, "rate_limit_error", message)
            .header("retry-after", &retry_after.to_string())
    } else {
        context.server_headers = admission.headers;
        shared
            .next_scripted()
            .unwrap_or_else(|| match &shared.replay {
                Some((transcript, chunking)) => Reply::sse(transcript.clone(), *chunking),
                None if request.claude_code.is_some() => {
                    let answer = claude_code::answer(shared, &request, &parts.headers);
                    context.tool_calls = answer.tool_calls;
                    context.slow = answer.slow;
                    answer.reply
                }
                None => {
                    context.tool_calls = tools::calls(&request, || shared.next_tool_id());
                    Reply::text(model::answer(&request))
                }
            })
    };
    context.request = Some(request);
    reply
}

/// `x-mock-parallel-tools: N` (1 to 64): how many tool calls the default model makes in one
/// turn; 1 without the header.
fn parallel_tools(headers: &HeaderMap) -> Result<usize, String> {
    let Some(value) = headers.get("x-mock-parallel-tools") else {
        return Ok(1);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| "x-mock-parallel-tools: expected a number from 1 to 64".into())
}

/// What a request's `x-mock-*` headers ask for.
enum Requested {
    /// This fault.
    Fault(Fault),
    /// No fault (`x-mock-fault: none`, or the first `x-mock-fail-times` attempts are over).
    Nothing,
    /// No `x-mock-fault` header: the server's fault plan decides.
    Plan,
}

/// Reads `x-mock-fault`, `x-mock-fail-times` and `x-mock-key`; the error is the 400 message.
fn requested_fault(shared: &Shared, headers: &HeaderMap) -> Result<Requested, String> {
    let header = |name: &str| -> Result<Option<&str>, String> {
        match headers.get(name) {
            None => Ok(None),
            Some(value) => value
                .to_str()
                .map(|v| Some(v.trim()))
                .map_err(|_| format!("{name}: header is not valid ASCII")),
        }
    };
    let fail_times = header("x-mock-fail-times")?;
    let Some(name) = header("x-mock-fault")? else {
        if fail_times.is_some() {
            return Err("x-mock-fail-times: needs an x-mock-fault header".into());
        }
        return Ok(Requested::Plan);
    };
    if name.eq_ignore_ascii_case("none") {
        return Ok(Requested::Nothing);
    }
    let fault = Fault::parse(name).ok_or_else(|| {
        format!(
            "unknown x-mock-fault {name:?}: expected status:<code>[:<retry-after>], \
             reset-before-headers, reset-mid-stream, json-then-reset, error-event[:<n>], \
             malformed-sse, wrong-content-type, stall-before-headers, stall-mid-stream, \
             trickle:<ms>, oversized or none"
        )
    })?;
    let Some(times) = fail_times else {
        return Ok(Requested::Fault(fault));
    };
    let times: u64 = times
        .parse()
        .map_err(|_| format!("x-mock-fail-times: not a number: {times:?}"))?;
    let key = header("x-mock-key")?
        .ok_or("x-mock-fail-times: needs an x-mock-key header naming the request")?;
    if shared.next_attempt(key) < times {
        Ok(Requested::Fault(fault))
    } else {
        Ok(Requested::Nothing)
    }
}

/// Copies `x-mock-retry-after`, `x-mock-retry-after-ms` and `x-mock-should-retry` from the
/// request into a fault response as `retry-after`, `retry-after-ms` and `x-should-retry`.
fn copy_retry_headers(request: &HeaderMap, response: &mut HeaderMap) {
    for (from, to) in [
        ("x-mock-retry-after", "retry-after"),
        ("x-mock-retry-after-ms", "retry-after-ms"),
        ("x-mock-should-retry", "x-should-retry"),
    ] {
        if let Some(value) = request.get(from) {
            response.insert(to, value.clone());
        }
    }
}
