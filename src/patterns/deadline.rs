//! A deadline over a whole batch: keep what finished, cancel the rest.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use futures_util::future::{FutureExt, poll_fn};
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::gather::Progress;
use crate::rt::SharedRuntime;
use claude_kit_rt::saturating_deadline;

/// What a [`deadline_batch`] finished before its deadline, and what it cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchResult<T> {
    /// `(input index, output)` of every future that finished in time, sorted by index.
    pub finished: Vec<(usize, T)>,
    /// Input indices of the futures dropped at the deadline, ascending.
    pub cancelled: Vec<usize>,
}

impl<T> BatchResult<T> {
    /// Whether every future finished before the deadline.
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
    /// # claude_kit::rt::block_on(async {
    /// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
    /// use std::time::Duration;
    /// use claude_kit::patterns::deadline_batch;
    ///
    /// let calls = [client.query("a"), client.query("b")];
    /// let batch = deadline_batch(client.runtime(), Duration::from_secs(5), calls).await;
    /// if !batch.is_complete() {
    ///     eprintln!("{} calls missed the deadline", batch.cancelled.len());
    /// }
    /// # });
    /// ```
    pub fn is_complete(&self) -> bool {
        self.cancelled.is_empty()
    }

    /// One slot per input future, in input order: `Some(output)` if it finished, `None` if it
    /// was cancelled.
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
    /// # claude_kit::rt::block_on(async {
    /// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
    /// use std::time::Duration;
    /// use claude_kit::patterns::deadline_batch;
    ///
    /// let prompts = ["a", "b", "c"];
    /// let calls = prompts.map(|p| client.query(p));
    /// let batch = deadline_batch(client.runtime(), Duration::from_secs(5), calls).await;
    /// for (prompt, reply) in prompts.iter().zip(batch.into_slots()) {
    ///     match reply {
    ///         Some(Ok(reply)) => println!("{prompt}: {}", reply.text()),
    ///         Some(Err(error)) => println!("{prompt}: failed: {error}"),
    ///         None => println!("{prompt}: cancelled at the deadline"),
    ///     }
    /// }
    /// # });
    /// ```
    pub fn into_slots(self) -> Vec<Option<T>> {
        let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None)
            .take(self.finished.len() + self.cancelled.len())
            .collect();
        for (index, output) in self.finished {
            slots[index] = Some(output);
        }
        slots
    }
}

/// Runs every future concurrently until all finish or `duration` passes on `runtime`'s clock,
/// whichever comes first; at the deadline the unfinished ones are dropped (cancelled) before
/// this returns: `asyncio.wait(aws, timeout=t)` followed by cancelling the pending set, or an
/// `asyncio.timeout` around a batch that keeps the results that made it.
///
/// The timer comes from `runtime`: pass `client.runtime()`, or any `Arc<dyn Runtime>`. Outputs that are ready when the deadline is checked
/// are kept. Each call still has its own per-call timeouts from the client.
///
/// ```
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit::rt::block_on(async {
/// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
/// use std::time::Duration;
/// use claude_kit::patterns::deadline_batch;
///
/// let calls = (0..20).map(|i| client.query(format!("Question {i}")));
/// let batch = deadline_batch(client.runtime(), Duration::from_secs(30), calls).await;
/// for (index, reply) in &batch.finished {
///     println!("{index}: {:?}", reply.as_ref().map(|r| r.text()));
/// }
/// println!("gave up on {:?}", batch.cancelled);
/// # });
/// ```
pub async fn deadline_batch<I>(
    runtime: &SharedRuntime,
    duration: Duration,
    futures: I,
) -> BatchResult<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future,
{
    deadline_batch_with_progress(runtime, duration, futures, |_| {}).await
}

/// [`deadline_batch`], calling `on_progress` after each completion before the deadline
/// (`done` increasing from 1; it reaches `total` only if the whole batch finishes in time).
///
/// ```
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit::rt::block_on(async {
/// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
/// use std::time::Duration;
/// use claude_kit::patterns::deadline_batch_with_progress;
///
/// let calls = ["a", "b", "c"].map(|p| client.query(p));
/// let batch = deadline_batch_with_progress(
///     client.runtime(),
///     Duration::from_secs(10),
///     calls,
///     |p| eprintln!("{}/{}", p.done, p.total),
/// )
/// .await;
/// # let _ = batch;
/// # });
/// ```
pub async fn deadline_batch_with_progress<I>(
    runtime: &SharedRuntime,
    duration: Duration,
    futures: I,
    mut on_progress: impl FnMut(Progress),
) -> BatchResult<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut sleep = runtime.sleep_until(saturating_deadline(runtime.now(), duration));
    let mut running: FuturesUnordered<_> = futures
        .into_iter()
        .enumerate()
        .map(|(index, future)| future.map(move |output| (index, output)))
        .collect();
    let total = running.len();
    let mut finished = Vec::with_capacity(total);
    // Poll the batch first, then the timer: an output that is ready is never thrown away.
    let timed_out = poll_fn(|cx| {
        loop {
            match running.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => {
                    finished.push(item);
                    on_progress(Progress {
                        done: finished.len(),
                        total,
                    });
                }
                Poll::Ready(None) => return Poll::Ready(false),
                Poll::Pending => {
                    return sleep.as_mut().poll(cx).map(|()| true);
                }
            }
        }
    })
    .await;
    let mut cancelled = Vec::new();
    if timed_out {
        let mut done = vec![false; total];
        for (index, _) in &finished {
            done[*index] = true;
        }
        cancelled = (0..total).filter(|index| !done[*index]).collect();
    }
    // Cancel what is left before returning.
    drop(running);
    finished.sort_unstable_by_key(|(index, _)| *index);
    BatchResult {
        finished,
        cancelled,
    }
}
