//! Turning a [`Reply`] into a response: JSON, SSE streams and the faulty variants.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_lite::future;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

use crate::body::{self, Body, End};
use crate::fault;
use crate::model::{self, MessagesRequest};
use crate::tools::{self, ToolCall};
use crate::{Chunking, Reply, Shared};

/// What rendering a reply needs to know about the request.
pub(super) struct Context<'a> {
    pub(super) shared: &'a Shared,
    pub(super) request_id: String,
    /// The validated Messages request, when there is one.
    pub(super) request: Option<MessagesRequest>,
    /// Headers the server adds (rate limits); a reply's own headers replace them.
    pub(super) server_headers: HeaderMap,
    /// The default model's tool calls, rendered after the text of a [`Reply::Text`] (alone
    /// when that text is empty).
    pub(super) tool_calls: Vec<ToolCall>,
    /// A `[[slow:MS]]` directive: the text of a streamed [`Reply::Text`] goes one character
    /// per delta, each delta this long after the previous event.
    pub(super) slow: Option<Duration>,
}

/// Turns a reply into a response. The one place that knows every kind of reply.
///
/// Only [`Reply::StallBeforeHeaders`] awaits anything (forever); every other reply is rendered
/// at once, and its body (if streamed) produces its chunks as hyper polls it. The error of
/// [`Reply::ResetBeforeHeaders`] makes hyper close the connection without answering.
pub(super) async fn render(reply: Reply, context: &Context<'_>) -> io::Result<Response<Body>> {
    let streamed = || Arc::clone(&context.shared.streamed);
    let (mut response, extra) = match reply {
        Reply::Error {
            status,
            error_type,
            message,
            headers,
        } => {
            let body = model::error_body(&error_type, &message, &context.request_id);
            (json_response(status, body), headers)
        }
        Reply::Json {
            status,
            body,
            headers,
        } => (
            json_response(status, Bytes::from(body.to_string())),
            headers,
        ),
        Reply::Text { text, headers } => {
            let delay = context.slow.unwrap_or(context.shared.token_delay);
            (text_response(&text, context, Pause::Tokens(delay)), headers)
        }
        Reply::Trickle {
            text,
            per_chunk_delay,
            headers,
        } => {
            let pause = Pause::BetweenEvents(per_chunk_delay);
            (text_response(&text, context, pause), headers)
        }
        Reply::Sse {
            body,
            chunking,
            headers,
        } => {
            let delay = match chunking {
                Chunking::PerEvent => context.shared.token_delay,
                _ => Duration::ZERO,
            };
            let chunks = paced(chunking.split(&body), delay);
            let body = body::chunks(chunks, End::Finish, streamed());
            (sse_response(body), headers)
        }
        Reply::SseThenStall { prefix, headers } => {
            let chunks = paced(Chunking::PerEvent.split(&prefix), Duration::ZERO);
            let body = body::chunks(chunks, End::Stall, streamed());
            (sse_response(body), headers)
        }
        Reply::SseThenReset { prefix, headers } => {
            let chunks = paced(Chunking::PerEvent.split(&prefix), Duration::ZERO);
            let body = body::chunks(chunks, End::Reset, streamed());
            (sse_response(body), headers)
        }
        Reply::OversizedEvent {
            total_bytes,
            headers,
        } => {
            let (head, tail) = (body::OVERSIZED_HEAD, body::OVERSIZED_TAIL);
            let body = body::oversized(total_bytes, head, tail, streamed());
            (sse_response(body), headers)
        }
        Reply::OversizedJson {
            total_bytes,
            headers,
        } => {
            let (head, tail) = (body::OVERSIZED_JSON_HEAD, body::OVERSIZED_JSON_TAIL);
            let body = body::oversized(total_bytes, head, tail, streamed());
            let mut response = Response::new(body);
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            (response, headers)
        }
        // Never answers: the connection's task waits here until the client closes the
        // connection (hyper notices the EOF) or the server shuts down.
        Reply::StallBeforeHeaders { .. } => return future::pending().await,
        Reply::ResetBeforeHeaders { .. } => {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "mock: reset before headers",
            ));
        }
        Reply::JsonThenReset { headers } => (half_json(context, End::Reset), headers),
        Reply::JsonThenStall { headers } => (half_json(context, End::Stall), headers),
        Reply::MalformedSse { headers } => {
            let chunks = vec![(Duration::ZERO, Bytes::from_static(MALFORMED_SSE))];
            let body = body::chunks(chunks, End::Finish, streamed());
            (sse_response(body), headers)
        }
        Reply::ErrorEventAfter {
            text_deltas,
            error_type,
            headers,
        } => (
            error_event_response(text_deltas, &error_type, context),
            headers,
        ),
        Reply::WrongContentType { headers } => {
            let mut response = Response::new(body::full(Bytes::from_static(HTML_PAGE)));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            (response, headers)
        }
        Reply::Raw {
            status,
            content_type,
            body,
            headers,
        } => {
            let mut response = Response::new(body::full(body));
            *response.status_mut() = status;
            if let Ok(value) = HeaderValue::try_from(content_type) {
                response.headers_mut().insert(CONTENT_TYPE, value);
            }
            (response, headers)
        }
    };
    let headers = response.headers_mut();
    for (name, value) in &context.server_headers {
        headers.insert(name.clone(), value.clone());
    }
    for name in extra.keys() {
        headers.remove(name);
    }
    for (name, value) in &extra {
        headers.append(name.clone(), value.clone());
    }
    if let Ok(value) = HeaderValue::try_from(context.request_id.as_str()) {
        headers.insert("request-id", value);
    }
    Ok(response)
}

/// The body of [`Reply::MalformedSse`].
const MALFORMED_SSE: &[u8] = b"event: message_start\ndata: {not json\n\n";

/// The body of [`Reply::WrongContentType`].
const HTML_PAGE: &[u8] = b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\
<body><h1>Bad Gateway</h1><p>The proxy received an invalid response from an upstream server.\
</p></body></html>\n";

/// The model, input tokens, stream flag and default answer of the request being answered.
fn request_facts<'a>(context: &'a Context<'_>) -> (&'a str, u64, bool, String) {
    match &context.request {
        Some(r) => (r.model.as_str(), r.input_tokens, r.stream, model::answer(r)),
        None => ("claude-kit-mock", 1, false, String::new()),
    }
}

/// A `200` JSON message whose `content-length` announces the whole message, of which only the
/// first half is sent before `end` (a reset or a stall).
fn half_json(context: &Context<'_>, end: End) -> Response<Body> {
    let (model, input_tokens, _, text) = request_facts(context);
    let id = context.shared.next_message_id();
    let message = model::message(&id, model, &text, input_tokens);
    let first_half = message.slice(..message.len() / 2);
    let body = body::chunks(
        vec![(Duration::ZERO, first_half)],
        end,
        Arc::clone(&context.shared.streamed),
    );
    let mut response = json_response(StatusCode::OK, Bytes::new());
    *response.body_mut() = body;
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(message.len()));
    response
}

/// [`Reply::ErrorEventAfter`]: a stream that ends with an `error` event, or the error as JSON.
fn error_event_response(deltas: usize, error_type: &str, context: &Context<'_>) -> Response<Body> {
    let (model, input_tokens, stream, text) = request_facts(context);
    let message = fault::default_message(error_type);
    if !stream {
        let status = StatusCode::from_u16(fault::status_for_error_type(error_type))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = model::error_body(error_type, message, &context.request_id);
        return json_response(status, body);
    }
    let id = context.shared.next_message_id();
    let error = (error_type, message, context.request_id.as_str());
    let events = model::error_stream_events(&id, model, &text, input_tokens, deltas, error);
    let delay = context.shared.token_delay;
    sse_response(body::chunks(
        paced(events, delay),
        End::Finish,
        Arc::clone(&context.shared.streamed),
    ))
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(body::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// When a streamed text message pauses.
#[derive(Debug, Clone, Copy)]
enum Pause {
    /// Before each text token (`content_block_delta`).
    Tokens(Duration),
    /// Before every event but the first.
    BetweenEvents(Duration),
}

/// Pairs each chunk with the pause before it: `delay` before every chunk but the first.
fn paced(chunks: Vec<Bytes>, delay: Duration) -> Vec<(Duration, Bytes)> {
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| (if i == 0 { Duration::ZERO } else { delay }, chunk))
        .collect()
}

/// A `200` SSE response with this body.
fn sse_response(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}

/// A successful text message: JSON, or an SSE stream (one chunk per event) when the request
/// asked for one.
fn text_response(text: &str, context: &Context<'_>, pause: Pause) -> Response<Body> {
    let (model, input_tokens, stream) = match &context.request {
        Some(r) => (r.model.as_str(), r.input_tokens, r.stream),
        None => ("claude-kit-mock", 1, false),
    };
    let id = context.shared.next_message_id();
    let calls = &context.tool_calls;
    if !stream {
        let message = if calls.is_empty() {
            model::message(&id, model, text, input_tokens)
        } else {
            tools::message(&id, model, text, calls, input_tokens)
        };
        return json_response(StatusCode::OK, message);
    }
    let events = if calls.is_empty() && context.slow.is_some() {
        model::stream_events_of(&id, model, &model::chars(text), input_tokens)
    } else if calls.is_empty() {
        model::stream_events(&id, model, text, input_tokens)
    } else {
        tools::stream_events(&id, model, text, calls, input_tokens)
    };
    let chunks = events
        .into_iter()
        .enumerate()
        .map(|(i, (event, is_token))| {
            let pause = match pause {
                Pause::Tokens(delay) if is_token => delay,
                Pause::BetweenEvents(delay) if i > 0 => delay,
                _ => Duration::ZERO,
            };
            (pause, event)
        })
        .collect();
    sse_response(body::chunks(
        chunks,
        End::Finish,
        Arc::clone(&context.shared.streamed),
    ))
}
