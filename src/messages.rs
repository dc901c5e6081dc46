//! The Messages API: [`Messages::create`].

use bytes::Bytes;
use http::Method;

use crate::client::Client;
use crate::response::Response;
use crate::streaming::MessageStream;
use crate::{Error, Message, MessageRequest, Result};

/// The Messages API of a [`Client`]; get one with [`Client::messages`].
#[derive(Debug, Clone, Copy)]
pub struct Messages<'a> {
    client: &'a Client,
}

impl<'a> Messages<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Creates a message: sends the conversation and returns the model's complete reply.
    ///
    /// Bounded by the client's total deadline; an error status becomes [`Error::Api`] with
    /// the request id.
    ///
    /// # Cancellation
    /// Dropping the future at any point abandons the call; its connection is closed or
    /// returned to the pool, never leaked.
    pub async fn create(&self, mut request: MessageRequest) -> Result<Response<Message>> {
        request.stream = None;
        let body = serde_json::to_vec(&request)
            .map_err(|e| Error::config(format!("request is not serialisable: {e}")))?;
        let client = self.client;
        client
            .with_total_deadline(async {
                let pending = client
                    .exchange(Method::POST, "/v1/messages", Some(Bytes::from(body)))
                    .await?;
                let id = pending.request_id().map(str::to_owned);
                let bytes = pending
                    .body
                    .collect(client.inner.max_response_bytes)
                    .await
                    .map_err(|e| e.with_request_id(id.as_deref()))?;
                let message: Message =
                    serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
                        message: format!("invalid message JSON: {e}"),
                        request_id: id.clone(),
                    })?;
                Ok(Response::new(message, pending.status, pending.headers))
            })
            .await
    }

    /// Creates a message and streams the reply as it is generated.
    ///
    /// Returns once the response headers arrived (bounded by the response-header timeout and
    /// the total deadline); the body is then read as you poll the [`MessageStream`], with
    /// at most the idle timeout between two chunks. An error status is [`Error::Api`] here,
    /// before any event.
    pub async fn stream(&self, mut request: MessageRequest) -> Result<MessageStream> {
        request.stream = Some(true);
        let body = serde_json::to_vec(&request)
            .map_err(|e| Error::config(format!("request is not serialisable: {e}")))?;
        let client = self.client;
        let pending = client
            .with_total_deadline(client.exchange(
                Method::POST,
                "/v1/messages",
                Some(Bytes::from(body)),
            ))
            .await?;
        let content_type = pending
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("text/event-stream") {
            return Err(Error::Decode {
                message: format!("expected an event stream, got content-type {content_type:?}"),
                request_id: pending.request_id().map(str::to_owned),
            });
        }
        Ok(MessageStream::new(
            pending.status,
            pending.headers,
            pending.body,
            client.inner.max_event_size,
            client.inner.runtime.clone(),
        ))
    }
}
