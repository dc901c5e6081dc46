//! The [`Engine`]: the one owner of what a client and its clones share — runtime, transport,
//! request headers, secrets, admission (limits) and counters — and the only code that sends.
//!
//! A call: `Engine::call` starts its [`CallDeadlines`] and runs the retry loop under the total
//! bound; each `Engine::attempt` passes admission, sends the request under the header bound,
//! turns an error status into a failure, and hands the body out as a [`ResponseBody`] (idle
//! and drain bounds, permit, in-flight count). Resources build requests and decode responses;
//! they call these methods and never see the fields.

mod admission;
mod body;
mod retry;
mod stats;
mod transport;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use serde::de::DeserializeOwned;

use claude_kit_core::policy::deadline::{CallDeadlines, Expired};
use claude_kit_core::policy::retry::RETRY_COUNT_HEADER;
use claude_kit_core::redact::Secrets;
use claude_kit_core::transport::{ConnectTimeout, Transport};
use claude_kit_core::{Error, Result, TimeoutPhase};
use claude_kit_rt::SharedRuntime;

use crate::config::Config;
use crate::meta::{Response, ResponseMeta};
use crate::options::Settings;
use crate::stored_headers::{StoredHeaders, hide_secrets};

use admission::Admission;
pub(crate) use admission::estimate_tokens;
pub(crate) use body::ResponseBody;
pub(crate) use retry::Failed;
pub use stats::ClientStats;
use stats::Counters;
use transport::built_in_transport;

/// The path of the Messages API.
pub(crate) const MESSAGES_PATH: &str = "/v1/messages";

/// The retry-count header, named once instead of parsed on every request.
static RETRY_COUNT: http::HeaderName = http::HeaderName::from_static(RETRY_COUNT_HEADER);

/// `application/json`, the content type of every JSON body.
fn application_json() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

/// The most bytes of an error body that are read to build an [`Error::Api`].
const MAX_ERROR_BODY: usize = 1 << 20;

/// What a client and every client derived from it share: one pool, one runtime, one set of
/// limits and counters. See the [module docs](self).
pub(crate) struct Engine {
    base_url: String,
    /// `base_url` + the Messages API path, parsed once.
    messages_uri: http::Uri,
    runtime: SharedRuntime,
    transport: Arc<dyn Transport>,
    /// The connect timeout the built-in transport was built with: a request whose connect
    /// bound is the same carries no [`ConnectTimeout`] (no extension map per request).
    /// `None` for a transport of the caller's, which gets the bound on every request.
    transport_connect_timeout: Option<Duration>,
    /// Authentication, version and default headers.
    headers: HeaderMap,
    /// `headers` with `content-type: application/json`: what a call with a JSON body starts
    /// from (one clone per request, no insert).
    json_headers: HeaderMap,
    model: String,
    max_response_bytes: usize,
    max_event_size: usize,
    admission: Admission,
    counters: Arc<Counters>,
    closed: AtomicBool,
    /// The key and token, redacted from every error built from server text.
    secrets: Secrets,
}

/// One attempt of a call: how many retries came before it, and the call's deadlines.
pub(crate) struct Attempt {
    retries_done: u32,
    deadlines: CallDeadlines,
}

impl Engine {
    /// The engine `config` describes, and the settings of the client built on it.
    pub(crate) fn new(config: Config) -> Result<(Self, Settings)> {
        if config.api_key.is_none() && config.auth_token.is_none() {
            return Err(Error::config(
                "no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) or call ClientBuilder::api_key",
            ));
        }
        let base_url = config.checked_base_url()?;
        let (headers, secrets) = config.request_headers()?;
        let counters = Arc::new(Counters::default());
        let runtime: SharedRuntime =
            Arc::new(counters.counting(crate::runtime::choose(config.runtime.clone())?));
        let (transport, transport_connect_timeout) = match &config.transport {
            Some(transport) => (transport.clone(), None),
            None => (
                built_in_transport(&config, runtime.clone())?,
                Some(config.timeouts.connect),
            ),
        };
        let engine = Self {
            messages_uri: format!("{base_url}{MESSAGES_PATH}")
                .parse()
                .map_err(|e| Error::config(format!("invalid base URL {base_url:?}: {e}")))?,
            base_url,
            runtime,
            transport,
            transport_connect_timeout,
            json_headers: {
                let mut json = headers.clone();
                json.insert(header::CONTENT_TYPE, application_json());
                json
            },
            headers,
            model: config.model,
            max_response_bytes: config.max_response_bytes,
            max_event_size: config.max_event_size,
            admission: Admission::new(
                config.max_concurrent_requests,
                config.requests_per_minute,
                config.tokens_per_minute,
            ),
            counters,
            closed: AtomicBool::new(false),
            secrets,
        };
        Ok((engine, Settings::new(config.timeouts, config.retry)))
    }

    /// The runtime timers, connections and background tasks run on.
    pub(crate) fn runtime(&self) -> &SharedRuntime {
        &self.runtime
    }

    /// The base URL requests go to.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The model of `Client::query`.
    pub(crate) fn model(&self) -> &str {
        &self.model
    }

    /// The key and token, to redact from errors built from server text.
    pub(crate) fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The largest server-sent event a stream accepts.
    pub(crate) fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// What the engine holds right now.
    pub(crate) fn stats(&self) -> ClientStats {
        self.counters.snapshot(self.transport.pool_stats())
    }

    /// Whether [`close_within`](Self::close_within) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Refuses new calls, closes idle connections and waits up to `bound` for the calls in
    /// flight; whether they all finished in time.
    pub(crate) async fn close_within(&self, bound: Duration) -> bool {
        self.closed.store(true, Ordering::SeqCst);
        self.transport.close().await;
        claude_kit_rt::timeout(&*self.runtime, bound, self.counters.drained())
            .await
            .is_ok()
    }

    /// Gives back the tokens a call reserved (`estimated`) but did not use (`used`).
    pub(crate) fn settle_tokens(&self, estimated: u32, used: u64) {
        self.admission
            .settle_tokens(estimated, used, self.runtime.now());
    }

    /// Runs a call: `attempt` until it succeeds or the retry policy gives up, all under the
    /// call's total bound (one timer for the whole call).
    pub(crate) async fn call<T, F, Fut>(&self, settings: &Settings, mut attempt: F) -> Result<T>
    where
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = std::result::Result<T, Failed>>,
    {
        let deadlines = CallDeadlines::new(*settings.timeouts(), self.runtime.now());
        let total_at = deadlines.total_at();
        // Built in place, not bound to a local first: a future held in a local and then moved
        // into `timeout_at` is stored twice in this state machine.
        let outcome = match claude_kit_rt::timeout_at(
            &*self.runtime,
            total_at,
            retry::with_retries(
                &*self.runtime,
                settings.retry(),
                settings.label(),
                &self.secrets,
                |retries_done| {
                    attempt(Attempt {
                        retries_done,
                        deadlines: deadlines.clone(),
                    })
                },
            ),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::Timeout {
                phase: TimeoutPhase::Total,
                after: settings.timeouts().total,
            }),
        };
        if let Err(error) = &outcome {
            crate::trace::failed(error);
        }
        outcome
    }

    /// One attempt: waits for admission (concurrency and rate limits), sends the request and
    /// waits for the response headers. An error status is read and returned as a failure; a
    /// success is its metadata and its body, still to be read.
    pub(crate) async fn attempt(
        &self,
        settings: &Settings,
        method: &Method,
        path: &str,
        json_body: &Option<Bytes>,
        tokens: u32,
        attempt: Attempt,
    ) -> std::result::Result<(ResponseMeta, ResponseBody), Failed> {
        if self.is_closed() {
            return Err(Error::closed("the client is closed").into());
        }
        if self.runtime.is_shut_down() {
            return Err(retry::runtime_gone(&*self.runtime).into());
        }
        let permit = self
            .admission
            .admit(&*self.runtime, &self.counters, tokens)
            .await;
        let in_flight = self.counters.in_flight();
        let mut deadlines = attempt.deadlines;
        let now = self.runtime.now();
        let request = self.request(
            settings,
            method,
            path,
            json_body,
            attempt.retries_done,
            deadlines.connect_timeout(now),
        )?;
        deadlines.request_sent(now);
        let response = self.send(request, &deadlines).await?;
        let (mut parts, body) = response.into_parts();
        deadlines.headers_received(self.runtime.now());
        crate::trace::answered(attempt.retries_done + 1, parts.status, &parts.headers);
        self.admission.observe(&parts.headers, self.runtime.now());
        // The total bound is the call's own timer (see `call`): a body's watches idle and drain.
        let deadlines = deadlines.streaming();
        let body = ResponseBody::new(body, deadlines, self.runtime.clone(), permit, in_flight);
        if !parts.status.is_success() {
            // The retry callback sees these headers.
            hide_secrets(&mut parts.headers, &self.secrets);
            let id = crate::meta::request_id(&parts.headers).map(str::to_owned);
            // A broken error body still yields a typed API error, from the status alone.
            let bytes = body.collect(MAX_ERROR_BODY).await.unwrap_or_default();
            let error = Error::api_redacted(parts.status, id, &bytes, &self.secrets)
                .with_rate_limit(&parts.headers);
            return Err(Failed::status(error, parts.headers));
        }
        // Copied out of hyper's map (and its read buffer), secrets marked: see `StoredHeaders`.
        let headers = StoredHeaders::new(&parts.headers, &self.secrets);
        Ok((ResponseMeta::new(parts.status, headers), body))
    }

    /// Sends `request` and waits for its response headers, until the header bound; a header
    /// bound no shorter than what is left of the total bound costs no timer (the call's fires
    /// first).
    async fn send(
        &self,
        request: http::Request<Bytes>,
        deadlines: &CallDeadlines,
    ) -> Result<http::Response<claude_kit_core::transport::Body>> {
        let mut send = self.transport.send(request);
        let wake = match deadlines.next_wake() {
            Some(wake) if wake < deadlines.total_at() => wake,
            _ => return send.await,
        };
        loop {
            if let Ok(response) = claude_kit_rt::timeout_at(&*self.runtime, wake, &mut send).await {
                return response;
            }
            if let Some(Expired::Timeout { phase, after }) = deadlines.expired(self.runtime.now()) {
                return Err(Error::Timeout { phase, after });
            }
            // Early: on a runtime that has shut down every timer completes at once.
            if self.runtime.is_shut_down() {
                return Err(Error::closed(
                    "the runtime shut down while waiting for response headers",
                ));
            }
        }
    }

    fn request(
        &self,
        settings: &Settings,
        method: &Method,
        path: &str,
        json_body: &Option<Bytes>,
        retries_done: u32,
        connect_timeout: Duration,
    ) -> Result<http::Request<Bytes>> {
        let uri = match path {
            // The Messages endpoint is parsed once, when the client is built.
            MESSAGES_PATH => self.messages_uri.clone(),
            _ => {
                let uri = format!("{}{}", self.base_url, path);
                uri.parse()
                    .map_err(|e| Error::config(format!("invalid request URI {uri:?}: {e}")))?
            }
        };
        let mut request = http::Request::new(json_body.clone().unwrap_or_default());
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri;
        // One clone of the client's headers (key, version, user agent, defaults, accept, and
        // the content type of a JSON body).
        let headers = request.headers_mut();
        *headers = match json_body {
            Some(_) => self.json_headers.clone(),
            None => self.headers.clone(),
        };
        for (name, value) in settings.headers() {
            headers.insert(name.clone(), value.clone());
        }
        if json_body.is_some() && !settings.headers().is_empty() {
            // A JSON body is JSON whatever the call's headers say.
            headers.insert(header::CONTENT_TYPE, application_json());
        }
        let retry_count = match retries_done {
            0 => HeaderValue::from_static("0"),
            n => HeaderValue::from(n),
        };
        headers.insert(&RETRY_COUNT, retry_count);
        if self.transport_connect_timeout != Some(connect_timeout) {
            request
                .extensions_mut()
                .insert(ConnectTimeout(connect_timeout));
        }
        Ok(request)
    }

    /// One JSON call (`GET`, `POST` or `DELETE`) with retries under the total deadline,
    /// decoded as `T`.
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        settings: &Settings,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Response<T>> {
        let span = crate::trace::call(&method, path, None, false, settings.label());
        let call = self.call(settings, |attempt| {
            let (method, body) = (&method, &body);
            async move {
                let (meta, body) = self
                    .attempt(settings, method, path, body, 0, attempt)
                    .await?;
                let value = self
                    .read_json(&meta, body, &format!("JSON from {path}"))
                    .await?;
                Ok(Response::new(value, meta))
            }
        });
        Box::pin(crate::trace::in_span(span, call)).await
    }

    /// Reads a JSON body of at most the configured size and decodes it; `what` names it in
    /// the error.
    pub(crate) async fn read_json<T: DeserializeOwned>(
        &self,
        meta: &ResponseMeta,
        body: ResponseBody,
        what: &str,
    ) -> std::result::Result<T, Failed> {
        let id = meta.request_id().map(str::to_owned);
        let bytes = body
            .collect(self.max_response_bytes)
            .await
            .map_err(|e| Failed::from(e.with_request_id(id.as_deref())))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Failed::from(
                Error::decode_json(format_args!("invalid {what}"), &e)
                    .with_request_id(id.as_deref()),
            )
        })
    }

    /// Opens a response whose body the caller reads as it arrives (retries until the headers).
    pub(crate) async fn call_streaming(
        &self,
        settings: &Settings,
        method: Method,
        path: &str,
    ) -> Result<(ResponseMeta, ResponseBody)> {
        let call = self.call(settings, |attempt| {
            let method = &method;
            async move {
                self.attempt(settings, method, path, &None, 0, attempt)
                    .await
            }
        });
        Box::pin(call).await
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers hold the API key: they are never printed, not even as `Sensitive`.
        f.debug_struct("Engine")
            .field("base_url", &self.base_url)
            .field("runtime", &self.runtime.name())
            .field("transport", &self.transport)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}
