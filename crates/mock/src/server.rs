//! The accept loop, per-connection hyper service, routing and response rendering.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use async_io::Timer;
use async_net::TcpListener;
use bytes::Bytes;
use claude_agent_hyper::io::HyperIo;
use futures_lite::{AsyncRead, AsyncWrite, future};
use futures_rustls::TlsAcceptor;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;

use crate::body::{self, Body, End};
use crate::model::{self, MessagesRequest};
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
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(&shared, request).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(HyperIo::new(io), service)
        .await;
}

/// What rendering a reply needs to know about the request.
struct Context<'a> {
    shared: &'a Shared,
    request_id: String,
    /// The validated Messages request, when there is one.
    request: Option<MessagesRequest>,
}

/// Records the request, decides the reply and renders it.
async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
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
    };
    let reply = route(&mut context, &parts, &body);
    render(reply, &context).await
}

/// Picks the reply: routing, API key, validation, then a scripted reply or the default model.
fn route(context: &mut Context<'_>, parts: &http::request::Parts, body: &[u8]) -> Reply {
    if parts.method != Method::POST || parts.uri.path() != "/v1/messages" {
        return Reply::error(404, "not_found_error", "Not found");
    }
    if let Some(key) = &context.shared.api_key {
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
        if header("x-api-key") != Some(key.as_str()) && bearer != Some(key.as_str()) {
            return Reply::error(401, "authentication_error", "invalid x-api-key");
        }
    }
    if !parts.headers.contains_key("anthropic-version") {
        return Reply::error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    let request = match model::validate(body) {
        Ok(request) => request,
        Err(message) => return Reply::error(400, "invalid_request_error", &message),
    };
    let reply = context
        .shared
        .next_scripted()
        .unwrap_or_else(|| match &context.shared.replay {
            Some((transcript, chunking)) => Reply::sse(transcript.clone(), *chunking),
            None => Reply::text(model::answer(&request)),
        });
    context.request = Some(request);
    reply
}

/// Turns a reply into a response. The one place that knows every kind of reply.
///
/// Only [`Reply::StallBeforeHeaders`] awaits anything (forever); every other reply is rendered
/// at once, and its body (if streamed) produces its chunks as hyper polls it.
async fn render(reply: Reply, context: &Context<'_>) -> Response<Body> {
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
            let body = body::oversized(total_bytes, streamed());
            (sse_response(body), headers)
        }
        // Never answers: the connection's task waits here until the client closes the
        // connection (hyper notices the EOF) or the server shuts down.
        Reply::StallBeforeHeaders { .. } => return future::pending().await,
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
    for name in extra.keys() {
        headers.remove(name);
    }
    for (name, value) in &extra {
        headers.append(name.clone(), value.clone());
    }
    if let Ok(value) = HeaderValue::try_from(context.request_id.as_str()) {
        headers.insert("request-id", value);
    }
    response
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
        None => ("claude-agent-mock", 1, false),
    };
    let id = context.shared.next_message_id();
    if !stream {
        return json_response(
            StatusCode::OK,
            model::message(&id, model, text, input_tokens),
        );
    }
    let events = model::stream_events(&id, model, text, input_tokens);
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
