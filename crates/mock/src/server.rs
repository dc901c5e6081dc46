//! The accept loop, per-connection hyper service, routing and response rendering.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use async_io::Timer;
use async_net::TcpListener;
use bytes::Bytes;
use futures_lite::{AsyncRead, AsyncWrite, future};
use futures_rustls::TlsAcceptor;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use smol_hyper::rt::FuturesIo;

use crate::body::{self, Body, End};
use crate::endpoints;
use crate::fault::{self, Fault};
use crate::model::{self, MessagesRequest};
use crate::tools::{self, ToolCall};
use crate::{Chunking, RecordedRequest, Reply, Shared};

/// Upper bound on a TLS handshake, so stuck clients do not pin a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Accepts connections forever, spawning one task per connection on `executor`.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    executor: Arc<Executor<'static>>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                Timer::after(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Moved into the connection's task: dropped when the task ends or is dropped.
        let open = shared.connection_accepted();
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        match &tls {
            None => executor
                .spawn(async move {
                    let _open = open;
                    serve(stream, shared).await;
                })
                .detach(),
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                executor
                    .spawn(async move {
                        let _open = open;
                        let handshake =
                            future::or(async { acceptor.accept(stream).await.ok() }, async {
                                Timer::after(HANDSHAKE_TIMEOUT).await;
                                None
                            });
                        if let Some(stream) = handshake.await {
                            serve(stream, shared).await;
                        }
                    })
                    .detach();
            }
        }
    }
}

/// Serves HTTP/1.1 (with keep-alive) on one connection until the client closes it.
async fn serve<S>(io: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // A service error makes hyper close the connection without answering.
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, request).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(FuturesIo::new(io), service)
        .await;
}

/// What rendering a reply needs to know about the request.
struct Context<'a> {
    shared: &'a Shared,
    request_id: String,
    /// The validated Messages request, when there is one.
    request: Option<MessagesRequest>,
    /// Headers the server adds (rate limits); a reply's own headers replace them.
    server_headers: HeaderMap,
    /// The default model's tool calls, rendered after the text of a [`Reply::Text`].
    tool_calls: Vec<ToolCall>,
}

/// Records the request, decides the reply and renders it. An error closes the connection.
async fn handle(shared: &Shared, request: Request<Incoming>) -> io::Result<Response<Body>> {
    let request_id = shared.next_request_id();
    let (parts, body) = request.into_parts();
    // A body that fails to arrive means the connection is gone; the answer goes nowhere.
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    shared.record(RecordedRequest {
        method: parts.method.to_string(),
        path,
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let mut context = Context {
        shared,
        request_id,
        request: None,
        server_headers: HeaderMap::new(),
        tool_calls: Vec::new(),
    };
    if let Some(endpoint) = endpoints::Endpoint::parse(&parts.method, parts.uri.path()) {
        let answer = match check_headers(shared, &parts) {
            Some(reply) => Answer::Reply(reply),
            None => endpoints::answer(shared, endpoint, &parts, &body),
        };
        return match answer {
            Answer::Reply(reply) => render(reply, &context).await,
            Answer::Response(mut response) => {
                if let Ok(value) = HeaderValue::try_from(context.request_id.as_str()) {
                    response.headers_mut().insert("request-id", value);
                }
                Ok(response)
            }
        };
    }
    let reply = route(&mut context, &parts, &body);
    render(reply, &context).await
}

/// What an endpoint answers: a reply to render, or a response built by the endpoint.
pub(crate) enum Answer {
    /// Rendered like any reply.
    Reply(Reply),
    /// Sent as is (plus `request-id`).
    Response(Response<Body>),
}

/// The API key and `anthropic-version` checks every endpoint makes; `Some` is the error.
fn check_headers(shared: &Shared, parts: &http::request::Parts) -> Option<Reply> {
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
/// fault plan), the rate limit, a scripted reply or the default model.
fn route(context: &mut Context<'_>, parts: &http::request::Parts, body: &[u8]) -> Reply {
    if parts.method != Method::POST || parts.uri.path() != "/v1/messages" {
        return Reply::error(404, "not_found_error", "Not found");
    }
    if let Some(reply) = check_headers(context.shared, parts) {
        return reply;
    }
    let mut request = match model::validate(body) {
        Ok(request) => request,
        Err(message) => return Reply::error(400, "invalid_request_error", &message),
    };
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

/// Turns a reply into a response. The one place that knows every kind of reply.
///
/// Only [`Reply::StallBeforeHeaders`] awaits anything (forever); every other reply is rendered
/// at once, and its body (if streamed) produces its chunks as hyper polls it. The error of
/// [`Reply::ResetBeforeHeaders`] makes hyper close the connection without answering.
async fn render(reply: Reply, context: &Context<'_>) -> io::Result<Response<Body>> {
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
            let delay = context.shared.token_delay;
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
    let events = if calls.is_empty() {
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
