//! `asyncio.gather` and a semaphore-bounded `gather`, keeping input order.

use std::future::Future;

use futures_util::future::FutureExt;
use futures_util::stream::{self, FuturesUnordered, StreamExt};

/// How far a batch has come: reported after each completion by the `_with_progress` helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Futures finished so far (1 in the first report, `total` in the last).
    pub done: usize,
    /// Futures in the batch.
    pub total: usize,
}

/// Runs every future concurrently in the calling task and returns their outputs in input
/// order: `asyncio.gather(*aws, return_exceptions=True)`.
///
/// Nothing short-circuits: with futures returning `Result<_, Error>`, one failure is one `Err`
/// in its slot and the others still run to the end. For fail-fast semantics use
/// [`TaskGroup`](super::TaskGroup). Dropping the returned future drops (cancels) every
/// future that has not finished.
///
/// ```
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit::rt::block_on(async {
/// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
/// let replies = claude_kit::patterns::gather([
///     client.query("Query 1"),
///     client.query("Query 2"),
///     client.query("Query 3"),
/// ])
/// .await;
/// assert_eq!(replies.len(), 3); // replies[i] answers "Query {i + 1}", Ok or Err
/// # });
/// ```
pub async fn gather<I>(futures: I) -> Vec<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future,
{
    gather_with_progress(futures, |_| {}).await
}

/// [`gather`], calling `on_progress` after each completion (in completion order, `done`
/// increasing from 1 to `total`; not at all for an empty batch).
///
/// ```
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit::rt::block_on(async {
/// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
/// use claude_kit::patterns::{Progress, gather_with_progress};
///
/// let calls = (0..10).map(|i| client.query(format!("Question {i}")));
/// let replies = gather_with_progress(calls, |p: Progress| {
///     eprintln!("{}/{} done", p.done, p.total);
/// })
/// .await;
/// # let _ = replies;
/// # });
/// ```
pub async fn gather_with_progress<I>(
    futures: I,
    mut on_progress: impl FnMut(Progress),
) -> Vec<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut running: FuturesUnordered<_> = futures
        .into_iter()
        .enumerate()
        .map(|(index, future)| future.map(move |output| (index, output)))
        .collect();
    let total = running.len();
    let mut slots = empty_slots(total);
    while let Some((index, output)) = running.next().await {
        slots[index] = Some(output);
        on_progress(Progress {
            done: total - running.len(),
            total,
        });
    }
    unwrap_slots(slots)
}

/// Calls `f` on every item with at most `limit` of the resulting futures in flight, and
/// returns their outputs in input order: the seeds' `asyncio.Semaphore(limit)` + `gather`.
///
/// `f` is called only when a slot is free, so at most `limit` futures exist at any time, and a
/// slow item does not hold back the ones after it (outputs wait in their slot, not in the
/// window). A `limit` of 0 is treated as 1. Like [`gather`], nothing short-circuits; dropping
/// the returned future cancels what is in flight and never starts the rest.
///
/// ```
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit::rt::block_on(async {
/// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
/// let prompts: Vec<String> = (0..100).map(|i| format!("Question {i}")).collect();
/// // Only 3 calls run at a time.
/// let replies = claude_kit::patterns::map_concurrent(prompts, 3, |prompt| {
///     let client = client.clone();
///     async move { client.query(prompt).await }
/// })
/// .await;
/// assert_eq!(replies.len(), 100);
/// # });
/// ```
pub async fn map_concurrent<I, F, Fut>(items: I, limit: usize, f: F) -> Vec<Fut::Output>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    map_concurrent_with_progress(items, limit, f, |_| {}).await
}

/// [`map_concurrent`], calling `on_progress` after each completion (`done` increasing from 1
/// to `total`).
///
/// ```
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit::rt::block_on(async {
/// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
/// use claude_kit::patterns::map_concurrent_with_progress;
///
/// let replies = map_concurrent_with_progress(
///     ["a", "b", "c", "d"],
///     2,
///     |prompt| client.query(prompt),
///     |progress| eprintln!("{}/{}", progress.done, progress.total),
/// )
/// .await;
/// # let _ = replies;
/// # });
/// ```
pub async fn map_concurrent_with_progress<I, F, Fut>(
    items: I,
    limit: usize,
    mut f: F,
    mut on_progress: impl FnMut(Progress),
) -> Vec<Fut::Output>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    let items: Vec<I::Item> = items.into_iter().collect();
    let total = items.len();
    let mut slots = empty_slots(total);
    let mut done = 0;
    let mut outputs = stream::iter(items.into_iter().enumerate())
        .map(|(index, item)| f(item).map(move |output| (index, output)))
        .buffer_unordered(limit.max(1));
    while let Some((index, output)) = outputs.next().await {
        slots[index] = Some(output);
        done += 1;
        on_progress(Progress { done, total });
    }
    unwrap_slots(slots)
}

pub(super) fn empty_slots<T>(len: usize) -> Vec<Option<T>> {
    std::iter::repeat_with(|| None).take(len).collect()
}

/// Every slot is filled once its future completes; all have completed here.
pub(super) fn unwrap_slots<T>(slots: Vec<Option<T>>) -> Vec<T> {
    let len = slots.len();
    let outputs: Vec<T> = slots.into_iter().flatten().collect();
    debug_assert_eq!(outputs.len(), len, "a slot was left empty");
    outputs
}
