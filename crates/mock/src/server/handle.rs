//! One request: recorded, then answered by an endpoint or by the Messages route.

use std::io;

use http::header::{HeaderMap, HeaderValue};
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::log;
use super::render::{Context, render};
use super::route::{check_headers, route};
use crate::body::Body;
use crate::endpoints;
use crate::{RecordedRequest, Reply, Shared};

/// Records the request, decides the reply and renders it. An error closes the connection.
pub(super) async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
) -> io::Result<Response<Body>> {
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
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path,
        headers: parts.headers.clone(),
        body: body.clone(),
    };
    log::request(&recorded, &request_id);
    shared.record(recorded);
    let mut context = Context {
        shared,
        request_id,
        request: None,
        server_headers: HeaderMap::new(),
        tool_calls: Vec::new(),
        slow: None,
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
