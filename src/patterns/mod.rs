//! The seeds' asyncio patterns, in Rust, on any runtime.
//!
//! Everything here is a small wrapper over `futures`, `async-lock`, `async-channel` and
//! `event-listener`. Nothing spawns: each helper is a future that runs its work concurrently
//! *inside the task that awaits it*, so it works unchanged on tokio, smol, async-std or an
//! executor of your own, and nothing it starts can outlive it. Only
//! [`deadline_batch`] needs a timer; it takes it from a shared [`Runtime`](crate::rt::Runtime)
//! (pass `client.runtime()`).
//!
//! | asyncio | `claude_kit::patterns` |
//! |---|---|
//! | `await asyncio.gather(*aws, return_exceptions=True)` | [`gather`] (results in input order; `T` is usually `Result<_, Error>`) and [`gather_with_progress`] |
//! | `asyncio.Semaphore(n)` + `gather` | [`map_concurrent`] and [`map_concurrent_with_progress`] (at most `n` in flight, input order kept) |
//! | `async with asyncio.TaskGroup() as tg: tg.create_task(..)` | [`TaskGroup`]: [`spawn`](TaskGroup::spawn), then [`join`](TaskGroup::join) (first error cancels the rest) |
//! | `asyncio.wait(aws, timeout=t)` + cancel the pending ones | [`deadline_batch`] and [`deadline_batch_with_progress`] → [`BatchResult`] |
//! | `asyncio.Queue(maxsize)`, `put`, `get`, `task_done`, `join` | [`WorkQueue`]: [`bounded`](WorkQueue::bounded), [`push`](WorkQueue::push), [`run_workers`](WorkQueue::run_workers) / [`pop`](WorkQueue::pop), [`join`](WorkQueue::join) |
//! | a `ClientPool` over an `asyncio.Queue` of clients | [`ClientPool`]: [`get`](ClientPool::get) → [`PooledClient`], returned on drop |
//! | `await asyncio.to_thread(f)` | not here: it needs an executor's threads; see `claude_kit::rt::spawn_blocking` |
//! | `asyncio.CancelledError` | dropping the future: every helper here is cancellation safe |
//!
//! # Concurrency, not parallelism
//!
//! A future from this module polls all its children from one task. While one child waits for
//! the network, the others run, which is exactly what API calls need: they are I/O bound, and a
//! single [`Client`](crate::Client) already multiplexes many concurrent requests over its
//! connection pool. CPU-heavy work inside the children would run one at a time; spawn it on
//! your runtime (or run it on a blocking thread) instead.
//!
//! # Cancellation
//!
//! Rust cancels a future by dropping it, and dropping runs every destructor of the work in
//! flight: HTTP requests are aborted, pooled clients return to their pool, queue items are
//! counted as done. Python's `CancelledError` at the next await is the same idea; there is no
//! way to "swallow" a drop, so the shutdown pitfalls of the seeds cannot happen.
//!
//! ```
//! use claude_kit::{Client, patterns};
//!
//! # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
//! # claude_kit::rt::block_on(async {
//! # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
//! let prompts = ["What is Rust?", "What is Python?", "What is Go?"];
//! // Three calls at once, results in prompt order, one failure does not lose the others.
//! let replies = patterns::gather(prompts.map(|p| client.query(p))).await;
//! for reply in replies {
//!     match reply {
//!         Ok(reply) => println!("{}", reply.text()),
//!         Err(error) => eprintln!("failed: {error}"),
//!     }
//! }
//! # });
//! ```

mod deadline;
mod gather;
mod group;
#[cfg(feature = "backend-api")]
mod pool;
mod queue;

pub use deadline::{BatchResult, deadline_batch, deadline_batch_with_progress};
pub use gather::{
    Progress, gather, gather_with_progress, map_concurrent, map_concurrent_with_progress,
};
pub use group::TaskGroup;
#[cfg(feature = "backend-api")]
pub use pool::{ClientPool, Pool, Pooled, PooledClient};
pub use queue::{PushError, WorkItem, WorkItemDone, WorkQueue};
