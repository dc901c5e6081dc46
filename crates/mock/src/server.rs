//! The accept loop, per-connection hyper service, routing and response rendering.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use async_io::Timer;
use async_net::TcpListener;
use bytes::Bytes;
use claude_agent_hyper::io::HyperIo;
use futures_lite::{AsyncRead, AsyncWrite, future, stream};
use futures_rustls::TlsAcceptor;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;

use crate::model::{self, MessagesRequest};
use crate::{RecordedRequest, Reply, Shared};

/// Response body: a full buffer or a stream of SSE events.
type Body = UnsyncBoxBody<Bytes, Infallible>;

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
        shared.connection_accepted();
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        match &tls {
            None => executor.spawn(serve(stream, shared)).detach(),
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                executor
                    .spawn(async move {
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
    render(reply, &context)
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
        .unwrap_or_else(|| Reply::text(model::answer(&request)));
    context.request = Some(request);
    reply
}

/// Turns a reply into a response. The one place that knows every kind of reply.
fn render(reply: Reply, context: &Context<'_>) -> Response<Body> {
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
        Reply::Text { text, headers } => (text_response(&text, context), headers),
        Reply::Raw {
            status,
            content_type,
            body,
            headers,
        } => {
            let mut response = Response::new(Full::new(body).boxed_unsync());
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
    let mut response = Response::new(Full::new(body).boxed_unsync());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A successful text message: JSON, or an SSE stream when the request asked for one.
fn text_response(text: &str, context: &Context<'_>) -> Response<Body> {
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
    let delay = context.shared.token_delay;
    let events = model::stream_events(&id, model, text, input_tokens);
    let frames = stream::unfold(events.into_iter(), move |mut events| async move {
        let (event, is_token) = events.next()?;
        if is_token && !delay.is_zero() {
            Timer::after(delay).await;
        }
        Some((Ok(Frame::data(event)), events))
    });
    let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}
