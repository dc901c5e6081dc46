//! The Messages API: [`Messages::create`].

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::Method;

use claude_kit_core::error::DecodeCategory;
use claude_kit_core::types::{Message, MessageRequest};
use claude_kit_core::{Error, Result};

use crate::engine::{Engine, Failed, MESSAGES_PATH, estimate_tokens};
use crate::meta::Response;
use crate::options::Settings;
use crate::stream::MessageStream;

/// The Messages API of a [`Client`](crate::Client); get one with
/// [`Client::messages`](crate::Client::messages).
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Messages<'a> {
    engine: &'a Arc<Engine>,
    settings: &'a Arc<Settings>,
}

impl<'a> Messages<'a> {
    pub(crate) fn new(engine: &'a Arc<Engine>, settings: &'a Arc<Settings>) -> Self {
        Self { engine, settings }
    }

    /// Creates a message: sends the conversation and returns the model's complete reply.
    ///
    /// Failed attempts are retried by the client's retry policy (2 retries by default: 408,
    /// 409, 429, 5xx, 529, connection errors, timeouts, a body cut off midway), all within the
    /// total deadline. The final error is [`Error::Api`] with the request id and rate-limit
    /// headers, or the connection / timeout / decode error.
    ///
    /// # Cancellation
    /// Dropping the future at any point abandons the call: its connection is closed or
    /// returned to the pool, its concurrency permit released, nothing keeps running.
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
    /// # claude_kit_smol::block_on(async {
    /// # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build()?;
    /// use claude_kit_core::types::MessageRequest;
    /// use claude_kit_mock::Reply;
    ///
    /// let request = MessageRequest::new("claude-sonnet-4-5", 256).system("Be brief.").user("Hello");
    /// let reply = client.messages().create(request.clone()).await?;
    /// assert!(reply.text().ends_with("You said: Hello"));
    /// assert!(reply.request_id().is_some()); // quote it when you contact support
    /// println!("{} in, {} out", reply.usage.input_tokens, reply.usage.output_tokens);
    ///
    /// // Errors are typed: the status, the API's error kind, the request id, whether a retry
    /// // could help (this one was retried already, by the client's policy).
    /// server.enqueue(Reply::error(400, "invalid_request_error", "max_tokens: too large"));
    /// let error = client.messages().create(request).await.unwrap_err();
    /// assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    /// assert_eq!(error.kind(), Some(&claude_kit_core::ApiErrorKind::InvalidRequest));
    /// assert!(!error.is_retryable());
    /// assert!(error.to_string().contains("max_tokens: too large"), "{error}");
    /// # Ok::<_, claude_kit_core::Error>(()) })?;
    /// # Ok::<_, claude_kit_core::Error>(())
    /// ```
    pub fn create(
        &self,
        request: MessageRequest,
    ) -> impl Future<Output = Result<Response<Message>>> + Send + '_ {
        // Serialised and boxed at once: the call's state machine is a few KiB, and calls are
        // often held in bulk (`join_all`, a `Vec` of calls); this way each costs a pointer
        // (and its JSON body) until it runs, and its state is freed when it completes.
        Box::pin(self.create_boxed(Prepared::new(request, None, self.settings)))
    }

    async fn create_boxed(&self, prepared: Prepared) -> Result<Response<Message>> {
        let (engine, settings) = (&**self.engine, &**self.settings);
        let Prepared { span, request } = prepared;
        let (body, tokens) = request?;
        let call = engine.call(settings, |attempt| {
            let body = &body;
            async move {
                let (meta, body) = engine
                    .attempt(
                        settings,
                        &Method::POST,
                        MESSAGES_PATH,
                        body,
                        tokens,
                        attempt,
                    )
                    .await?;
                let message: Message = engine.read_json(&meta, body, "message JSON").await?;
                engine.settle_tokens(
                    tokens,
                    // Server numbers: a sum that overflows is as much as can be counted.
                    message
                        .usage
                        .input_tokens
                        .saturating_add(message.usage.output_tokens),
                );
                crate::trace::message(&message, meta.request_id());
                Ok(Response::new(message, meta))
            }
        });
        crate::trace::in_span(span, call).await
    }

    /// Creates a message and streams the reply as it is generated.
    ///
    /// Returns once the first content of the reply arrived (bounded by the response-header
    /// timeout and the total deadline); failures up to that point are retried like
    /// [`create`](Self::create)'s, so a retried stream never repeats content. The body is then
    /// read as you poll the [`MessageStream`], with at most the idle timeout between two
    /// chunks.
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
    /// # claude_kit_smol::block_on(async {
    /// # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build()?;
    /// use claude_kit_core::types::MessageRequest;
    /// use futures_util::StreamExt;
    ///
    /// let request = MessageRequest::new("claude-sonnet-4-5", 1024).user("Tell me a story");
    /// let mut text = client.messages().stream(request).await?.text_stream();
    /// let mut story = String::new();
    /// while let Some(delta) = text.next().await {
    ///     story.push_str(&delta?); // print!("{}", delta?) in a terminal
    /// }
    /// let message = text.final_message().await?; // usage, stop reason, every block
    /// assert_eq!(message.text(), story);
    /// assert!(message.usage.output_tokens > 0);
    /// # Ok::<_, claude_kit_core::Error>(()) })?;
    /// # Ok::<_, claude_kit_core::Error>(())
    /// ```
    pub fn stream(
        &self,
        request: MessageRequest,
    ) -> impl Future<Output = Result<MessageStream>> + Send + '_ {
        // Boxed at once, as `create` is.
        Box::pin(self.stream_boxed(Prepared::new(request, Some(true), self.settings)))
    }

    async fn stream_boxed(&self, prepared: Prepared) -> Result<MessageStream> {
        let (engine, settings) = (&**self.engine, &**self.settings);
        let Prepared { span, request } = prepared;
        let (body, tokens) = request?;
        let call = engine.call(settings, |attempt| {
            let body = &body;
            async move {
                let (meta, body) = engine
                    .attempt(
                        settings,
                        &Method::POST,
                        MESSAGES_PATH,
                        body,
                        tokens,
                        attempt,
                    )
                    .await?;
                let content_type = meta.content_type().unwrap_or("");
                if !is_event_stream(content_type) {
                    return Err(Failed::from(
                        Error::decode_as(
                            DecodeCategory::ContentType,
                            format!("expected an event stream, got content-type {content_type:?}"),
                        )
                        .with_request_id(meta.request_id()),
                    ));
                }
                let mut stream = MessageStream::new(
                    meta,
                    body,
                    engine.max_event_size(),
                    engine.secrets().clone(),
                );
                stream.prefetch().await.map_err(Failed::from)?;
                Ok(stream)
            }
        });
        crate::trace::in_span(span, call).await
    }

    /// Counts the input tokens `request` would use, without creating a message
    /// (`/v1/messages/count_tokens`). Fields the endpoint does not take (`max_tokens`,
    /// sampling settings, `stream`, `metadata`, `stop_sequences`) are left out.
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
    /// # claude_kit_smol::block_on(async {
    /// # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build()?;
    /// use claude_kit_core::types::MessageRequest;
    ///
    /// let request = MessageRequest::new("claude-sonnet-4-5", 1024)
    ///     .system("You are a careful reader.")
    ///     .user("How many tokens is this?");
    /// let count = client.messages().count_tokens(request).await?;
    /// assert!(count.input_tokens > 0);
    /// # Ok::<_, claude_kit_core::Error>(()) })?;
    /// # Ok::<_, claude_kit_core::Error>(())
    /// ```
    pub async fn count_tokens(
        &self,
        request: MessageRequest,
    ) -> Result<Response<super::models::TokenCount>> {
        let mut body = serde_json::to_value(&request)
            .map_err(|e| Error::config(format!("request is not serialisable: {e}")))?;
        if let Some(fields) = body.as_object_mut() {
            for field in [
                "max_tokens",
                "stream",
                "temperature",
                "top_p",
                "top_k",
                "stop_sequences",
                "metadata",
            ] {
                fields.remove(field);
            }
        }
        let body = serde_json::to_vec(&body).map_err(|e| Error::config(e.to_string()))?;
        self.engine
            .call_json(
                self.settings,
                Method::POST,
                "/v1/messages/count_tokens",
                Some(Bytes::from(body)),
            )
            .await
    }

    /// The Message Batches API.
    pub fn batches(&self) -> super::batches::Batches<'a> {
        super::batches::Batches::new(self.engine, self.settings)
    }
}

/// A Messages call's request, serialised when the call is made: the call's state holds the
/// JSON body, not the `MessageRequest` (an `async fn` would hold that twice, its argument and
/// the local it is moved into).
struct Prepared {
    span: crate::trace::Span,
    /// The JSON body and the input tokens it is estimated at.
    request: Result<(Option<Bytes>, u32)>,
}

impl Prepared {
    fn new(request: MessageRequest, stream: Option<bool>, settings: &Settings) -> Self {
        let span = crate::trace::call(
            &Method::POST,
            MESSAGES_PATH,
            Some(&request.model),
            stream.is_some(),
            settings.label(),
        );
        Self {
            span,
            request: prepare(request, stream),
        }
    }
}

/// The JSON body of `request` with its `stream` flag set, and the tokens it is counted for.
fn prepare(mut request: MessageRequest, stream: Option<bool>) -> Result<(Option<Bytes>, u32)> {
    request.stream = stream;
    let body = serde_json::to_vec(&request)
        .map_err(|e| Error::config(format!("request is not serialisable: {e}")))?;
    let tokens = estimate_tokens(body.len(), request.max_tokens);
    Ok((Some(Bytes::from(body)), tokens))
}

/// Whether a `content-type` value is `text/event-stream`: the media type before any `;`
/// parameters, compared without regard to case (RFC 9110 §8.3.1) or surrounding space.
fn is_event_stream(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or("");
    media_type.trim().eq_ignore_ascii_case("text/event-stream")
}

#[cfg(test)]
mod tests {
    use claude_kit_core::types::MessageRequest;

    /// Calls are held in bulk (`join_all`, a `Vec` of them): each must cost a pointer until
    /// it runs, not its whole state machine and a copy of its request.
    #[test]
    fn a_call_not_yet_polled_is_a_pointer() {
        let client = crate::Client::builder()
            .api_key("sk-ant-example")
            .base_url("http://127.0.0.1:9")
            .runtime(claude_kit_smol::SmolRuntime::new())
            .build()
            .unwrap();
        let request = || MessageRequest::new("claude-sonnet-4-5", 64).user("Hi");
        let messages = client.messages();
        let create = messages.create(request());
        let stream = messages.stream(request());
        let pointer = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of_val(&create), pointer);
        assert_eq!(std::mem::size_of_val(&stream), pointer);
    }

    #[test]
    fn media_types_are_compared_without_case() {
        for yes in [
            "text/event-stream",
            "Text/Event-Stream; Charset=UTF-8",
            "TEXT/EVENT-STREAM",
            " text/event-stream ;charset=utf-8",
        ] {
            assert!(super::is_event_stream(yes), "{yes}");
        }
        for no in [
            "",
            "application/json",
            "text/event-streams",
            "text/plain; x=text/event-stream",
        ] {
            assert!(!super::is_event_stream(no), "{no}");
        }
    }
}
