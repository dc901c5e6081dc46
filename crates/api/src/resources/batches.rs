//! The Message Batches API: many requests processed asynchronously by the API, for workloads
//! too large for one machine's concurrency (half the price, results within 24 hours).
//!
//! ```
//! # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
//! # claude_kit_smol::block_on(async {
//! # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
//! use std::time::Duration;
//! use claude_kit_api::batches::BatchRequest;
//! use claude_kit_core::types::MessageRequest;
//! use futures_util::StreamExt;
//!
//! let batches = client.messages().batches();
//! let requests = (0..100)
//!     .map(|i| BatchRequest::new(format!("doc-{i}"), MessageRequest::new("claude-sonnet-4-5", 256).user(format!("Summarise document {i}"))))
//!     .collect();
//! let batch = batches.create(requests).await?;
//! let poll_every = Duration::from_secs(30);
//! # let poll_every = Duration::from_millis(5); // the mock finishes at once
//! let batch = batches.wait(&batch.id, poll_every, |b| println!("{:?}", b.request_counts)).await?;
//! assert_eq!(batch.request_counts.succeeded, 100);
//! let mut results = batches.results(&batch.id).await?; // decoded line by line
//! while let Some(result) = results.next().await {
//!     let result = result?;
//!     println!("{}: {:?}", result.custom_id, result.result.message().map(|m| m.text()));
//! }
//! # Ok::<_, claude_kit_core::Error>(()) }).unwrap();
//! ```

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use claude_kit_core::jsonl::LineDecoder;
use claude_kit_core::redact::Secrets;
use claude_kit_core::types::{Extra, Message, MessageRequest};
use claude_kit_core::{Error, Result};

use super::pagination::Paginated;
use super::path_segment;
use crate::engine::{Engine, ResponseBody};
use crate::meta::Response;
use crate::options::Settings;

/// The longest JSONL line of a results file accepted (one message); a longer one is
/// [`Error::Decode`] instead of unbounded buffering.
const MAX_RESULT_LINE: usize = 64 << 20;

/// One request of a batch: your id for it, and the message parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// Your id for the request; results carry it (they may come in any order).
    pub custom_id: String,
    /// The request, as for [`Messages::create`](crate::Messages::create).
    pub params: MessageRequest,
}

impl BatchRequest {
    /// A request with your `custom_id`.
    pub fn new(custom_id: impl Into<String>, params: MessageRequest) -> Self {
        Self {
            custom_id: custom_id.into(),
            params,
        }
    }
}

/// A message batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageBatch {
    /// `msgbatch_…`.
    pub id: String,
    /// Where processing stands.
    pub processing_status: ProcessingStatus,
    /// How many requests are in each state.
    #[serde(default)]
    pub request_counts: RequestCounts,
    /// When processing ended, if it has.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// Where to download the results once processing ended.
    #[serde(default)]
    pub results_url: Option<String>,
    /// Other fields (`created_at`, `expires_at`, `cancel_initiated_at`, `archived_at`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessageBatch {
    /// Whether processing ended (every request succeeded, errored, was canceled or expired).
    pub fn is_ended(&self) -> bool {
        self.processing_status == ProcessingStatus::Ended
    }
}

/// Where a batch's processing stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProcessingStatus {
    /// Requests are being processed.
    InProgress,
    /// A cancel was asked for; unprocessed requests are being canceled.
    Canceling,
    /// Done: results can be downloaded.
    Ended,
    /// A status this version does not know.
    #[serde(other)]
    Other,
}

/// How many requests of a batch are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestCounts {
    /// Still being processed.
    #[serde(default)]
    pub processing: u64,
    /// Completed with a message.
    #[serde(default)]
    pub succeeded: u64,
    /// Failed with an error.
    #[serde(default)]
    pub errored: u64,
    /// Canceled before processing.
    #[serde(default)]
    pub canceled: u64,
    /// Not processed within 24 hours.
    #[serde(default)]
    pub expired: u64,
}

impl RequestCounts {
    /// Requests no longer processing.
    pub fn done(&self) -> u64 {
        self.succeeded + self.errored + self.canceled + self.expired
    }

    /// All requests.
    pub fn total(&self) -> u64 {
        self.processing + self.done()
    }
}

/// The reply to deleting a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedBatch {
    /// The deleted batch's id.
    pub id: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The result of one request of a batch (one line of the results file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    /// The `custom_id` of the request.
    pub custom_id: String,
    /// What became of it.
    pub result: BatchOutcome,
}

/// What became of one request of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BatchOutcome {
    /// The model's reply.
    Succeeded {
        /// The message (boxed: it is far larger than the other outcomes).
        message: Box<Message>,
    },
    /// The request failed (invalid parameters, an API error).
    Errored {
        /// The error document, as the API sent it.
        error: Value,
    },
    /// Canceled before it was processed.
    Canceled,
    /// Not processed in time.
    Expired,
}

impl BatchOutcome {
    /// The message, for a request that succeeded.
    pub fn message(&self) -> Option<&Message> {
        match self {
            BatchOutcome::Succeeded { message } => Some(&**message),
            _ => None,
        }
    }
}

/// The Message Batches API of a [`Client`](crate::Client); get one with
/// [`client.messages().batches()`](crate::Messages::batches).
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Batches<'a> {
    engine: &'a Arc<Engine>,
    settings: &'a Arc<Settings>,
}

const BATCHES: &str = "/v1/messages/batches";

impl<'a> Batches<'a> {
    pub(crate) fn new(engine: &'a Arc<Engine>, settings: &'a Arc<Settings>) -> Self {
        Self { engine, settings }
    }

    /// Submits a batch.
    pub async fn create(&self, requests: Vec<BatchRequest>) -> Result<Response<MessageBatch>> {
        #[derive(Serialize)]
        struct Create {
            requests: Vec<BatchRequest>,
        }
        let body = serde_json::to_vec(&Create { requests })
            .map_err(|e| Error::config(format!("batch is not serialisable: {e}")))?;
        self.engine
            .call_json(
                self.settings,
                Method::POST,
                BATCHES,
                Some(Bytes::from(body)),
            )
            .await
    }

    /// A batch's current state.
    pub async fn get(&self, id: &str) -> Result<Response<MessageBatch>> {
        self.engine
            .call_json(
                self.settings,
                Method::GET,
                &format!("{BATCHES}/{}", path_segment(id)),
                None,
            )
            .await
    }

    /// Every batch of the workspace, newest first, page by page as the stream is read.
    pub fn list(&self) -> Paginated<MessageBatch> {
        Paginated::new(self.engine, self.settings, BATCHES, None)
    }

    /// Asks the API to cancel the requests not yet processed.
    pub async fn cancel(&self, id: &str) -> Result<Response<MessageBatch>> {
        self.engine
            .call_json(
                self.settings,
                Method::POST,
                &format!("{BATCHES}/{}/cancel", path_segment(id)),
                None,
            )
            .await
    }

    /// Deletes an ended batch.
    pub async fn delete(&self, id: &str) -> Result<Response<DeletedBatch>> {
        self.engine
            .call_json(
                self.settings,
                Method::DELETE,
                &format!("{BATCHES}/{}", path_segment(id)),
                None,
            )
            .await
    }

    /// Polls every `interval` (on the client's runtime) until the batch has ended, calling
    /// `on_progress` with each state seen; bounded by nothing but the batch itself (24 h at
    /// most) — wrap it in `rt::timeout` for a deadline.
    pub async fn wait(
        &self,
        id: &str,
        interval: Duration,
        mut on_progress: impl FnMut(&MessageBatch),
    ) -> Result<MessageBatch> {
        loop {
            let batch = self.get(id).await?.into_inner();
            on_progress(&batch);
            if batch.is_ended() {
                return Ok(batch);
            }
            claude_kit_rt::sleep(&**self.engine.runtime(), interval).await;
        }
    }

    /// The results of an ended batch, decoded line by line as the results file arrives:
    /// a results file of any size costs one line of memory at a time.
    pub async fn results(&self, id: &str) -> Result<BatchResults> {
        let path = format!("{BATCHES}/{}/results", path_segment(id));
        let (meta, body) = self
            .engine
            .call_streaming(self.settings, Method::GET, &path)
            .await?;
        Ok(BatchResults {
            body,
            lines: LineDecoder::new(MAX_RESULT_LINE),
            request_id: meta.request_id().map(str::to_owned),
            secrets: self.engine.secrets().clone(),
            done: false,
            failed: false,
        })
    }
}

/// The results of a batch, one [`BatchResult`] per line of the JSONL results file.
#[must_use = "a stream does nothing unless polled"]
pub struct BatchResults {
    body: ResponseBody,
    lines: LineDecoder,
    request_id: Option<String>,
    secrets: Secrets,
    /// The body has ended: only buffered lines remain.
    done: bool,
    /// An error was reported: the stream is over.
    failed: bool,
}

impl BatchResults {
    /// The `request-id` of the download.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    fn decode(&self, line: &[u8]) -> Result<BatchResult> {
        serde_json::from_slice(line)
            .map_err(|e| self.finish_error(Error::decode_json("invalid batch result line", &e)))
    }

    fn error(&self, message: String) -> Error {
        self.finish_error(Error::decode(message))
    }

    fn finish_error(&self, error: Error) -> Error {
        error
            .with_request_id(self.request_id.as_deref())
            .redact(&self.secrets)
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<BatchResult>>> {
        self.failed = true;
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for BatchResults {
    type Item = Result<BatchResult>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.failed {
                return Poll::Ready(None);
            }
            let line = if this.done {
                this.lines.finish()
            } else {
                this.lines.next_line()
            };
            match line {
                Some(Ok(line)) if line.iter().all(u8::is_ascii_whitespace) => continue,
                Some(Ok(line)) => return Poll::Ready(Some(this.decode(&line))),
                Some(Err(too_long)) => {
                    let error = this.error(format!("batch results: {too_long}"));
                    return this.fail(error);
                }
                None if this.done => return Poll::Ready(None),
                None => {}
            }
            match std::task::ready!(this.body.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => {
                    if let Err(too_long) = this.lines.push(&chunk) {
                        let error = this.error(format!("batch results: {too_long}"));
                        return this.fail(error);
                    }
                }
                Some(Err(error)) => {
                    let error = error.redact(&this.secrets);
                    return this.fail(error);
                }
                None => this.done = true,
            }
        }
    }
}

impl std::fmt::Debug for BatchResults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchResults")
            .field("request_id", &self.request_id)
            .field("done", &self.done)
            .finish()
    }
}
