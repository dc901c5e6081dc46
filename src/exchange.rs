//! One HTTP exchange with the API: headers, deadlines, and error statuses turned into
//! [`Error::Api`].

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};

use claude_agent_core::rt::timeout;
use claude_agent_core::transport::Body;

use crate::client::Client;
use crate::idle::with_idle_timeout;
use crate::response::request_id;
use crate::{Error, Result, TimeoutPhase};

/// The most bytes of an error body that are read to build an [`Error::Api`].
const MAX_ERROR_BODY: usize = 1 << 20;

/// A successful response whose body has not been read yet.
pub(crate) struct PendingResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: http::HeaderMap,
    /// The body, already guarded by the idle timeout.
    pub(crate) body: Body,
}

impl PendingResponse {
    pub(crate) fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
    }
}

impl Client {
    /// Sends one request and waits for a successful status; error statuses become
    /// [`Error::Api`] with the body's `error.type` and message.
    pub(crate) async fn exchange(
        &self,
        method: Method,
        path: &str,
        json_body: Option<Bytes>,
    ) -> Result<PendingResponse> {
        let inner = &self.inner;
        if self.is_closed() {
            return Err(Error::config("the client is closed"));
        }
        let uri = format!("{}{}", inner.base_url, path);
        let mut request = http::Request::builder()
            .method(method)
            .uri(&uri)
            .body(json_body.clone().unwrap_or_default())
            .map_err(|e| Error::config(format!("invalid request URI {uri:?}: {e}")))?;
        let headers = request.headers_mut();
        headers.extend(
            inner
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if json_body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }

        let runtime = &inner.runtime;
        let response = timeout(
            &**runtime,
            inner.timeouts.response_headers,
            inner.transport.send(request),
        )
        .await
        .map_err(|_| Error::Timeout {
            phase: TimeoutPhase::ResponseHeaders,
        })??;
        let (parts, body) = response.into_parts();
        let body = with_idle_timeout(body, runtime, inner.timeouts.idle);
        if !parts.status.is_success() {
            let id = request_id(&parts.headers).map(str::to_owned);
            // A broken error body still yields a typed API error, from the status alone.
            let bytes = body.collect(MAX_ERROR_BODY).await.unwrap_or_default();
            return Err(Error::api(parts.status, id, &bytes));
        }
        Ok(PendingResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Runs `call` under the client's total deadline.
    pub(crate) async fn with_total_deadline<T>(
        &self,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        timeout(&*self.inner.runtime, self.inner.timeouts.total, call)
            .await
            .map_err(|_| Error::Timeout {
                phase: TimeoutPhase::Total,
            })?
    }
}
