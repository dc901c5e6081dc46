//! Message Batches kept by the server. Processing is simulated from elapsed time: request `i`
//! (from 0) of a batch completes `(i + 1) × delay` after the batch was created, and every
//! answer computes the batch's state afresh, so no background work is needed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::lock;
use crate::ratelimit::rfc3339;

/// How long after its creation a batch expires (as the real API: 24 hours).
const EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// The server's batches, in creation order.
pub(crate) struct Batches {
    list: Mutex<Vec<Batch>>,
    next: AtomicU64,
    /// Time to process one request of a batch.
    pub(crate) delay: Duration,
    /// The server's base URL, for `results_url`.
    pub(crate) base_url: String,
}

/// One request of a batch, answered when the batch was created (the answer is revealed when
/// its time comes).
pub(crate) struct Item {
    pub(crate) custom_id: String,
    pub(crate) outcome: Outcome,
}

/// The result of one request, unless it is canceled first.
pub(crate) enum Outcome {
    /// The message, as JSON.
    Succeeded(Bytes),
    /// The `invalid_request_error` message.
    Errored(String),
}

struct Batch {
    id: String,
    created: Instant,
    created_at: SystemTime,
    items: Vec<Item>,
    /// When a cancel was asked for.
    canceled: Option<Instant>,
}

/// What a batch looks like at one instant.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// As created: every request processing.
    Created,
    /// Just after a cancel was asked for: `canceling`.
    Canceling,
    /// At this instant.
    At(Instant),
}

/// Why a batch operation failed: the HTTP status, error type and message.
pub(crate) type Failure = (u16, &'static str, String);

fn not_found(id: &str) -> Failure {
    (
        404,
        "not_found_error",
        format!("No message batch with id {id:?}"),
    )
}

impl Batches {
    pub(crate) fn new(delay: Duration, base_url: String) -> Self {
        Self {
            list: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
            delay,
            base_url,
        }
    }

    /// Creates a batch of these requests; the answer is the batch object.
    pub(crate) fn create(&self, items: Vec<Item>) -> Value {
        let id = format!(
            "msgbatch_mock_{}",
            self.next.fetch_add(1, Ordering::SeqCst) + 1
        );
        let batch = Batch {
            id,
            created: Instant::now(),
            created_at: SystemTime::now(),
            items,
            canceled: None,
        };
        let object = self.object(&batch, Phase::Created);
        lock(&self.list).push(batch);
        object
    }

    /// The batch object of batch `id`.
    pub(crate) fn get(&self, id: &str) -> Result<Value, Failure> {
        let list = lock(&self.list);
        let batch = list
            .iter()
            .find(|b| b.id == id)
            .ok_or_else(|| not_found(id))?;
        Ok(self.object(batch, Phase::At(Instant::now())))
    }

    /// The batch objects, newest first.
    pub(crate) fn all(&self) -> Vec<(String, Value)> {
        let now = Instant::now();
        let list = lock(&self.list);
        list.iter()
            .rev()
            .map(|b| (b.id.clone(), self.object(b, Phase::At(now))))
            .collect()
    }

    /// Cancels batch `id`: `canceling` now; requests not completed by now end `canceled`.
    /// An ended batch is returned unchanged.
    pub(crate) fn cancel(&self, id: &str) -> Result<Value, Failure> {
        let now = Instant::now();
        let mut list = lock(&self.list);
        let batch = list
            .iter_mut()
            .find(|b| b.id == id)
            .ok_or_else(|| not_found(id))?;
        if self.ended_at(batch, now).is_some() {
            return Ok(self.object(batch, Phase::At(now)));
        }
        batch.canceled = Some(now);
        Ok(self.object(batch, Phase::Canceling))
    }

    /// Deletes batch `id`, which must have ended.
    pub(crate) fn delete(&self, id: &str) -> Result<Value, Failure> {
        let now = Instant::now();
        let mut list = lock(&self.list);
        let index = list
            .iter()
            .position(|b| b.id == id)
            .ok_or_else(|| not_found(id))?;
        if self.ended_at(&list[index], now).is_none() {
            return Err((
                400,
                "invalid_request_error",
                format!("Batch {id} cannot be deleted while it is in progress: cancel it first"),
            ));
        }
        list.remove(index);
        Ok(json!({"id": id, "type": "message_batch_deleted"}))
    }

    /// The JSONL lines of the results of batch `id` (each ending with `\n`), in input order.
    pub(crate) fn results(&self, id: &str) -> Result<Vec<Bytes>, Failure> {
        let now = Instant::now();
        let list = lock(&self.list);
        let batch = list
            .iter()
            .find(|b| b.id == id)
            .ok_or_else(|| not_found(id))?;
        if self.ended_at(batch, now).is_none() {
            return Err((
                400,
                "invalid_request_error",
                format!("Batch {id} has not ended yet: its results are not available"),
            ));
        }
        let end = batch.canceled.unwrap_or(now);
        Ok(batch
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let custom_id = serde_json::to_string(&item.custom_id).unwrap_or_default();
                let result = if self.done_at(batch, i) <= end {
                    match &item.outcome {
                        Outcome::Succeeded(message) => format!(
                            r#"{{"type":"succeeded","message":{}}}"#,
                            String::from_utf8_lossy(message)
                        ),
                        Outcome::Errored(message) => json!({
                            "type": "errored",
                            "error": {
                                "type": "error",
                                "error": {"type": "invalid_request_error", "message": message},
                            },
                        })
                        .to_string(),
                    }
                } else {
                    r#"{"type":"canceled"}"#.to_owned()
                };
                Bytes::from(format!(
                    "{{\"custom_id\":{custom_id},\"result\":{result}}}\n"
                ))
            })
            .collect())
    }

    /// When request `i` of `batch` completes.
    fn done_at(&self, batch: &Batch, i: usize) -> Instant {
        let steps = u32::try_from(i + 1).unwrap_or(u32::MAX);
        batch.created + self.delay.saturating_mul(steps)
    }

    /// When `batch` ended, if it had by `now`: at the cancel, or when its last request
    /// completed.
    fn ended_at(&self, batch: &Batch, now: Instant) -> Option<Instant> {
        if let Some(canceled) = batch.canceled {
            return Some(canceled);
        }
        let last = self.done_at(batch, batch.items.len().saturating_sub(1));
        (last <= now).then_some(last)
    }

    /// The batch object in the API's shape.
    fn object(&self, batch: &Batch, phase: Phase) -> Value {
        let wall = |at: Instant| timestamp(batch.created_at + at.duration_since(batch.created));
        let n = batch.items.len() as u64;
        let (mut succeeded, mut errored) = (0, 0);
        let cutoff = match phase {
            Phase::Created => None,
            Phase::Canceling => batch.canceled,
            Phase::At(now) => Some(batch.canceled.map_or(now, |c| c.min(now))),
        };
        if let Some(cutoff) = cutoff {
            for (i, item) in batch.items.iter().enumerate() {
                if self.done_at(batch, i) <= cutoff {
                    match item.outcome {
                        Outcome::Succeeded(_) => succeeded += 1,
                        Outcome::Errored(_) => errored += 1,
                    }
                }
            }
        }
        let left = n - succeeded - errored;
        let ended = match phase {
            Phase::At(now) => self.ended_at(batch, now),
            _ => None,
        };
        let (status, processing, canceled) = match (phase, ended) {
            (Phase::Canceling, _) => ("canceling", left, 0),
            (_, Some(_)) => ("ended", 0, left),
            _ => ("in_progress", left, 0),
        };
        let results_url =
            ended.map(|_| format!("{}/v1/messages/batches/{}/results", self.base_url, batch.id));
        json!({
            "id": batch.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": {
                "processing": processing,
                "succeeded": succeeded,
                "errored": errored,
                "canceled": canceled,
                "expired": 0,
            },
            "ended_at": ended.map(wall),
            "created_at": timestamp(batch.created_at),
            "expires_at": timestamp(batch.created_at + EXPIRY),
            "cancel_initiated_at": batch.canceled.map(wall),
            "archived_at": null,
            "results_url": results_url,
        })
    }
}

/// `time` in RFC 3339, UTC, with milliseconds: `2025-01-31T12:34:56.789Z`.
fn timestamp(time: SystemTime) -> String {
    let whole = rfc3339(time);
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    format!("{}.{millis:03}Z", whole.trim_end_matches('Z'))
}
