//! Sending a call: one attempt (headers, deadlines, error statuses), and the retry loop
//! around attempts, driven by the pure [`RetryPolicy`](claude_kit_core::policy::retry::RetryPolicy).

use std::future::Future;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use claude_kit_core::policy::retry::{Decision, Failure, RETRY_COUNT_HEADER, RetryEvent};
use claude_kit_core::redact::Secrets;
use claude_kit_core::transport::Body;
use claude_kit_core::transport::ConnectTimeout;
use claude_kit_rt::timeout;

use crate::client::Client;
use crate::idle::with_idle_timeout;
use crate::response::request_id;
use crate::stats::OwnedCounterGuard;
use crate::{Error, Result, TimeoutPhase};

/// The path of the Messages API.
pub(crate) const MESSAGES_PATH: &str = "/v1/messages";

/// The retry-count header, named once instead of parsed on every request.
static RETRY_COUNT: http::HeaderName = http::HeaderName::from_static(RETRY_COUNT_HEADER);

/// The most bytes of an error body that are read to build an [`Error::Api`].
const MAX_ERROR_BODY: usize = 1 << 20;

/// A successful response whose body has not been read yet.
pub(crate) struct PendingResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The body, guarded by the idle timeout, holding the call's permit and in-flight count.
    pub(crate) body: Body,
}

impl PendingResponse {
    pub(crate) fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
    }
}

/// A failed attempt, with what the retry policy needs to judge it.
pub(crate) struct Failed {
    pub(crate) error: Error,
    /// The headers of an error response.
    pub(crate) headers: Option<HeaderMap>,
    /// Whether part of the response already reached the caller (never retried then).
    pub(crate) content_yielded: bool,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            headers: None,
            content_yielded: false,
        }
    }
}

impl Failed {
    fn failure(&self) -> Option<Failure<'_>> {
        Failure::classify(&self.error, self.headers.as_ref(), self.content_yielded)
    }
}

impl Client {
    /// Runs `attempt` until it succeeds or the retry policy gives up, sleeping between
    /// attempts on the client's runtime. `attempt` gets the number of retries done so far.
    pub(crate) async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = std::result::Result<T, Failed>>,
    {
        let policy = &self.settings.retry;
        let runtime = &self.shared.runtime;
        let mut retries_done = 0;
        loop {
            let mut failed = match attempt(retries_done).await {
                Ok(value) => return Ok(value),
                Err(failed) => failed,
            };
            if runtime.is_shut_down() {
                // The runtime died under the attempt (its timers end every wait at once):
                // that, not the timeout it caused, is what went wrong.
                return Err(runtime_gone(&**runtime));
            }
            // Before anyone sees it (the retry callback, the caller): a server may have
            // echoed the key into the error's text.
            failed.error = failed.error.redact(&self.shared.secrets);
            let Some(failure) = failed.failure() else {
                return Err(failed.error);
            };
            let now = runtime.now();
            match policy.decide(
                &failure,
                retries_done,
                now,
                SystemTime::now(),
                fastrand::f64(),
            ) {
                Decision::GiveUp => return Err(failed.error),
                Decision::RetryAt(at) => {
                    policy.notify(&RetryEvent::new(
                        &failure,
                        retries_done,
                        at.saturating_duration_since(now),
                    ));
                    runtime.sleep_until(at).await;
                    retries_done += 1;
                }
            }
        }
    }

    /// One attempt: waits for admission (concurrency and rate limits), sends the request and
    /// waits for the response headers. An error status is read and returned as a failure.
    pub(crate) async fn attempt(
        &self,
        method: &Method,
        path: &str,
        json_body: &Option<Bytes>,
        retries_done: u32,
        tokens: u32,
    ) -> std::result::Result<PendingResponse, Failed> {
        let shared = &self.shared;
        if self.is_closed() {
            return Err(Error::closed("the client is closed").into());
        }
        if shared.runtime.is_shut_down() {
            return Err(runtime_gone(&*shared.runtime).into());
        }
        let admission = shared
            .throttle
            .admit(&*shared.runtime, &shared.counters, tokens)
            .await;
        let in_flight = OwnedCounterGuard::in_flight(shared);
        let request = self.build_request(method, path, json_body, retries_done)?;

        let settings = &self.settings;
        let runtime = &shared.runtime;
        let send = shared.transport.send(request);
        // Every attempt runs under the total deadline; a header deadline at least as long
        // could never fire first, so it costs no timer of its own.
        let response = if settings.timeouts.response_headers >= settings.timeouts.total {
            send.await?
        } else {
            timeout(&**runtime, settings.timeouts.response_headers, send)
                .await
                .map_err(|_| Error::Timeout {
                    phase: TimeoutPhase::ResponseHeaders,
                    after: settings.timeouts.response_headers,
                })??
        };
        let (mut parts, body) = response.into_parts();
        hide_echoed_secrets(&mut parts.headers, &shared.secrets);
        shared.throttle.observe(&parts.headers, runtime.now());
        let body = with_idle_timeout(body, runtime, settings.timeouts.idle);
        if !parts.status.is_success() {
            let id = request_id(&parts.headers).map(str::to_owned);
            // A broken error body still yields a typed API error, from the status alone.
            let bytes = body.collect(MAX_ERROR_BODY).await.unwrap_or_default();
            let error = Error::api_redacted(parts.status, id, &bytes, &shared.secrets)
                .with_rate_limit(&parts.headers);
            return Err(Failed {
                error,
                headers: Some(parts.headers),
                content_yielded: false,
            });
        }
        let body = hold_until_done(body, (admission, in_flight));
        Ok(PendingResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    fn build_request(
        &self,
        method: &Method,
        path: &str,
        json_body: &Option<Bytes>,
        retries_done: u32,
    ) -> Result<http::Request<Bytes>> {
        let shared = &self.shared;
        let uri = match path {
            // The Messages endpoint is parsed once, when the client is built.
            MESSAGES_PATH => shared.messages_uri.clone(),
            _ => {
                let uri = format!("{}{}", shared.base_url, path);
                uri.parse()
                    .map_err(|e| Error::config(format!("invalid request URI {uri:?}: {e}")))?
            }
        };
        let mut request = http::Request::new(json_body.clone().unwrap_or_default());
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri;
        // One clone of the client's headers (key, version, user agent, defaults, accept).
        let headers = request.headers_mut();
        *headers = shared.headers.clone();
        for (name, value) in &self.settings.headers {
            headers.insert(name.clone(), value.clone());
        }
        if json_body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        headers.insert(&RETRY_COUNT, HeaderValue::from(retries_done));
        request
            .extensions_mut()
            .insert(ConnectTimeout(self.settings.timeouts.connect));
        Ok(request)
    }

    /// Runs `call` under the client's total deadline.
    pub(crate) async fn with_total_deadline<T>(
        &self,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        timeout(&*self.shared.runtime, self.settings.timeouts.total, call)
            .await
            .map_err(|_| Error::Timeout {
                phase: TimeoutPhase::Total,
                after: self.settings.timeouts.total,
            })?
    }
}

/// The error of a call whose runtime has shut down.
fn runtime_gone(runtime: &dyn claude_kit_rt::Runtime) -> Error {
    Error::closed(format!(
        "the {} runtime this client was built on has shut down",
        runtime.name()
    ))
}

/// Marks every response header value that contains the key or token as sensitive, so that the
/// `Debug` of the headers (in a retry event, a response, a log line) never shows it.
fn hide_echoed_secrets(headers: &mut HeaderMap, secrets: &Secrets) {
    for value in headers.values_mut() {
        if secrets.appears_in(value.as_bytes()) {
            value.set_sensitive(true);
        }
    }
}

/// `body`, holding `guard` until the body has ended or is dropped.
fn hold_until_done<G: Send + Unpin + 'static>(body: Body, guard: G) -> Body {
    Body::from_stream(Holding {
        body,
        guard: Some(guard),
    })
}

struct Holding<G> {
    body: Body,
    guard: Option<G>,
}

impl<G: Unpin> futures_core::Stream for Holding<G> {
    type Item = Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use futures_util::StreamExt;
        let item = std::task::ready!(self.body.poll_next_unpin(cx));
        if item.is_none() {
            // Finished: release the permit and the in-flight count now, not when the
            // caller gets around to dropping the stream.
            self.guard = None;
        }
        std::task::Poll::Ready(item)
    }
}

impl Client {
    /// One JSON call (`GET`, `POST` or `DELETE`) with retries under the total deadline,
    /// decoded as `T`.
    pub(crate) async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<crate::Response<T>> {
        let call = self.with_retries(|retries_done| {
            let (method, body) = (&method, &body);
            async move {
                let pending = self.attempt(method, path, body, retries_done, 0).await?;
                let id = pending.request_id().map(str::to_owned);
                let bytes = pending
                    .body
                    .collect(self.shared.max_response_bytes)
                    .await
                    .map_err(|e| Failed::from(e.with_request_id(id.as_deref())))?;
                let value = serde_json::from_slice(&bytes).map_err(|e| {
                    Failed::from(Error::Decode {
                        message: format!("invalid JSON from {path}: {e}"),
                        request_id: id,
                    })
                })?;
                Ok(crate::Response::new(value, pending.status, pending.headers))
            }
        });
        Box::pin(self.with_total_deadline(call)).await
    }

    /// Opens a response whose body the caller reads as it arrives (retries until the headers).
    pub(crate) async fn call_streaming(
        &self,
        method: Method,
        path: &str,
    ) -> Result<PendingResponse> {
        let call = self.with_retries(|retries_done| {
            let method = &method;
            async move { self.attempt(method, path, &None, retries_done, 0).await }
        });
        Box::pin(self.with_total_deadline(call)).await
    }
}
